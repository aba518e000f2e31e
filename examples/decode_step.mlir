// One decode step: a single query token per sequence against its KV cache,
// 32 query heads over 8 kv heads, d128, bf16. The query length is static
// (1), so attn-gpu-kernels picks the decode strategy: the 4 query heads of
// each kv head share one 16-row tile, and the keys are split over CTAs whose
// partial results a merge kernel combines.
//   build/bin/attn-run examples/decode_step.mlir --seq-k 4096
func.func @decode_step(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> (tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>) {
  %o, %lse = attn.attention %q, %k, %v : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
  return %o, %lse : tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
}
