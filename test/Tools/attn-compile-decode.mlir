// attn-compile writes a split-KV artifact: the split kernel (grid x = the
// split count), the merge kernel (launched only when the keys are split)
// and the split rule; --strategy=sm80 forces one kernel.

// RUN: attn-compile %s -o %t.attn --chip=sm_90 --describe | FileCheck %s
// RUN: attn-compile %s -o %t.sm80.attn --chip=sm_90 --strategy=sm80 --describe | FileCheck %s --check-prefix=SM80
// RUN: not attn-compile %s -o %t.bad.attn --chip=sm_90 --strategy=tma 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: kernel step_kernel target sm_90 block 32x1x1 shared 56576
// CHECK-NEXT: grid x = splits
// CHECK-NEXT: grid y = 2
// CHECK-NEXT: grid z = ceil(q.shape[0] / 1)
// CHECK-NEXT: kernel step_merge target sm_90 block 128x1x1 shared 2576 only-when-split
// CHECK-NEXT: grid x = ceil(q.shape[1] / 1)
// CHECK-NEXT: grid y = 8
// CHECK-NEXT: grid z = ceil(q.shape[0] / 1)
// CHECK-NEXT: split-kv: up to 128 splits of >= 2 tiles of ceil(k.shape[1] / 32); workspace splits x rows(q) x 129 f32; 4 CTAs per SM
// CHECK-NEXT: param q f16 shape ?x1x8x128
// CHECK-NEXT: param k f16 shape ?x?x2x128
// CHECK-NEXT: param v f16 shape ?x?x2x128
// CHECK-NEXT: param out f16 shape ?x1x8x128
// The workspace is the runtime's: not a parameter the caller passes.
// CHECK-NOT: param workspace
// SM80: kernel step_kernel target sm_90 block 128x1x1
// SM80-NOT: split-kv
// BAD: unknown strategy 'tma' (sm80, sm90a or decode)

func.func @step(%q: tensor<?x1x8x128xf16>, %k: tensor<?x?x2x128xf16>, %v: tensor<?x?x2x128xf16>) -> tensor<?x1x8x128xf16> {
  %o = attn.attention %q, %k, %v : tensor<?x1x8x128xf16>, tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16> -> tensor<?x1x8x128xf16>
  return %o : tensor<?x1x8x128xf16>
}
