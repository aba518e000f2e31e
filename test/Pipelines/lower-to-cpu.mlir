// RUN: attn-opt %s --attn-lower-to-cpu="q-tile=32 kv-tile=16" | FileCheck %s

// The whole CPU pipeline: attn.attention with a causal mask, GQA, a softcap
// and lse goes to the LLVM dialect only; exp2 and tanh become LLVM
// intrinsics, no attn op and no unrealized cast is left.
// CHECK-LABEL: llvm.func @causal_softcap
// CHECK-NOT: attn.
// CHECK-NOT: unrealized_conversion_cast
// CHECK-DAG: llvm.intr.exp2
// CHECK-DAG: llvm.intr.tanh
// CHECK-DAG: llvm.intr.log2
// The tile loops release their stack every iteration (attn-scope-loop-allocas).
// CHECK-DAG: llvm.intr.stacksave
// CHECK-DAG: llvm.intr.stackrestore
// CHECK: llvm.return
func.func @causal_softcap(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>) -> (tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>) {
  %o, %l = attn.attention %q, %k, %v {masks = [#attn.causal<bottom_right>], score_mods = [#attn.softcap<30.0>]} : tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16> -> tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>
  return %o, %l : tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>
}
