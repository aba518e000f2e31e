// The attention of one decoder layer: causal, GQA (8 query heads sharing 2
// kv heads), head_dim 128, bf16, returning the log-sum-exp too. Compiled by
// attn-compile into a C++ source that main.cpp links (see CMakeLists.txt).
func.func @layer(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x128xbf16>)
    -> (tensor<?x?x8x128xbf16>, tensor<?x8x?xf32>) {
  %out, %lse = attn.attention %q, %k, %v {masks = [#attn.causal<bottom_right>]}
      : tensor<?x?x8x128xbf16>, tensor<?x?x2x128xbf16>, tensor<?x?x2x128xbf16>
      -> tensor<?x?x8x128xbf16>, tensor<?x8x?xf32>
  return %out, %lse : tensor<?x?x8x128xbf16>, tensor<?x8x?xf32>
}
