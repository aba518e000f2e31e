// attn-compile on sm_90a: the producer warpgroup copies q, k and v with TMA,
// so the artifact lists a tensor map per tensor after the parameters (the
// runtime encodes each from the tensor at launch): the box is one copy, in
// the tensor's dimension order ([B, S, H, D]): block_q (q) or block_k (k,
// v) rows of one head and batch by one swizzle panel (64 halves of the 128:
// the 128-byte swizzle; two copies per tile). With --tma=0 the producer
// copies with cp.async and there are none; sm_90 (no sm90a strategy)
// cannot take --tma=1.

// RUN: attn-compile %s -o %t.attn --chip=sm_90a --describe | FileCheck %s
// RUN: attn-compile %s -o %t.cp.attn --chip=sm_90a --tma=0 --describe | FileCheck %s --check-prefix=CPASYNC
// RUN: not attn-compile %s -o %t.bad.attn --chip=sm_90 --tma=1 2>&1 | FileCheck %s --check-prefix=SM90

// CHECK: kernel causal_kernel target sm_90a block 384x1x1
// CHECK: param q bf16 shape ?x?x8x128 strides ?x1024x128x1 align 16
// CHECK: param out bf16
// CHECK-NEXT: tensor-map q box 1x128x1x64 swizzle 128
// CHECK-NEXT: tensor-map k box 1x128x1x64 swizzle 128
// CHECK-NEXT: tensor-map v box 1x128x1x64 swizzle 128
// CPASYNC: kernel causal_kernel target sm_90a block 384x1x1
// CPASYNC-NOT: tensor-map
// CPASYNC: attn-compile: causal_kernel
// SM90: tma = 1 needs the sm90a strategy with a producer warpgroup
func.func @causal(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = attn.attention %q, %k, %v {masks = [#attn.causal<bottom_right>]} : tensor<?x?x8x128xbf16>, tensor<?x?x2x128xbf16>, tensor<?x?x2x128xbf16> -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}
