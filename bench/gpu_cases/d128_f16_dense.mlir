func.func @d128_f16_dense(%q: tensor<?x?x4x128xf16>, %k: tensor<?x?x4x128xf16>, %v: tensor<?x?x4x128xf16>) -> (tensor<?x?x4x128xf16>, tensor<?x4x?xf32>) {
  %o, %l = attn.attention %q, %k, %v  : tensor<?x?x4x128xf16>, tensor<?x?x4x128xf16>, tensor<?x?x4x128xf16> -> tensor<?x?x4x128xf16>, tensor<?x4x?xf32>
  return %o, %l : tensor<?x?x4x128xf16>, tensor<?x4x?xf32>
}
