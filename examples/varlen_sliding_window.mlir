// Serving-style varlen prefill (flash_attn_varlen_func): sequences packed into
// [tokens, heads, dim] and described by cu_seqlens, a 4096-token sliding
// window (Mistral), GQA 32/8, with per-head attention sinks (gpt-oss).
func.func @varlen_sliding_window(%q: tensor<?x32x128xbf16>, %k: tensor<?x8x128xbf16>,
                                 %v: tensor<?x8x128xbf16>, %cu_q: tensor<?xi32>,
                                 %cu_k: tensor<?xi32>, %sinks: tensor<32xf32>)
    -> (tensor<?x32x128xbf16>, tensor<32x?xf32>) {
  %out, %lse = attn.attention %q, %k, %v
      cu_seqlens_q(%cu_q : tensor<?xi32>) cu_seqlens_k(%cu_k : tensor<?xi32>)
      sinks(%sinks : tensor<32xf32>)
      {masks = [#attn.sliding_window<left = 4096, right = 0, align = bottom_right>]}
      : tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>
      -> tensor<?x32x128xbf16>, tensor<32x?xf32>
  return %out, %lse : tensor<?x32x128xbf16>, tensor<32x?xf32>
}
