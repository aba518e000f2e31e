// RUN: attn-opt %s --attn-cp-async-l2-prefetch | FileCheck %s

// A 16-byte cp.async with the cg modifier (a K/V tile row's 16-byte chunk)
// becomes the same copy with an L2 prefetch of the whole 128-byte line:
// both addresses as 64-bit registers, and the source size (bytes read, the
// rest zero-filled) passed on where the copy has one.
// CHECK-LABEL: llvm.func @copies
// CHECK-SAME: (%[[DST:.*]]: !llvm.ptr<3>, %[[SRC:.*]]: !llvm.ptr<1>, %[[N:.*]]: i32)
// CHECK: %[[D:.*]] = llvm.ptrtoint %[[DST]] : !llvm.ptr<3> to i64
// CHECK: %[[S:.*]] = llvm.ptrtoint %[[SRC]] : !llvm.ptr<1> to i64
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "cp.async.cg.shared.global.L2::128B [$0], [$1], 16;", "l,l" %[[D]], %[[S]] : (i64, i64) -> ()
// CHECK: %[[D2:.*]] = llvm.ptrtoint %[[DST]] : !llvm.ptr<3> to i64
// CHECK: %[[S2:.*]] = llvm.ptrtoint %[[SRC]] : !llvm.ptr<1> to i64
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "cp.async.cg.shared.global.L2::128B [$0], [$1], 16, $2;", "l,l,r" %[[D2]], %[[S2]], %[[N]] : (i64, i64, i32) -> ()
// Other copies (4 bytes through L1: ca) stay as they are.
// CHECK: nvvm.cp.async.shared.global %[[DST]], %[[SRC]], 4, cache = ca
// CHECK-NOT: nvvm.cp.async.shared.global {{.*}}cache = cg
gpu.module @kernels {
  llvm.func @copies(%dst: !llvm.ptr<3>, %src: !llvm.ptr<1>, %n: i32) {
    nvvm.cp.async.shared.global %dst, %src, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
    nvvm.cp.async.shared.global %dst, %src, 16, cache = cg, %n : !llvm.ptr<3>, !llvm.ptr<1>, i32
    nvvm.cp.async.shared.global %dst, %src, 4, cache = ca : !llvm.ptr<3>, !llvm.ptr<1>
    llvm.return
  }
}
