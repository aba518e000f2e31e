func.func @d64_f16_causal_br_gqa(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) -> (tensor<?x?x8x64xf16>, tensor<?x8x?xf32>) {
  %o, %l = attn.attention %q, %k, %v {masks = [#attn.causal<bottom_right>]} : tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16> -> tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
  return %o, %l : tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
}
