func.func @d64_f16_dense(%q: tensor<?x?x32x64xf16>, %k: tensor<?x?x32x64xf16>, %v: tensor<?x?x32x64xf16>) -> (tensor<?x?x32x64xf16>, tensor<?x32x?xf32>) {
  %o, %l = attn.attention %q, %k, %v  : tensor<?x?x32x64xf16>, tensor<?x?x32x64xf16>, tensor<?x?x32x64xf16> -> tensor<?x?x32x64xf16>, tensor<?x32x?xf32>
  return %o, %l : tensor<?x?x32x64xf16>, tensor<?x32x?xf32>
}
