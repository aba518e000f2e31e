func.func @d128_f16_causal_softcap(%q: tensor<?x?x4x128xf16>, %k: tensor<?x?x2x128xf16>, %v: tensor<?x?x2x128xf16>) -> (tensor<?x?x4x128xf16>, tensor<?x4x?xf32>) {
  %o, %l = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>], score_mods = [#attn.softcap<30.0>]} : tensor<?x?x4x128xf16>, tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16> -> tensor<?x?x4x128xf16>, tensor<?x4x?xf32>
  return %o, %l : tensor<?x?x4x128xf16>, tensor<?x4x?xf32>
}
