// RUN: attn-opt %s --split-input-file | attn-opt --split-input-file | FileCheck %s
// RUN: attn-opt %s --split-input-file --mlir-print-op-generic | attn-opt --split-input-file | FileCheck %s

// Every attribute and operand kind of attn.attention survives
// parse -> print -> parse (pretty and generic forms).

// Plain attention: out = softmax(Q K^T / sqrt(64)) V, BSHD, no lse.
// CHECK-LABEL: func @plain
// CHECK: %[[OUT:.*]] = attn.attention %arg0, %arg1, %arg2 : tensor<2x128x8x64xf16>, tensor<2x128x8x64xf16>, tensor<2x128x8x64xf16> -> tensor<2x128x8x64xf16>
func.func @plain(%q: tensor<2x128x8x64xf16>, %k: tensor<2x128x8x64xf16>, %v: tensor<2x128x8x64xf16>) -> tensor<2x128x8x64xf16> {
  %o = attn.attention %q, %k, %v : tensor<2x128x8x64xf16>, tensor<2x128x8x64xf16>, tensor<2x128x8x64xf16> -> tensor<2x128x8x64xf16>
  return %o : tensor<2x128x8x64xf16>
}

// -----

// BHSD layout, explicit scale, lse [B, Hq, Sq], dynamic batch and lengths.
// CHECK-LABEL: func @bhsd_lse
// CHECK: %{{.*}}, %{{.*}} = attn.attention %arg0, %arg1, %arg2 {layout = #attn<layout bhsd>, scale = 1.250000e-01 : f32} : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
func.func @bhsd_lse(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> (tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>) {
  %o, %l = attn.attention %q, %k, %v {layout = #attn<layout bhsd>, scale = 0.125 : f32} : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
  return %o, %l : tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
}

// -----

// GQA (16 q heads over 4 kv heads) with a value head dim (64) that differs
// from the query/key head dim (128).
// CHECK-LABEL: func @gqa_dv
// CHECK: attn.attention %arg0, %arg1, %arg2 : tensor<1x64x16x128xf32>, tensor<1x32x4x128xf32>, tensor<1x32x4x64xf32> -> tensor<1x64x16x64xf32>
func.func @gqa_dv(%q: tensor<1x64x16x128xf32>, %k: tensor<1x32x4x128xf32>, %v: tensor<1x32x4x64xf32>) -> tensor<1x64x16x64xf32> {
  %o = attn.attention %q, %k, %v : tensor<1x64x16x128xf32>, tensor<1x32x4x128xf32>, tensor<1x32x4x64xf32> -> tensor<1x64x16x64xf32>
  return %o : tensor<1x64x16x64xf32>
}

// -----

// Analytic masks, composed by conjunction: causal (both alignments),
// sliding window (j in [i+off-128, i+off]), prefix-LM, chunked.
// CHECK-LABEL: func @analytic_masks
// CHECK: masks = [#attn.causal<top_left>, #attn.causal<bottom_right>, #attn.sliding_window<left = 128, right = 0, align = bottom_right>, #attn.sliding_window<left = -1, right = 16, align = top_left>, #attn.prefix_lm<prefix = 32, align = top_left>, #attn.chunked<size = 64, align = bottom_right>]
func.func @analytic_masks(%q: tensor<1x100x4x64xf16>, %k: tensor<1x300x4x64xf16>, %v: tensor<1x300x4x64xf16>) -> tensor<1x100x4x64xf16> {
  %o = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>, #attn.causal<bottom_right>, #attn.sliding_window<left = 128, right = 0, align = bottom_right>, #attn.sliding_window<left = -1, right = 16, align = top_left>, #attn.prefix_lm<prefix = 32, align = top_left>, #attn.chunked<size = 64, align = bottom_right>]} : tensor<1x100x4x64xf16>, tensor<1x300x4x64xf16>, tensor<1x300x4x64xf16> -> tensor<1x100x4x64xf16>
  return %o : tensor<1x100x4x64xf16>
}

// -----

// Document masking: keep j for i when doc_q[b, i] == doc_kv[b, j].
// CHECK-LABEL: func @document
// CHECK: attn.attention %arg0, %arg1, %arg2 doc_ids_q(%arg3 : tensor<2x?xi32>) doc_ids_kv(%arg3 : tensor<2x?xi32>) {masks = [#attn.causal<top_left>, #attn.document]}
func.func @document(%q: tensor<2x?x4x64xf16>, %k: tensor<2x?x4x64xf16>, %v: tensor<2x?x4x64xf16>, %doc: tensor<2x?xi32>) -> tensor<2x?x4x64xf16> {
  %o = attn.attention %q, %k, %v doc_ids_q(%doc : tensor<2x?xi32>) doc_ids_kv(%doc : tensor<2x?xi32>) {masks = [#attn.causal<top_left>, #attn.document]} : tensor<2x?x4x64xf16>, tensor<2x?x4x64xf16>, tensor<2x?x4x64xf16> -> tensor<2x?x4x64xf16>
  return %o : tensor<2x?x4x64xf16>
}

// -----

// Custom masks: one i1 per (i, j), broadcast over batch; and packed bits,
// ceil(100 / 8) = 13 bytes per row, per head.
// CHECK-LABEL: func @custom_masks
// CHECK: custom_mask(%arg3 : tensor<1x4x64x100xi1>) {masks = [#attn.custom_mask]}
// CHECK: custom_mask(%arg4 : tensor<2x4x64x13xi8>) {masks = [#attn.custom_mask]}
func.func @custom_masks(%q: tensor<2x64x4x64xf16>, %k: tensor<2x100x4x64xf16>, %v: tensor<2x100x4x64xf16>, %m: tensor<1x4x64x100xi1>, %p: tensor<2x4x64x13xi8>) -> (tensor<2x64x4x64xf16>, tensor<2x64x4x64xf16>) {
  %o = attn.attention %q, %k, %v custom_mask(%m : tensor<1x4x64x100xi1>) {masks = [#attn.custom_mask]} : tensor<2x64x4x64xf16>, tensor<2x100x4x64xf16>, tensor<2x100x4x64xf16> -> tensor<2x64x4x64xf16>
  %o2 = attn.attention %q, %k, %v custom_mask(%p : tensor<2x4x64x13xi8>) {masks = [#attn.custom_mask]} : tensor<2x64x4x64xf16>, tensor<2x100x4x64xf16>, tensor<2x100x4x64xf16> -> tensor<2x64x4x64xf16>
  return %o, %o2 : tensor<2x64x4x64xf16>, tensor<2x64x4x64xf16>
}

// -----

// mask_mod region (FlexAttention): keep j <= i or j < 4 (attention to the
// first four "sink" tokens), combined by #attn.or with a sliding window.
// CHECK-LABEL: func @mask_mod_or
// CHECK: masks = [#attn.or<[#attn.mask_mod, #attn.sliding_window<left = 256, right = 0, align = top_left>]>]
// CHECK: mask_mod {
// CHECK: ^bb0(%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index):
// CHECK: attn.yield %{{.*}} : i1
func.func @mask_mod_or(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x8x128xbf16>, %v: tensor<1x?x8x128xbf16>) -> tensor<1x?x8x128xbf16> {
  %o = attn.attention %q, %k, %v {masks = [#attn.or<[#attn.mask_mod, #attn.sliding_window<left = 256, right = 0, align = top_left>]>]} : tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16> -> tensor<1x?x8x128xbf16> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c4 = arith.constant 4 : index
    %causal = arith.cmpi ule, %j, %i : index
    %sink = arith.cmpi ult, %j, %c4 : index
    %keep = arith.ori %causal, %sink : i1
    attn.yield %keep : i1
  }
  return %o : tensor<1x?x8x128xbf16>
}

// -----

// Score modifications, applied in order: softcap 30 * tanh(s / 30), then
// ALiBi with per-head slopes, then an additive bias broadcast over batch.
// CHECK-LABEL: func @score_mods
// CHECK: alibi_slopes(%arg3 : tensor<8xf32>) bias(%arg4 : tensor<1x8x64x64xf16>) {score_mods = [#attn.softcap<3.000000e+01>, #attn.alibi, #attn.bias]}
func.func @score_mods(%q: tensor<2x64x8x64xf16>, %k: tensor<2x64x8x64xf16>, %v: tensor<2x64x8x64xf16>, %slopes: tensor<8xf32>, %bias: tensor<1x8x64x64xf16>) -> tensor<2x64x8x64xf16> {
  %o = attn.attention %q, %k, %v alibi_slopes(%slopes : tensor<8xf32>) bias(%bias : tensor<1x8x64x64xf16>) {score_mods = [#attn.softcap<30.0>, #attn.alibi, #attn.bias]} : tensor<2x64x8x64xf16>, tensor<2x64x8x64xf16>, tensor<2x64x8x64xf16> -> tensor<2x64x8x64xf16>
  return %o : tensor<2x64x8x64xf16>
}

// -----

// ALiBi with per-(batch, head) slopes.
// CHECK-LABEL: func @alibi_batched
// CHECK: alibi_slopes(%arg3 : tensor<2x8xf32>) {score_mods = [#attn.alibi]}
func.func @alibi_batched(%q: tensor<2x64x8x64xf16>, %k: tensor<2x64x8x64xf16>, %v: tensor<2x64x8x64xf16>, %slopes: tensor<2x8xf32>) -> tensor<2x64x8x64xf16> {
  %o = attn.attention %q, %k, %v alibi_slopes(%slopes : tensor<2x8xf32>) {score_mods = [#attn.alibi]} : tensor<2x64x8x64xf16>, tensor<2x64x8x64xf16>, tensor<2x64x8x64xf16> -> tensor<2x64x8x64xf16>
  return %o : tensor<2x64x8x64xf16>
}

// -----

// score_mod region capturing a tensor from above: s + rel_bias[h] * (j - i).
// CHECK-LABEL: func @score_mod_capture
// CHECK: {score_mods = [#attn.score_mod]}
// CHECK: score_mod {
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index):
// CHECK: tensor.extract %arg3
// CHECK: attn.yield %{{.*}} : f32
func.func @score_mod_capture(%q: tensor<1x64x8x64xf32>, %k: tensor<1x64x8x64xf32>, %v: tensor<1x64x8x64xf32>, %rel: tensor<8xf32>) -> tensor<1x64x8x64xf32> {
  %o = attn.attention %q, %k, %v {score_mods = [#attn.score_mod]} : tensor<1x64x8x64xf32>, tensor<1x64x8x64xf32>, tensor<1x64x8x64xf32> -> tensor<1x64x8x64xf32> score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %rel[%h] : tensor<8xf32>
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %t = arith.mulf %w, %df : f32
    %r = arith.addf %s, %t : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x64x8x64xf32>
}

// -----

// Block-sparse mask (FlexAttention BlockMask) with 128x64 blocks:
// ceil(256/128) = 2 query blocks, ceil(512/64) = 8 kv blocks; the full_*
// operands list blocks that need no further mask evaluation.
// CHECK-LABEL: func @block_sparse
// CHECK: kv_num_blocks(%arg3 : tensor<1x1x2xi32>) kv_indices(%arg4 : tensor<1x1x2x8xi32>) full_kv_num_blocks(%arg3 : tensor<1x1x2xi32>) full_kv_indices(%arg4 : tensor<1x1x2x8xi32>) {block_sparse = #attn.block_sparse<q_block = 128, kv_block = 64>}
func.func @block_sparse(%q: tensor<2x256x4x64xf16>, %k: tensor<2x512x4x64xf16>, %v: tensor<2x512x4x64xf16>, %n: tensor<1x1x2xi32>, %idx: tensor<1x1x2x8xi32>) -> tensor<2x256x4x64xf16> {
  %o = attn.attention %q, %k, %v kv_num_blocks(%n : tensor<1x1x2xi32>) kv_indices(%idx : tensor<1x1x2x8xi32>) full_kv_num_blocks(%n : tensor<1x1x2xi32>) full_kv_indices(%idx : tensor<1x1x2x8xi32>) {block_sparse = #attn.block_sparse<q_block = 128, kv_block = 64>} : tensor<2x256x4x64xf16>, tensor<2x512x4x64xf16>, tensor<2x512x4x64xf16> -> tensor<2x256x4x64xf16>
  return %o : tensor<2x256x4x64xf16>
}

// -----

// Threshold sparse softmax: default threshold (head_dim / Sk) and an
// explicit one with 128-key blocks.
// CHECK-LABEL: func @sparse_softmax
// CHECK: {sparse_softmax = #attn.sparse_softmax}
// CHECK: {sparse_softmax = #attn.sparse_softmax<threshold = 1.000000e-02, kv_block = 128>}
func.func @sparse_softmax(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) -> (tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>) {
  %o = attn.attention %q, %k, %v {sparse_softmax = #attn.sparse_softmax} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  %o2 = attn.attention %q, %k, %v {sparse_softmax = #attn.sparse_softmax<threshold = 0.01, kv_block = 128>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return %o, %o2 : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>
}

// -----

// Gated attention: g = logsigmoid(alpha[b,h,i] + delta[b,h/G,j]) added to the
// score, pairs with g < -2.5 - ln(Sk) dropped; and a linear gate.
// CHECK-LABEL: func @gated
// CHECK: gate_alpha(%arg3 : tensor<2x8x64xf32>) gate_delta(%arg4 : tensor<2x2x96xf32>) {gate = #attn.gate<kind = logsigmoid, threshold = -2.500000e+00, adaptive = true>}
// CHECK: {gate = #attn.gate<kind = linear>}
func.func @gated(%q: tensor<2x64x8x64xbf16>, %k: tensor<2x96x2x64xbf16>, %v: tensor<2x96x2x64xbf16>, %a: tensor<2x8x64xf32>, %d: tensor<2x2x96xf32>) -> (tensor<2x64x8x64xbf16>, tensor<2x64x8x64xbf16>) {
  %o = attn.attention %q, %k, %v gate_alpha(%a : tensor<2x8x64xf32>) gate_delta(%d : tensor<2x2x96xf32>) {gate = #attn.gate<kind = logsigmoid, threshold = -2.5, adaptive = true>} : tensor<2x64x8x64xbf16>, tensor<2x96x2x64xbf16>, tensor<2x96x2x64xbf16> -> tensor<2x64x8x64xbf16>
  %o2 = attn.attention %q, %k, %v gate_alpha(%a : tensor<2x8x64xf32>) gate_delta(%d : tensor<2x2x96xf32>) {gate = #attn.gate<kind = linear>} : tensor<2x64x8x64xbf16>, tensor<2x96x2x64xbf16>, tensor<2x96x2x64xbf16> -> tensor<2x64x8x64xbf16>
  return %o, %o2 : tensor<2x64x8x64xbf16>, tensor<2x64x8x64xbf16>
}

// -----

// Attention sinks: one logit per head joins the softmax denominator.
// CHECK-LABEL: func @sinks
// CHECK: sinks(%arg3 : tensor<8xf32>) {masks = [#attn.causal<top_left>]}
func.func @sinks(%q: tensor<1x64x8x64xf16>, %k: tensor<1x64x8x64xf16>, %v: tensor<1x64x8x64xf16>, %s: tensor<8xf32>) -> (tensor<1x64x8x64xf16>, tensor<1x8x64xf32>) {
  %o, %l = attn.attention %q, %k, %v sinks(%s : tensor<8xf32>) {masks = [#attn.causal<top_left>]} : tensor<1x64x8x64xf16>, tensor<1x64x8x64xf16>, tensor<1x64x8x64xf16> -> tensor<1x64x8x64xf16>, tensor<1x8x64xf32>
  return %o, %l : tensor<1x64x8x64xf16>, tensor<1x8x64xf32>
}

// -----

// Varlen: packed [T, H, D] tokens, B = 3 sequences described by cu_seqlens,
// seqused limits, lse [Hq, Tq], a flattened custom mask, document ids and
// gates in their packed forms.
// CHECK-LABEL: func @varlen
// CHECK: attn.attention %arg0, %arg1, %arg2 cu_seqlens_q(%arg3 : tensor<4xi32>) cu_seqlens_k(%arg4 : tensor<4xi32>) seqused_q(%arg5 : tensor<3xi32>) seqused_k(%arg5 : tensor<3xi32>) doc_ids_q(%arg6 : tensor<?xi32>) doc_ids_kv(%arg7 : tensor<?xi32>) custom_mask(%arg8 : tensor<?xi1>) gate_alpha(%arg9 : tensor<8x?xf32>) gate_delta(%arg10 : tensor<2x?xf32>) {gate = #attn.gate<kind = logsigmoid>, masks = [#attn.causal<bottom_right>, #attn.document, #attn.custom_mask]} : tensor<?x8x64xf16>, tensor<?x2x64xf16>, tensor<?x2x64xf16> -> tensor<?x8x64xf16>, tensor<8x?xf32>
func.func @varlen(%q: tensor<?x8x64xf16>, %k: tensor<?x2x64xf16>, %v: tensor<?x2x64xf16>, %cq: tensor<4xi32>, %ck: tensor<4xi32>, %used: tensor<3xi32>, %dq: tensor<?xi32>, %dk: tensor<?xi32>, %m: tensor<?xi1>, %a: tensor<8x?xf32>, %d: tensor<2x?xf32>) -> (tensor<?x8x64xf16>, tensor<8x?xf32>) {
  %o, %l = attn.attention %q, %k, %v cu_seqlens_q(%cq : tensor<4xi32>) cu_seqlens_k(%ck : tensor<4xi32>) seqused_q(%used : tensor<3xi32>) seqused_k(%used : tensor<3xi32>) doc_ids_q(%dq : tensor<?xi32>) doc_ids_kv(%dk : tensor<?xi32>) custom_mask(%m : tensor<?xi1>) gate_alpha(%a : tensor<8x?xf32>) gate_delta(%d : tensor<2x?xf32>) {gate = #attn.gate<kind = logsigmoid>, masks = [#attn.causal<bottom_right>, #attn.document, #attn.custom_mask]} : tensor<?x8x64xf16>, tensor<?x2x64xf16>, tensor<?x2x64xf16> -> tensor<?x8x64xf16>, tensor<8x?xf32>
  return %o, %l : tensor<?x8x64xf16>, tensor<8x?xf32>
}

// -----

// A lowering config is data any op may carry (attn-gpu-kernels records it
// on its kernels).
// CHECK-LABEL: func.func @lowering_config
// CHECK-SAME: attn.config = #attn.lowering_config<strategy = sm80, block_q = 128, block_k = 32, warps = 8>
func.func @lowering_config() attributes {attn.config = #attn.lowering_config<strategy = sm80, block_q = 128, block_k = 32, warps = 8>} {
  return
}

// -----

// An sm90a config with a producer warpgroup; producer_warps = 0 (the
// default) is not printed.
// CHECK-LABEL: func.func @producer_config
// CHECK-SAME: attn.config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, producer_warps = 4>
// CHECK-SAME: attn.plain = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8>
func.func @producer_config() attributes {attn.config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, producer_warps = 4>, attn.plain = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, producer_warps = 0>} {
  return
}

// -----

// A decode config whose 16 query rows are held by 4 kv warps (warps =
// block_q / 16 x kv_warps), each over 32 keys of a 128-key tile; kv_warps =
// 1 (the default) is not printed.
// CHECK-LABEL: func.func @kv_warps_config
// CHECK-SAME: attn.config = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 128, warps = 4, kv_splits = 128, kv_warps = 4>
// CHECK-SAME: attn.plain = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 32, warps = 1>
func.func @kv_warps_config() attributes {attn.config = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 128, warps = 4, kv_splits = 128, kv_warps = 4>, attn.plain = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 32, warps = 1, kv_warps = 1>} {
  return
}

// -----

// The decode strategy's config carries its most key splits; kv_splits = 1
// (the default) is not printed.
// CHECK-LABEL: func.func @decode_config
// CHECK-SAME: attn.config = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 32, warps = 1, kv_splits = 128>
// CHECK-SAME: attn.plain = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4>
func.func @decode_config() attributes {attn.config = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 32, warps = 1, kv_splits = 128>, attn.plain = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4, kv_splits = 1>} {
  return
}

// -----

// A paged KV cache (FlashInfer's page table): k/v are pools of pages of 16
// token slots, [pages, 16, Hkv, D] (nhd); batched decode queries.
// CHECK-LABEL: func.func @paged_decode
// CHECK: kv_page_indptr(%{{.*}} : tensor<?xi32>) kv_page_indices(%{{.*}} : tensor<?xi32>) kv_last_page_len(%{{.*}} : tensor<?xi32>)
// CHECK-SAME: paged_kv = #attn.paged_kv<page_size = 16>
func.func @paged_decode(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x128xbf16>, %indptr: tensor<?xi32>, %indices: tensor<?xi32>, %last: tensor<?xi32>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %v kv_page_indptr(%indptr : tensor<?xi32>) kv_page_indices(%indices : tensor<?xi32>) kv_last_page_len(%last : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<?x1x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}

// -----

// Ragged queries (cu_seqlens_q alone) against hnd pages [pages, Hkv, 8, D].
// CHECK-LABEL: func.func @paged_prefill_hnd
// CHECK: attn.attention
// CHECK-SAME: paged_kv = #attn.paged_kv<page_size = 8, layout = hnd>
func.func @paged_prefill_hnd(%q: tensor<?x4x64xf16>, %k: tensor<?x2x8x64xf16>, %cu: tensor<?xi32>, %indptr: tensor<?xi32>, %indices: tensor<?xi32>, %last: tensor<?xi32>) -> tensor<?x4x64xf16> {
  %o = attn.attention %q, %k, %k cu_seqlens_q(%cu : tensor<?xi32>) kv_page_indptr(%indptr : tensor<?xi32>) kv_page_indices(%indices : tensor<?xi32>) kv_last_page_len(%last : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 8, layout = hnd>, masks = [#attn.causal<bottom_right>]} : tensor<?x4x64xf16>, tensor<?x2x8x64xf16>, tensor<?x2x8x64xf16> -> tensor<?x4x64xf16>
  return %o : tensor<?x4x64xf16>
}

// -----

// Rotary position embedding of q and k (FlashInfer's ROPE_LLAMA): the
// attribute keeps theta, scale and where the queries sit.
// CHECK-LABEL: func.func @rope_decode
// CHECK: attn.attention
// CHECK-SAME: rope = #attn.rope<theta = 1.000000e+04, scale = 1.000000e+00, align = bottom_right>
func.func @rope_decode(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %v {rope = #attn.rope<theta = 1.0e4, scale = 1.0, align = bottom_right>} : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}

// -----

// An fp8 (e4m3) KV cache under bf16 queries, with its dequantization scales.
// CHECK-LABEL: func.func @fp8_kv
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} k_scale(%{{.*}} : tensor<1xf32>) v_scale(%{{.*}} : tensor<1xf32>)
// CHECK-SAME: tensor<?x?x8x128xf8E4M3FN>
func.func @fp8_kv(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xf8E4M3FN>, %v: tensor<?x?x8x128xf8E4M3FN>, %ks: tensor<1xf32>, %vs: tensor<1xf32>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %v k_scale(%ks : tensor<1xf32>) v_scale(%vs : tensor<1xf32>) : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xf8E4M3FN>, tensor<?x?x8x128xf8E4M3FN> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}

// -----

// Block lists of a mask: causal and a document mask_mod over captured ids,
// per batch (B = 2), shared by every head (H = 1), 128 x 64 blocks.
// CHECK-LABEL: func.func @block_mask
// CHECK: attn.block_mask %{{.*}}, %{{.*}} {blocks = #attn.block_sparse<q_block = 128, kv_block = 64>, masks = [#attn.causal<top_left>, #attn.mask_mod]}
// CHECK-SAME: tensor<2x1x?xi32>, tensor<2x1x?x?xi32>, tensor<2x1x?xi32>, tensor<2x1x?x?xi32> mask_mod
// CHECK: tensor.extract
// CHECK: attn.yield %{{.*}} : i1
func.func @block_mask(%ql: index, %kl: index, %docs: tensor<2x?xi32>) -> (tensor<2x1x?xi32>, tensor<2x1x?x?xi32>, tensor<2x1x?xi32>, tensor<2x1x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %ql, %kl {masks = [#attn.causal<top_left>, #attn.mask_mod], blocks = #attn.block_sparse<q_block = 128, kv_block = 64>} : tensor<2x1x?xi32>, tensor<2x1x?x?xi32>, tensor<2x1x?xi32>, tensor<2x1x?x?xi32>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kj: index):
    %dq = tensor.extract %docs[%b, %qi] : tensor<2x?xi32>
    %dk = tensor.extract %docs[%b, %kj] : tensor<2x?xi32>
    %same = arith.cmpi eq, %dq, %dk : i32
    attn.yield %same : i1
  }
  return %n, %i, %fn, %fi : tensor<2x1x?xi32>, tensor<2x1x?x?xi32>, tensor<2x1x?xi32>, tensor<2x1x?x?xi32>
}
