// Prefill of a batch of prompts (ragged queries, cu_seqlens_q) against a
// paged KV cache holding each prompt's keys: causal (bottom-right), GQA 8/2,
// d128, bf16, pages of 16 tokens (nhd). The sm80 strategy builds it.
func.func @prefill(%q: tensor<?x8x128xbf16>, %k: tensor<?x16x2x128xbf16>, %v: tensor<?x16x2x128xbf16>, %cu: tensor<?xi32>, %indptr: tensor<?xi32>, %indices: tensor<?xi32>, %last: tensor<?xi32>) -> tensor<?x8x128xbf16> {
  %o = attn.attention %q, %k, %v cu_seqlens_q(%cu : tensor<?xi32>) kv_page_indptr(%indptr : tensor<?xi32>) kv_page_indices(%indices : tensor<?xi32>) kv_last_page_len(%last : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>, masks = [#attn.causal<bottom_right>]} : tensor<?x8x128xbf16>, tensor<?x16x2x128xbf16>, tensor<?x16x2x128xbf16> -> tensor<?x8x128xbf16>
  return %o : tensor<?x8x128xbf16>
}
