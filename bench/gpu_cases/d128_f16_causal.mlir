func.func @d128_f16_causal(%q: tensor<?x?x16x128xf16>, %k: tensor<?x?x16x128xf16>, %v: tensor<?x?x16x128xf16>) -> (tensor<?x?x16x128xf16>, tensor<?x16x?xf32>) {
  %o, %l = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>]} : tensor<?x?x16x128xf16>, tensor<?x?x16x128xf16>, tensor<?x?x16x128xf16> -> tensor<?x?x16x128xf16>, tensor<?x16x?xf32>
  return %o, %l : tensor<?x?x16x128xf16>, tensor<?x16x?xf32>
}
