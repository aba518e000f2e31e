// RUN: attn-opt %s --split-input-file --attn-gpu-kernels | FileCheck %s

// attn.block_mask becomes one kernel, a CTA per (query block m, head h,
// batch b): grid (NQ, H, B) from kv_num_blocks' dimensions 2, 1, 0. For
// each key block n its 256 threads evaluate keep(i, j) on pair slots
// p = tid, tid + 256, ... of the 128 x 64 block, (r, c) = (p / 64, p % 64),
// and fold some |= inside & keep, every &= !inside | keep; one bar.red.or
// and one bar.red.and make them CTA-wide. full = (rows > 0 and cols > 0)
// and every; partial = some and not full. Thread 0 appends n to the lists.
// Only key blocks that the kv schedule of the query block (kvTileRange, the
// attention kernels' own) leaves partial are evaluated: outside its live
// range [ktLo, ktHi) a block keeps no pair (some = false), inside its full
// range every pair (every = true), decided by one uniform scf.if around the
// pair loop and the barriers. A region that is only a document mask over
// captured ids (here docs[b, i] == docs[b, j], after the causal atom)
// narrows the schedule by the attention kernels' id scan (DocumentKeys.h),
// run by each warp over its lanes (shuffles, no barrier), where the ids
// cover q_len and kv_len (dimension 1 >= the length, b < dimension 0).

