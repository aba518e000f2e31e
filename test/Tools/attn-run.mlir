// attn-run, the main job: one screen that says what each level did, then a
// run against the float64 oracle (on the GPU too where there is one; exit
// status 0 only when every run matches).
// RUN: attn-run %s --seq-q 128 --seq-k 128 --batch 2 | FileCheck %s
// RUN: attn-run %s --seq-q 128 --seq-k 128 --print-ir | FileCheck %s --check-prefix=IR

// Causal (top-left) over 128 x 128 in 64 x 64 CPU tiles: of the 4 tiles,
// (0, 1) lies above the diagonal (empty), (1, 0) below it (full), the two
// on it are partial.
// CHECK: problem: batch 2, 128 queries, 128 keys
// CHECK: 1. frontend {{.*}} scale 0.1768, masks [#attn.causal<top_left>], score_mods [#attn.softcap<
// CHECK: 2. mask analysis
// CHECK: CPU 64x64: 4 tiles: 1 skipped (empty), 1 full (no mask code), 2 partial
// CHECK: 3. GPU sm_90: strategy sm80, block_q {{[0-9]+}}, block_k {{[0-9]+}}, {{[0-9]+}} warps
// CHECK-NEXT: kernel causal_softcap_kernel: 128 threads/CTA
// CHECK: 4. CPU: tiled, online softmax, LLVM dialect
// CHECK: 5. random inputs vs the float64 oracle
// CHECK: CPU: max relative error {{[0-9.]+E-0[3-9]}}, lse max abs error
// IR: llvm.func @causal_softcap
func.func @causal_softcap(%q: tensor<?x?x2x32xf16>, %k: tensor<?x?x2x32xf16>,
                          %v: tensor<?x?x2x32xf16>)
    -> (tensor<?x?x2x32xf16>, tensor<?x2x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {
      masks = [#attn.causal<top_left>], score_mods = [#attn.softcap<20.0>]}
      : tensor<?x?x2x32xf16>, tensor<?x?x2x32xf16>, tensor<?x?x2x32xf16>
      -> tensor<?x?x2x32xf16>, tensor<?x2x?xf32>
  return %o, %lse : tensor<?x?x2x32xf16>, tensor<?x2x?xf32>
}

// The decode example: the decode strategy, its split kernel and its merge
// kernel, and the CPU run against the oracle.
// RUN: attn-run %S/../../examples/decode_step.mlir --seq-k 300 | FileCheck %s --check-prefix=DECODE
// DECODE: problem: batch 1, 1 queries, 300 keys
// DECODE: 3. GPU sm_90: strategy decode, block_q 16, block_k 32, 1 warps, 3 stages, keys split over up to 128 CTAs
// DECODE-NEXT: kernel decode_step_kernel: 32 threads/CTA
// DECODE-NEXT: kernel decode_step_merge: 128 threads/CTA, {{[0-9]+}} B shared memory, launched when the keys are split
// DECODE: CPU: max relative error {{[0-9.]+E-0[3-9]}}, lse max abs error
