// One decode step of a batch: one query token per request against its
// paged KV cache. The query length is static (1), so the decode strategy
// builds it: the 4 query heads of each kv head packed into one tile, the
// keys split over CTAs and merged.
func.func @decode(%q: tensor<?x1x8x128xbf16>, %k: tensor<?x16x2x128xbf16>, %v: tensor<?x16x2x128xbf16>, %indptr: tensor<?xi32>, %indices: tensor<?xi32>, %last: tensor<?xi32>) -> tensor<?x1x8x128xbf16> {
  %o = attn.attention %q, %k, %v kv_page_indptr(%indptr : tensor<?xi32>) kv_page_indices(%indices : tensor<?xi32>) kv_last_page_len(%last : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<?x1x8x128xbf16>, tensor<?x16x2x128xbf16>, tensor<?x16x2x128xbf16> -> tensor<?x1x8x128xbf16>
  return %o : tensor<?x1x8x128xbf16>
}
