func.func @d64_f16_window(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) -> (tensor<?x?x4x64xf16>, tensor<?x4x?xf32>) {
  %o, %l = attn.attention %q, %k, %v {masks = [#attn.sliding_window<left = 100, right = 0, align = top_left>]} : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16>, tensor<?x4x?xf32>
  return %o, %l : tensor<?x?x4x64xf16>, tensor<?x4x?xf32>
}
