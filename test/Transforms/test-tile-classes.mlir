// RUN: attn-opt %s --split-input-file --attn-test-tile-classes="q-tile=2 kv-tile=2" 2>&1 | FileCheck %s

// Letters per query tile (rows [q0, q0+2)) and kv tile (keys [k0, k0+2)):
// E empty (never visited), F full (no mask code), P partial.

// Causal, top-left, Sq = Sk = 8: keep j <= i. Row tile [2,4) keeps keys
// [0,4) at most and [0,3) in every row: kv tile [0,2) full, [2,4) partial.
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: PEEE
// CHECK-NEXT: FPEE
// CHECK-NEXT: FFPE
// CHECK-NEXT: FFFP
func.func @causal(%q: tensor<1x8x1x8xf32>) -> tensor<1x8x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.causal<top_left>]} : tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32> -> tensor<1x8x1x8xf32>
  return %o : tensor<1x8x1x8xf32>
}

// -----

// Causal, bottom-right, Sq = 4, Sk = 8: keep j <= i + 4; rows [0,2) keep
// keys [0,6), every row [0,5).
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: FFPE
// CHECK-NEXT: FFFP
func.func @causal_bottom_right(%q: tensor<1x4x1x8xf32>, %k: tensor<1x8x1x8xf32>) -> tensor<1x4x1x8xf32> {
  %o = attn.attention %q, %k, %k {masks = [#attn.causal<bottom_right>]} : tensor<1x4x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32> -> tensor<1x4x1x8xf32>
  return %o : tensor<1x4x1x8xf32>
}

// -----

// Causal, bottom-right, Sq = 8 > Sk = 4: keep j <= i - 4, so rows 0..3 keep
// nothing (their tiles are all empty; they produce out = 0).
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: EE
// CHECK-NEXT: EE
// CHECK-NEXT: PE
// CHECK-NEXT: FP
func.func @causal_more_queries(%q: tensor<1x8x1x8xf32>, %k: tensor<1x4x1x8xf32>) -> tensor<1x8x1x8xf32> {
  %o = attn.attention %q, %k, %k {masks = [#attn.causal<bottom_right>]} : tensor<1x8x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32> -> tensor<1x8x1x8xf32>
  return %o : tensor<1x8x1x8xf32>
}

// -----

// Sliding window, 2 keys to the left: keep i - 2 <= j <= i. Rows [4,6) keep
// [2,6) at most and [3,5) in every row, so no kv tile is full.
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: PEEE
// CHECK-NEXT: PPEE
// CHECK-NEXT: EPPE
// CHECK-NEXT: EEPP
func.func @window(%q: tensor<1x8x1x8xf32>) -> tensor<1x8x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.sliding_window<left = 2, right = 0, align = top_left>]} : tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32> -> tensor<1x8x1x8xf32>
  return %o : tensor<1x8x1x8xf32>
}

// -----

// Prefix-LM with a 4-token prefix: keep j < 4 or j <= i.
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: FFEE
// CHECK-NEXT: FFEE
// CHECK-NEXT: FFPE
// CHECK-NEXT: FFFP
func.func @prefix_lm(%q: tensor<1x8x1x8xf32>) -> tensor<1x8x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.prefix_lm<prefix = 4, align = top_left>]} : tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32> -> tensor<1x8x1x8xf32>
  return %o : tensor<1x8x1x8xf32>
}

// -----

// Chunks of 4: keep floor(i/4) == floor(j/4); block-diagonal, all full.
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: FFEE
// CHECK-NEXT: FFEE
// CHECK-NEXT: EEFF
// CHECK-NEXT: EEFF
func.func @chunked(%q: tensor<1x8x1x8xf32>) -> tensor<1x8x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.chunked<size = 4, align = top_left>]} : tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32> -> tensor<1x8x1x8xf32>
  return %o : tensor<1x8x1x8xf32>
}

// -----

// Causal and document ids: the causal part still skips tiles above the
// diagonal, but no tile is provably full (document ids are read per element).
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: PEEE
// CHECK-NEXT: PPEE
// CHECK-NEXT: PPPE
// CHECK-NEXT: PPPP
func.func @causal_document(%q: tensor<1x8x1x8xf32>, %d: tensor<1x8xi32>) -> tensor<1x8x1x8xf32> {
  %o = attn.attention %q, %q, %q doc_ids_q(%d : tensor<1x8xi32>) doc_ids_kv(%d : tensor<1x8xi32>) {masks = [#attn.causal<top_left>, #attn.document]} : tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32> -> tensor<1x8x1x8xf32>
  return %o : tensor<1x8x1x8xf32>
}

// -----

// causal OR mask_mod: any key may be kept (mask_mod), but keys the causal
// member keeps in every row are kept by the disjunction too: full.
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: PPPP
// CHECK-NEXT: FPPP
// CHECK-NEXT: FFPP
// CHECK-NEXT: FFFP
func.func @or_mask_mod(%q: tensor<1x8x1x8xf32>) -> tensor<1x8x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.or<[#attn.causal<top_left>, #attn.mask_mod]>]} : tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32> -> tensor<1x8x1x8xf32>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %first = arith.cmpi eq, %j, %c0 : index
    attn.yield %first : i1
  }
  return %o : tensor<1x8x1x8xf32>
}

// -----

// No mask, Sq = Sk = 5: the last kv tile is ragged (only key 4) and, being
// cut at Sk, holds no padding key: it is full too.
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: FFF
// CHECK-NEXT: FFF
// CHECK-NEXT: FFF

func.func @ragged(%q: tensor<1x5x1x8xf32>) -> tensor<1x5x1x8xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x5x1x8xf32>, tensor<1x5x1x8xf32>, tensor<1x5x1x8xf32> -> tensor<1x5x1x8xf32>
  return %o : tensor<1x5x1x8xf32>
}

// -----

// Causal, Sq = Sk = 5: the last row tile is ragged too (row 4 only), and
// row 4 keeps key 4, so the ragged corner tile [4,5)x[4,5) is full.
// CHECK-LABEL: remark: tile classes
// CHECK-NEXT: PEE
// CHECK-NEXT: FPE
// CHECK-NEXT: FFF
func.func @ragged_causal(%q: tensor<1x5x1x8xf32>) -> tensor<1x5x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.causal<top_left>]} : tensor<1x5x1x8xf32>, tensor<1x5x1x8xf32>, tensor<1x5x1x8xf32> -> tensor<1x5x1x8xf32>
  return %o : tensor<1x5x1x8xf32>
}

// -----

// 2^20 x 2^20 in 2-row tiles is 2^38 tiles: the report declines at once
// instead of running for minutes.
func.func @huge(%q: tensor<1x1048576x1x8xf32>) -> tensor<1x1048576x1x8xf32> {
  // CHECK: remark: tile classes: 524288 x 524288 tiles, more than the 65536 this report prints; use larger q-tile/kv-tile
  %o = attn.attention %q, %q, %q {masks = [#attn.causal<top_left>]} : tensor<1x1048576x1x8xf32>, tensor<1x1048576x1x8xf32>, tensor<1x1048576x1x8xf32> -> tensor<1x1048576x1x8xf32>
  return %o : tensor<1x1048576x1x8xf32>
}