// CHECK-LABEL: gpu.func @docs_block_mask
// CHECK-SAME: %[[QL:.*]]: index {attn.name = "q_len"}, %[[KL:.*]]: index {attn.name = "kv_len"}, %[[DOCS:.*]]: memref<2x?xi32> {attn.name = "capture2"}
// CHECK-SAME: memref<2x1x?xi32> {attn.name = "kv_num_blocks"}, %[[IDX:.*]]: memref<2x1x?x?xi32> {attn.name = "kv_indices"}
// CHECK-SAME: attn.block = array<i64: 256, 1, 1>, attn.grid = array<i64: 3, 2, 1, 3, 1, 1, 3, 0, 1>
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[M:.*]] = gpu.block_id x
// CHECK: %[[B:.*]] = gpu.block_id z
// A CTA outside any list's (B, H, NQ) writes nothing (lists of
// inconsistent sizes), and the key blocks are those both index lists hold.
// CHECK: arith.cmpi ult, %[[B]]
// CHECK-COUNT-11: arith.cmpi ult
// CHECK-NEXT: %[[INSIDE:.*]] = arith.andi
// CHECK-NEXT: scf.if %[[INSIDE]]
// CHECK: %[[NKI:.*]] = memref.dim %[[IDX]], %c3
// CHECK: %[[NK:.*]] = arith.minsi %[[NKI]]
// CHECK: memref.dim %[[DOCS]], %c1
// CHECK: memref.dim %[[DOCS]], %c0
// CHECK: scf.if %{{.*}} -> (index, index, index, index)
// CHECK: memref.load %[[DOCS]][%[[B]], %{{.*}}]
// CHECK: gpu.shuffle xor
// CHECK: } else {
// CHECK: arith.floordivsi
// CHECK: arith.ceildivsi
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %[[NK]]
// CHECK: scf.if %{{.*}} -> (i1, i1)
// CHECK: scf.for %[[P:.*]] = %[[TID]] to %c8192 step %c256
// CHECK: arith.divui %[[P]], %c64
// CHECK: arith.remui %[[P]], %c64
// The causal atom, then the captured ids of (b, i) and (b, j), bounds-checked.
// CHECK: arith.cmpi sle
// CHECK: memref.load %[[DOCS]][%[[B]], %{{.*}}]
// CHECK: memref.load %[[DOCS]][%[[B]], %{{.*}}]
// CHECK: nvvm.barrier #nvvm.reduction<or>
// CHECK: nvvm.barrier #nvvm.reduction<and>
// CHECK: } else {
// CHECK: scf.yield %false, %true
// CHECK: memref.store %{{.*}}, %[[IDX]][%[[B]], %{{.*}}, %[[M]], %{{.*}}]
// After the walk, thread 0: the counts, then each list's other blocks.
// CHECK: memref.store
// CHECK: scf.for
// CHECK-NOT: attn.block_mask
func.func @docs(%ql: index, %kl: index, %docs: tensor<2x?xi32>) -> (tensor<2x1x?xi32>, tensor<2x1x?x?xi32>, tensor<2x1x?xi32>, tensor<2x1x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %ql, %kl {masks = [#attn.causal<top_left>, #attn.mask_mod], blocks = #attn.block_sparse<q_block = 128, kv_block = 64>} : tensor<2x1x?xi32>, tensor<2x1x?x?xi32>, tensor<2x1x?xi32>, tensor<2x1x?x?xi32>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kj: index):
    %dq = tensor.extract %docs[%b, %qi] : tensor<2x?xi32>
    %dk = tensor.extract %docs[%b, %kj] : tensor<2x?xi32>
    %same = arith.cmpi eq, %dq, %dk : i32
    attn.yield %same : i1
  }
  return %n, %i, %fn, %fi : tensor<2x1x?xi32>, tensor<2x1x?x?xi32>, tensor<2x1x?xi32>, tensor<2x1x?x?xi32>
}

// -----

// A closed-form mask alone (a window, per head: H = 8) needs no capture.
// Rows [r0, r1) keep keys [r0 - 256, r1) and every row keys
// [r1 - 1 - 256, r0 + 1): live blocks [floor((r0 - 256) / 128),
// ceil(r1 / 128)), full ones from ceil((r1 - 1 - 256) / 128) to
// floor((r0 + 1) / 128) (or ceil(Sk / 128) where r0 + 1 >= Sk).
// CHECK-LABEL: gpu.func @window_block_mask
// CHECK-SAME: %{{.*}}: index {attn.name = "q_len"}, %{{.*}}: index {attn.name = "kv_len"}, %{{.*}}: memref<1x8x?xi32> {attn.name = "kv_num_blocks"}
// CHECK: %[[R0:.*]] = arith.muli %block_id_x, %c128
// CHECK: %[[LO:.*]] = arith.subi %{{.*}}, %c256
// CHECK: arith.floordivsi %{{.*}}, %c128
// CHECK: arith.ceildivsi %{{.*}}, %c128
// CHECK: scf.if %{{.*}} -> (i1, i1)
// CHECK: nvvm.barrier #nvvm.reduction<or>
func.func @window(%ql: index, %kl: index) -> (tensor<1x8x?xi32>, tensor<1x8x?x?xi32>, tensor<1x8x?xi32>, tensor<1x8x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %ql, %kl {masks = [#attn.sliding_window<left = 256, right = 0, align = top_left>], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x8x?xi32>, tensor<1x8x?x?xi32>, tensor<1x8x?xi32>, tensor<1x8x?x?xi32>
  return %n, %i, %fn, %fi : tensor<1x8x?xi32>, tensor<1x8x?x?xi32>, tensor<1x8x?xi32>, tensor<1x8x?x?xi32>
}

// -----

// The tracer compares ids as index (index_cast of each read): equality is
// kept, so the id scan still bounds the blocks (its warp shuffles). Reads
// widened differently (extsi against extui) may compare unequal where the
// ids are equal: no scan, the pairs decide.
// CHECK-LABEL: gpu.func @traced_block_mask
// CHECK: scf.if %{{.*}} -> (index, index, index, index)
// CHECK: gpu.shuffle xor
// CHECK-LABEL: gpu.func @mixed_block_mask
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return
func.func @traced(%ql: index, %kl: index, %docs: tensor<?xi32>) -> (tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %ql, %kl {masks = [#attn.causal<top_left>, #attn.mask_mod], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kj: index):
    %dq = tensor.extract %docs[%qi] : tensor<?xi32>
    %wq = arith.index_cast %dq : i32 to index
    %dk = tensor.extract %docs[%kj] : tensor<?xi32>
    %wk = arith.index_cast %dk : i32 to index
    %same = arith.cmpi eq, %wq, %wk : index
    attn.yield %same : i1
  }
  return %n, %i, %fn, %fi : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
}
func.func @mixed(%ql: index, %kl: index, %docs: tensor<?xi32>) -> (tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %ql, %kl {masks = [#attn.mask_mod], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kj: index):
    %dq = tensor.extract %docs[%qi] : tensor<?xi32>
    %wq = arith.extsi %dq : i32 to i64
    %dk = tensor.extract %docs[%kj] : tensor<?xi32>
    %wk = arith.extui %dk : i32 to i64
    %same = arith.cmpi eq, %wq, %wk : i64
    attn.yield %same : i1
  }
  return %n, %i, %fn, %fi : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
}
