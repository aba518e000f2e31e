// Causal grouped-query attention as in Llama 3: 32 query heads share 8 kv
// heads, head_dim 128, bf16, any batch and sequence length; also returns the
// log-sum-exp.
//   attn-opt --attn-materialize-defaults examples/causal_gqa.mlir
func.func @causal_gqa(%q: tensor<?x?x32x128xbf16>, %k: tensor<?x?x8x128xbf16>,
                      %v: tensor<?x?x8x128xbf16>)
    -> (tensor<?x?x32x128xbf16>, tensor<?x32x?xf32>) {
  %out, %lse = attn.attention %q, %k, %v {masks = [#attn.causal<bottom_right>]}
      : tensor<?x?x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>
      -> tensor<?x?x32x128xbf16>, tensor<?x32x?xf32>
  return %out, %lse : tensor<?x?x32x128xbf16>, tensor<?x32x?xf32>
}
