// RUN: attn-opt %s --split-input-file --verify-diagnostics

// One case per verifier rule of attn.attention; each names the operand or
// attribute and the rule it breaks.

// q/k/v hold f16, bf16 or f32.
func.func @f(%q: tensor<1x64x4x64xi32>, %k: tensor<1x64x4x64xi32>, %v: tensor<1x64x4x64xi32>) {
  // expected-error @+1 {{q must hold f16, bf16 or f32 elements, got 'i32'}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xi32>, tensor<1x64x4x64xi32>, tensor<1x64x4x64xi32> -> tensor<1x64x4x64xi32>
  return
}

// -----

// k and v share q's element type.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf32>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{k element type must match q ('f16') or be f8E4M3FN, got 'f32'}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf32>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Dense q/k/v have rank 4.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{q must have rank 4 [B, S, H, D] (bshd), got rank 3}}
  %o = attn.attention %q, %k, %v : tensor<64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Varlen q/k/v have rank 3.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %c: tensor<2xi32>) {
  // expected-error @+1 {{q must have rank 3 [T, H, D] (varlen), got rank 4}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<2xi32>) cu_seqlens_k(%c : tensor<2xi32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// head_dim is static.
func.func @f(%q: tensor<1x64x4x?xf16>, %k: tensor<1x64x4x?xf16>, %v: tensor<1x64x4x?xf16>) {
  // expected-error @+1 {{q head_dim must be static}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x?xf16>, tensor<1x64x4x?xf16>, tensor<1x64x4x?xf16> -> tensor<1x64x4x?xf16>
  return
}

// -----

// head_dim is a multiple of 8 in [8, 256].
func.func @f(%q: tensor<1x64x4x12xf16>, %k: tensor<1x64x4x12xf16>, %v: tensor<1x64x4x12xf16>) {
  // expected-error @+1 {{q head_dim must be a multiple of 8 in [8, 256], got 12}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x12xf16>, tensor<1x64x4x12xf16>, tensor<1x64x4x12xf16> -> tensor<1x64x4x12xf16>
  return
}

// -----

// The value head dim obeys the same limit.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x512xf16>) {
  // expected-error @+1 {{v head_dim must be a multiple of 8 in [8, 256], got 512}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x512xf16> -> tensor<1x64x4x512xf16>
  return
}

// -----

// k head_dim equals q head_dim.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x128xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{k head_dim must equal q head_dim (64), got 128}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x128xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// k batch equals q batch.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<2x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{k batch must equal q batch (1), got 2}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<2x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// v batch equals q batch.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<3x64x4x64xf16>) {
  // expected-error @+1 {{v batch must equal q batch (1), got 3}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<3x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// k and v have one sequence length.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x32x4x64xf16>) {
  // expected-error @+1 {{v sequence length must equal k sequence length (64), got 32}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x32x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// k and v have the same heads.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x2x64xf16>, %v: tensor<1x64x1x64xf16>) {
  // expected-error @+1 {{v heads must equal k heads (2), got 1}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x2x64xf16>, tensor<1x64x1x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// GQA: q heads are a multiple of kv heads.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x3x64xf16>, %v: tensor<1x64x3x64xf16>) {
  // expected-error @+1 {{q heads (4) must be a multiple of k/v heads (3) for GQA/MQA}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x3x64xf16>, tensor<1x64x3x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Varlen needs the bshd (packed thd) layout.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<2xi32>) {
  // expected-error @+1 {{varlen (cu_seqlens) operands need layout bshd (packed [tokens, heads, dim]), got layout bhsd}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<2xi32>) cu_seqlens_k(%c : tensor<2xi32>) {layout = #attn<layout bhsd>} : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// out has q's element type.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{out element type must match q ('f16'), got 'f32'}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf32>
  return
}

// -----

// out is [B, Sq, Hq, Dv].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{out dimension 2 (Hq) must be 4 to match [B, Sq, Hq, Dv], got 8}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x8x64xf16>
  return
}

// -----

// out follows the bhsd layout too: q [B=1, Hq=4, Sq=64, D=64] gives out
// [1, 4, 64, 64], not the bshd-shaped [1, 64, 4, 64].
func.func @f(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x64x64xf16>, %v: tensor<1x4x64x64xf16>) {
  // expected-error @+1 {{out dimension 1 (Hq) must be 4 to match [B, Hq, Sq, Dv], got 64}}
  %o = attn.attention %q, %k, %v {layout = #attn<layout bhsd>} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// lse is f32.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{lse must hold f32 elements, got 'f16'}}
  %o, %l = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>, tensor<1x4x64xf16>
  return
}

// -----

// lse is [B, Hq, Sq].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{lse dimension 1 (Hq) must be 4 to match [B, Hq, Sq], got 64}}
  %o, %l = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>, tensor<1x64x4xf32>
  return
}

// -----

// scale is finite and positive.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{scale must be a finite number > 0, got -1}}
  %o = attn.attention %q, %k, %v {scale = -1.0 : f32} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// cu_seqlens_q and cu_seqlens_k come together.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<2xi32>) {
  // expected-error @+1 {{cu_seqlens_q and cu_seqlens_k must be given together}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<2xi32>) : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// cu_seqlens hold i32.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<2xi64>) {
  // expected-error @+1 {{cu_seqlens_q must hold i32 elements, got 'i64'}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<2xi64>) cu_seqlens_k(%c : tensor<2xi64>) : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// cu_seqlens_q and cu_seqlens_k have B+1 entries each.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<3xi32>, %d: tensor<4xi32>) {
  // expected-error @+1 {{cu_seqlens_k dimension 0 (B+1) must be 3 to match [B+1], got 4}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<3xi32>) cu_seqlens_k(%d : tensor<4xi32>) : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// cu_seqlens describe at least one sequence.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<1xi32>) {
  // expected-error @+1 {{cu_seqlens_q must hold at least 2 offsets (B+1 with B >= 1), got 1}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<1xi32>) cu_seqlens_k(%c : tensor<1xi32>) : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// Dense seqused is [B] too: one used length per batch entry.
func.func @f(%q: tensor<2x64x4x64xf16>, %k: tensor<2x64x4x64xf16>, %v: tensor<2x64x4x64xf16>, %u: tensor<3xi32>) {
  // expected-error @+1 {{seqused_q dimension 0 (B) must be 2 to match [B], got 3}}
  %o = attn.attention %q, %k, %v seqused_q(%u : tensor<3xi32>) : tensor<2x64x4x64xf16>, tensor<2x64x4x64xf16>, tensor<2x64x4x64xf16> -> tensor<2x64x4x64xf16>
  return
}

// -----

// Dense seqused holds i32 lengths.
func.func @f(%q: tensor<2x64x4x64xf16>, %k: tensor<2x64x4x64xf16>, %v: tensor<2x64x4x64xf16>, %u: tensor<2xi64>) {
  // expected-error @+1 {{seqused_k must hold i32 elements, got 'i64'}}
  %o = attn.attention %q, %k, %v seqused_k(%u : tensor<2xi64>) : tensor<2x64x4x64xf16>, tensor<2x64x4x64xf16>, tensor<2x64x4x64xf16> -> tensor<2x64x4x64xf16>
  return
}

// -----

// seqused is [B].
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<3xi32>, %u: tensor<3xi32>) {
  // expected-error @+1 {{seqused_k dimension 0 (B) must be 2 to match [B], got 3}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<3xi32>) cu_seqlens_k(%c : tensor<3xi32>) seqused_k(%u : tensor<3xi32>) : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// varlen excludes the bias operand.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<3xi32>, %b: tensor<1x1x64x64xf16>) {
  // expected-error @+1 {{bias is not supported with varlen (cu_seqlens); express it as a score_mod region}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<3xi32>) cu_seqlens_k(%c : tensor<3xi32>) bias(%b : tensor<1x1x64x64xf16>) {score_mods = [#attn.bias]} : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// varlen excludes block-sparse operands.
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<3xi32>, %n: tensor<1x1x1xi32>, %i: tensor<1x1x1x1xi32>) {
  // expected-error @+1 {{block_sparse operands are not supported with varlen (cu_seqlens); use masks instead}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<3xi32>) cu_seqlens_k(%c : tensor<3xi32>) kv_num_blocks(%n : tensor<1x1x1xi32>) kv_indices(%i : tensor<1x1x1x1xi32>) {block_sparse = #attn.block_sparse<q_block = 64, kv_block = 64>} : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// masks hold mask attributes only.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{masks elements must be mask attributes (#attn.causal, #attn.sliding_window, ...), got #attn.softcap<2.000000e+00>}}
  %o = attn.attention %q, %k, %v {masks = [#attn.softcap<2.0>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Window extents are >= 0 or -1.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{sliding_window extents must be >= 0 or -1 (unbounded), got left = -2, right = 0}}
  %o = attn.attention %q, %k, %v {masks = [#attn.sliding_window<left = -2, right = 0, align = top_left>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// The prefix length is >= 0.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{prefix_lm prefix must be >= 0, got -1}}
  %o = attn.attention %q, %k, %v {masks = [#attn.prefix_lm<prefix = -1, align = top_left>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// The chunk size is > 0.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{chunked size must be > 0, got 0}}
  %o = attn.attention %q, %k, %v {masks = [#attn.chunked<size = 0, align = top_left>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.or has at least two members.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{or needs at least two mask members, got 1}}
  %o = attn.attention %q, %k, %v {masks = [#attn.or<[#attn.causal<top_left>]>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.or members are masks.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{or members must be mask attributes, got #attn.alibi}}
  %o = attn.attention %q, %k, %v {masks = [#attn.or<[#attn.causal<top_left>, #attn.alibi]>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.document needs document ids.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.document mask needs the doc_ids_q operand}}
  %o = attn.attention %q, %k, %v {masks = [#attn.document]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Document ids need #attn.document.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %d: tensor<1x64xi32>) {
  // expected-error @+1 {{doc_ids_q is given but no #attn.document mask uses it}}
  %o = attn.attention %q, %k, %v doc_ids_q(%d : tensor<1x64xi32>) doc_ids_kv(%d : tensor<1x64xi32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Document ids are integers.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %d: tensor<1x64xf32>) {
  // expected-error @+1 {{doc_ids_q must hold integer document ids, got 'f32'}}
  %o = attn.attention %q, %k, %v doc_ids_q(%d : tensor<1x64xf32>) doc_ids_kv(%d : tensor<1x64xf32>) {masks = [#attn.document]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Document ids are [B, S].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %d: tensor<1x64xi32>, %e: tensor<1x32xi32>) {
  // expected-error @+1 {{doc_ids_kv dimension 1 (Sk) must be 64 to match [B, Sk], got 32}}
  %o = attn.attention %q, %k, %v doc_ids_q(%d : tensor<1x64xi32>) doc_ids_kv(%e : tensor<1x32xi32>) {masks = [#attn.document]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.custom_mask needs the custom_mask operand.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.custom_mask mask needs the custom_mask operand}}
  %o = attn.attention %q, %k, %v {masks = [#attn.custom_mask]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// The custom mask needs #attn.custom_mask.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %m: tensor<1x1x64x64xi1>) {
  // expected-error @+1 {{custom_mask is given but no #attn.custom_mask mask uses it}}
  %o = attn.attention %q, %k, %v custom_mask(%m : tensor<1x1x64x64xi1>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// The custom mask is i1 or packed i8.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %m: tensor<1x1x64x64xf32>) {
  // expected-error @+1 {{custom_mask must hold i1 (one per pair) or i8 (packed bits) elements, got 'f32'}}
  %o = attn.attention %q, %k, %v custom_mask(%m : tensor<1x1x64x64xf32>) {masks = [#attn.custom_mask]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// A dense custom mask is [B|1, Hq|1, Sq, Sk].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %m: tensor<1x2x64x64xi1>) {
  // expected-error @+1 {{custom_mask dimension 1 (Hq) must be 1 or 4 to match [B|1, Hq|1, Sq, Sk], got 2}}
  %o = attn.attention %q, %k, %v custom_mask(%m : tensor<1x2x64x64xi1>) {masks = [#attn.custom_mask]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// A packed custom mask has ceil(Sk/8) bytes per row.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %m: tensor<1x1x64x64xi8>) {
  // expected-error @+1 {{custom_mask dimension 3 (ceil(Sk/8)) must be 8 to match [B|1, Hq|1, Sq, ceil(Sk/8)], got 64}}
  %o = attn.attention %q, %k, %v custom_mask(%m : tensor<1x1x64x64xi8>) {masks = [#attn.custom_mask]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// A varlen custom mask is flattened (rank 1).
func.func @f(%q: tensor<64x4x64xf16>, %k: tensor<64x4x64xf16>, %v: tensor<64x4x64xf16>, %c: tensor<3xi32>, %m: tensor<64x64xi1>) {
  // expected-error @+1 {{custom_mask must have rank 1 [sum(q_len*k_len)], got 'tensor<64x64xi1>'}}
  %o = attn.attention %q, %k, %v cu_seqlens_q(%c : tensor<3xi32>) cu_seqlens_k(%c : tensor<3xi32>) custom_mask(%m : tensor<64x64xi1>) {masks = [#attn.custom_mask]} : tensor<64x4x64xf16>, tensor<64x4x64xf16>, tensor<64x4x64xf16> -> tensor<64x4x64xf16>
  return
}

// -----

// score_mods hold score modifications only.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{score_mods elements must be score modification attributes (#attn.softcap, #attn.alibi, #attn.bias, #attn.score_mod), got #attn.causal<top_left>}}
  %o = attn.attention %q, %k, %v {score_mods = [#attn.causal<top_left>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// The softcap is positive.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{softcap cap must be a finite number > 0, got 0}}
  %o = attn.attention %q, %k, %v {score_mods = [#attn.softcap<0.0>]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.alibi needs slopes.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.alibi score_mod needs the alibi_slopes operand}}
  %o = attn.attention %q, %k, %v {score_mods = [#attn.alibi]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Slopes need #attn.alibi.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %s: tensor<4xf32>) {
  // expected-error @+1 {{alibi_slopes is given but no #attn.alibi score_mod uses it}}
  %o = attn.attention %q, %k, %v alibi_slopes(%s : tensor<4xf32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Slopes are f32.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %s: tensor<4xf16>) {
  // expected-error @+1 {{alibi_slopes must hold f32 elements, got 'f16'}}
  %o = attn.attention %q, %k, %v alibi_slopes(%s : tensor<4xf16>) {score_mods = [#attn.alibi]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Slopes are [Hq].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %s: tensor<8xf32>) {
  // expected-error @+1 {{alibi_slopes dimension 0 (Hq) must be 4 to match [Hq], got 8}}
  %o = attn.attention %q, %k, %v alibi_slopes(%s : tensor<8xf32>) {score_mods = [#attn.alibi]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Batched slopes are [B, Hq].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %s: tensor<2x4xf32>) {
  // expected-error @+1 {{alibi_slopes dimension 0 (B) must be 1 to match [B, Hq], got 2}}
  %o = attn.attention %q, %k, %v alibi_slopes(%s : tensor<2x4xf32>) {score_mods = [#attn.alibi]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.bias needs the bias operand.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.bias score_mod needs the bias operand}}
  %o = attn.attention %q, %k, %v {score_mods = [#attn.bias]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// The bias is a float tensor.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %b: tensor<1x1x64x64xi32>) {
  // expected-error @+1 {{bias must hold f16, bf16 or f32 elements, got 'i32'}}
  %o = attn.attention %q, %k, %v bias(%b : tensor<1x1x64x64xi32>) {score_mods = [#attn.bias]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// The bias is [B|1, Hq|1, Sq, Sk].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %b: tensor<1x1x64x32xf32>) {
  // expected-error @+1 {{bias dimension 3 (Sk) must be 64 to match [B|1, Hq|1, Sq, Sk], got 32}}
  %o = attn.attention %q, %k, %v bias(%b : tensor<1x1x64x32xf32>) {score_mods = [#attn.bias]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.mask_mod needs a region.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.mask_mod mask needs a mask_mod region}}
  %o = attn.attention %q, %k, %v {masks = [#attn.mask_mod]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// A mask_mod region needs #attn.mask_mod.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{mask_mod region is given but no #attn.mask_mod mask uses it}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return
}

// -----

// mask_mod takes (b, h, q_idx, kv_idx).
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{mask_mod region must take (b, h, q_idx, kv_idx : index), got 2 argument(s)}}
  %o = attn.attention %q, %k, %v {masks = [#attn.mask_mod]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16> mask_mod {
  ^bb0(%i: index, %j: index):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return
}

// -----

// mask_mod yields i1.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{mask_mod region must yield 'i1', got 'f32'}}
  %o = attn.attention %q, %k, %v {masks = [#attn.mask_mod]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %t = arith.constant 1.0 : f32
    attn.yield %t : f32
  }
  return
}

// -----

// #attn.score_mod needs a region.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.score_mod needs a score_mod region}}
  %o = attn.attention %q, %k, %v {score_mods = [#attn.score_mod]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// score_mod takes (score, b, h, q_idx, kv_idx).
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{score_mod region must take (score : f32, b, h, q_idx, kv_idx : index), got 1 argument(s)}}
  %o = attn.attention %q, %k, %v {score_mods = [#attn.score_mod]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16> score_mod {
  ^bb0(%s: f32):
    attn.yield %s : f32
  }
  return
}

// -----

// score_mod yields f32.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{score_mod region must yield 'f32', got 'i32'}}
  %o = attn.attention %q, %k, %v {score_mods = [#attn.score_mod]} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16> score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 1 : i32
    attn.yield %c : i32
  }
  return
}

// -----

// Block sizes are > 0.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{block_sparse block sizes must be > 0, got q_block = 0, kv_block = 16}}
  %o = attn.attention %q, %k, %v {block_sparse = #attn.block_sparse<q_block = 0, kv_block = 16>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.block_sparse needs kv_num_blocks.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.block_sparse attribute needs the kv_num_blocks operand}}
  %o = attn.attention %q, %k, %v {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 16>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Block operands need #attn.block_sparse.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %n: tensor<1x4x2xi32>, %i: tensor<1x4x2x4xi32>) {
  // expected-error @+1 {{kv_num_blocks is given but no #attn.block_sparse attribute uses it}}
  %o = attn.attention %q, %k, %v kv_num_blocks(%n : tensor<1x4x2xi32>) kv_indices(%i : tensor<1x4x2x4xi32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Block counts and indices are i32.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %n: tensor<1x4x2xi64>, %i: tensor<1x4x2x4xi32>) {
  // expected-error @+1 {{kv_num_blocks must hold i32 elements, got 'i64'}}
  %o = attn.attention %q, %k, %v kv_num_blocks(%n : tensor<1x4x2xi64>) kv_indices(%i : tensor<1x4x2x4xi32>) {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 16>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// kv_num_blocks is [B|1, Hq|1, ceil(Sq/q_block)].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %n: tensor<1x4x3xi32>, %i: tensor<1x4x2x4xi32>) {
  // expected-error @+1 {{kv_num_blocks dimension 2 (ceil(Sq/q_block)) must be 2 to match [B|1, Hq|1, ceil(Sq/q_block)], got 3}}
  %o = attn.attention %q, %k, %v kv_num_blocks(%n : tensor<1x4x3xi32>) kv_indices(%i : tensor<1x4x2x4xi32>) {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 16>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// kv_indices has ceil(Sk/kv_block) columns.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %n: tensor<1x4x2xi32>, %i: tensor<1x4x2x2xi32>) {
  // expected-error @+1 {{kv_indices dimension 3 (ceil(Sk/kv_block)) must be 4 to match [B|1, Hq|1, ceil(Sq/q_block), ceil(Sk/kv_block)], got 2}}
  %o = attn.attention %q, %k, %v kv_num_blocks(%n : tensor<1x4x2xi32>) kv_indices(%i : tensor<1x4x2x2xi32>) {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 16>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Full-block operands come in pairs.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %n: tensor<1x4x2xi32>, %i: tensor<1x4x2x4xi32>) {
  // expected-error @+1 {{full_kv_num_blocks and full_kv_indices must be given together}}
  %o = attn.attention %q, %k, %v kv_num_blocks(%n : tensor<1x4x2xi32>) kv_indices(%i : tensor<1x4x2x4xi32>) full_kv_num_blocks(%n : tensor<1x4x2xi32>) {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 16>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// With block sparsity, the sparse-softmax key blocks are the block mask's.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %n: tensor<1x4x2xi32>, %i: tensor<1x4x2x4xi32>) {
  // expected-error @+1 {{sparse_softmax kv_block (32) must equal block_sparse kv_block (16): both define the key blocks that are visited}}
  %o = attn.attention %q, %k, %v kv_num_blocks(%n : tensor<1x4x2xi32>) kv_indices(%i : tensor<1x4x2x4xi32>) {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 16>, sparse_softmax = #attn.sparse_softmax<kv_block = 32>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// sparse_softmax threshold lies in [0, 1).
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{sparse_softmax threshold must be in [0, 1), got 1.5}}
  %o = attn.attention %q, %k, %v {sparse_softmax = #attn.sparse_softmax<threshold = 1.5>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// sparse_softmax blocks are > 0.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{sparse_softmax kv_block must be > 0, got 0}}
  %o = attn.attention %q, %k, %v {sparse_softmax = #attn.sparse_softmax<kv_block = 0>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// An adaptive gate needs a threshold.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{gate adaptive = true needs a threshold to adapt}}
  %o = attn.attention %q, %k, %v {gate = #attn.gate<kind = linear, adaptive = true>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// #attn.gate needs alpha.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{#attn.gate attribute needs the gate_alpha operand}}
  %o = attn.attention %q, %k, %v {gate = #attn.gate<kind = linear>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Gate operands need #attn.gate.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %a: tensor<1x4x64xf32>, %d: tensor<1x4x64xf32>) {
  // expected-error @+1 {{gate_alpha is given but no #attn.gate attribute uses it}}
  %o = attn.attention %q, %k, %v gate_alpha(%a : tensor<1x4x64xf32>) gate_delta(%d : tensor<1x4x64xf32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// alpha is [B, Hq, Sq].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %a: tensor<1x64x4xf32>, %d: tensor<1x4x64xf32>) {
  // expected-error @+1 {{gate_alpha dimension 1 (Hq) must be 4 to match [B, Hq, Sq], got 64}}
  %o = attn.attention %q, %k, %v gate_alpha(%a : tensor<1x64x4xf32>) gate_delta(%d : tensor<1x4x64xf32>) {gate = #attn.gate<kind = linear>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// delta is [B, Hkv, Sk] and floating point.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %a: tensor<1x4x64xf32>, %d: tensor<1x4x64xi8>) {
  // expected-error @+1 {{gate_delta must hold f16, bf16 or f32 elements, got 'i8'}}
  %o = attn.attention %q, %k, %v gate_alpha(%a : tensor<1x4x64xf32>) gate_delta(%d : tensor<1x4x64xi8>) {gate = #attn.gate<kind = linear>} : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Sinks are [Hq].
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %s: tensor<2xf32>) {
  // expected-error @+1 {{sinks dimension 0 (Hq) must be 4 to match [Hq], got 2}}
  %o = attn.attention %q, %k, %v sinks(%s : tensor<2xf32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// Sinks are floating point.
func.func @f(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf16>, %v: tensor<1x64x4x64xf16>, %s: tensor<4xi32>) {
  // expected-error @+1 {{sinks must hold f16, bf16 or f32 elements, got 'i32'}}
  %o = attn.attention %q, %k, %v sinks(%s : tensor<4xi32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// attn.yield lives in an attn.attention region.
func.func @f(%x: f32) {
  // expected-error @+1 {{'attn.yield' op expects parent op to be one of 'attn.attention, attn.block_mask, attn.tile_update'}}
  attn.yield %x : f32
  return
}

// -----

// Each warp owns 16 query rows: block_q = 16 x warps (/ kv_warps).
// expected-error @+1 {{lowering_config block_q must be 16 x warps / kv_warps (each warp owns 16 query rows), got block_q = 64, warps = 8, kv_warps = 1}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 8>} {
  return
}

// -----

// expected-error @+1 {{lowering_config block_k must be a positive multiple of 16, got 40}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 40, warps = 4>} {
  return
}

// -----

// Splitting the keys needs the decode strategy's merge kernel.
// expected-error @+1 {{lowering_config kv_splits > 1 needs the decode strategy (its merge kernel combines the splits)}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4, kv_splits = 8>} {
  return
}

// -----

// expected-error @+1 {{lowering_config kv_splits must be in [1, 1024], got 0}}
func.func @config() attributes {c = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 64, warps = 1, kv_splits = 0>} {
  return
}

// -----

// expected-error @+1 {{paged_kv page_size must be > 0, got 0}}
func.func @bad(%q: tensor<1x1x2x64xf16>) attributes {c = #attn.paged_kv<page_size = 0>} {
  return
}

// -----

// The page table operands need the attribute that says how to read them.
func.func @bad(%q: tensor<1x1x2x64xf16>, %k: tensor<1x16x2x64xf16>, %i: tensor<?xi32>) -> tensor<1x1x2x64xf16> {
  // expected-error @+1 {{kv_page_indptr is given but no #attn.paged_kv attribute uses it}}
  %o = attn.attention %q, %k, %k kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) : tensor<1x1x2x64xf16>, tensor<1x16x2x64xf16>, tensor<1x16x2x64xf16> -> tensor<1x1x2x64xf16>
  return %o : tensor<1x1x2x64xf16>
}

// -----

func.func @bad(%q: tensor<1x1x2x64xf16>, %k: tensor<5x16x2x64xf16>, %i: tensor<?xi32>) -> tensor<1x1x2x64xf16> {
  // expected-error @+1 {{#attn.paged_kv attribute needs the kv_last_page_len operand}}
  %o = attn.attention %q, %k, %k kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<1x1x2x64xf16>, tensor<5x16x2x64xf16>, tensor<5x16x2x64xf16> -> tensor<1x1x2x64xf16>
  return %o : tensor<1x1x2x64xf16>
}

// -----

// nhd pages hold page_size token slots in dimension 1.
func.func @bad(%q: tensor<1x1x2x64xf16>, %k: tensor<5x8x2x64xf16>, %i: tensor<?xi32>) -> tensor<1x1x2x64xf16> {
  // expected-error @+1 {{k dimension 1 (page_size) must be 16 (paged_kv page_size), got 8}}
  %o = attn.attention %q, %k, %k kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<1x1x2x64xf16>, tensor<5x8x2x64xf16>, tensor<5x8x2x64xf16> -> tensor<1x1x2x64xf16>
  return %o : tensor<1x1x2x64xf16>
}

// -----

func.func @bad(%q: tensor<1x1x2x64xf16>, %k: tensor<80x2x64xf16>, %i: tensor<?xi32>) -> tensor<1x1x2x64xf16> {
  // expected-error @+1 {{k must have rank 4 [pages, page_size, Hkv, D] (paged_kv nhd), got rank 3}}
  %o = attn.attention %q, %k, %k kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<1x1x2x64xf16>, tensor<80x2x64xf16>, tensor<80x2x64xf16> -> tensor<1x1x2x64xf16>
  return %o : tensor<1x1x2x64xf16>
}

// -----

// The page table places each sequence's keys: no cu_seqlens_k.
func.func @bad(%q: tensor<?x2x64xf16>, %k: tensor<5x16x2x64xf16>, %i: tensor<?xi32>) -> tensor<?x2x64xf16> {
  // expected-error @+1 {{cu_seqlens_k cannot be given with paged_kv: the page table (kv_page_indptr) places each sequence's keys}}
  %o = attn.attention %q, %k, %k cu_seqlens_q(%i : tensor<?xi32>) cu_seqlens_k(%i : tensor<?xi32>) kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<?x2x64xf16>, tensor<5x16x2x64xf16>, tensor<5x16x2x64xf16> -> tensor<?x2x64xf16>
  return %o : tensor<?x2x64xf16>
}

// -----

// kv_page_indptr has B + 1 entries (B = 3 from q).
func.func @bad(%q: tensor<3x1x2x64xf16>, %k: tensor<5x16x2x64xf16>, %p: tensor<3xi32>, %i: tensor<?xi32>) -> tensor<3x1x2x64xf16> {
  // expected-error @+1 {{kv_page_indptr dimension 0 (B+1) must be 4 to match [B+1], got 3}}
  %o = attn.attention %q, %k, %k kv_page_indptr(%p : tensor<3xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<3x1x2x64xf16>, tensor<5x16x2x64xf16>, tensor<5x16x2x64xf16> -> tensor<3x1x2x64xf16>
  return %o : tensor<3x1x2x64xf16>
}

// -----

func.func @bad(%q: tensor<1x1x2x64xf16>, %k: tensor<5x16x2x64xf16>, %i: tensor<?xi32>, %u: tensor<1xi32>) -> tensor<1x1x2x64xf16> {
  // expected-error @+1 {{seqused_k (kv_last_page_len gives each sequence's length) cannot be combined with paged_kv yet}}
  %o = attn.attention %q, %k, %k seqused_k(%u : tensor<1xi32>) kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<1x1x2x64xf16>, tensor<5x16x2x64xf16>, tensor<5x16x2x64xf16> -> tensor<1x1x2x64xf16>
  return %o : tensor<1x1x2x64xf16>
}

// -----

func.func @bad(%q: tensor<1x1x2x64xf16>, %k: tensor<5x16x2x64xf16>, %v: tensor<4x16x2x64xf16>, %i: tensor<?xi32>) -> tensor<1x1x2x64xf16> {
  // expected-error @+1 {{v must have as many pages as k (5), got 4}}
  %o = attn.attention %q, %k, %v kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<1x1x2x64xf16>, tensor<5x16x2x64xf16>, tensor<4x16x2x64xf16> -> tensor<1x1x2x64xf16>
  return %o : tensor<1x1x2x64xf16>
}

// -----

// expected-error @+1 {{lowering_config stages must be in [2, 8], got 1}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4, stages = 1>} {
  return
}

// -----

// A dense custom mask is [B, H, Sq, Sk]; with a paged cache each sequence
// has its own key count, so only the flat (ragged-query) form applies.
func.func @bad(%q: tensor<1x1x2x64xf16>, %k: tensor<5x16x2x64xf16>, %i: tensor<?xi32>, %m: tensor<1x1x1x?xi1>) -> tensor<1x1x2x64xf16> {
  // expected-error @+1 {{a dense custom_mask (with ragged queries, the flat one works) cannot be combined with paged_kv yet}}
  %o = attn.attention %q, %k, %k custom_mask(%m : tensor<1x1x1x?xi1>) kv_page_indptr(%i : tensor<?xi32>) kv_page_indices(%i : tensor<?xi32>) kv_last_page_len(%i : tensor<?xi32>) {masks = [#attn.custom_mask], paged_kv = #attn.paged_kv<page_size = 16>} : tensor<1x1x2x64xf16>, tensor<5x16x2x64xf16>, tensor<5x16x2x64xf16> -> tensor<1x1x2x64xf16>
  return %o : tensor<1x1x2x64xf16>
}

// -----

// wgmma works on whole warpgroups: 4 warps (64 rows) at a time.
// expected-error @+1 {{lowering_config strategy sm90a needs whole warpgroups (warps a multiple of 4, block_q a multiple of 64), got warps = 2}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm90a, block_q = 32, block_k = 64, warps = 2>} {
  return
}

// -----

// A producer warpgroup gives its registers to the consumers with setmaxnreg,
// which works on whole warpgroups: 4 warps or none.
// expected-error @+1 {{lowering_config producer_warps must be 0, or 4 (one producer warpgroup) with strategy sm90a, got 2 with strategy sm90a}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, producer_warps = 2>} {
  return
}

// -----

// Only the sm90a strategy has a producer warpgroup.
// expected-error @+1 {{lowering_config producer_warps must be 0, or 4 (one producer warpgroup) with strategy sm90a, got 4 with strategy sm80}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4, producer_warps = 4>} {
  return
}

// -----

// kv_warps warps share each query row, each over block_k / kv_warps keys of
// a tile: 16 rows over 2 kv warps are 2 warps, not 1.
// expected-error @+1 {{lowering_config block_q must be 16 x warps / kv_warps (each warp owns 16 query rows), got block_q = 16, warps = 1, kv_warps = 2}}
func.func @config() attributes {c = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 32, warps = 1, kv_warps = 2>} {
  return
}

// -----

// expected-error @+1 {{lowering_config kv_warps must be 1, 2 or 4, got 3}}
func.func @config() attributes {c = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 48, warps = 3, kv_warps = 3>} {
  return
}

// -----

// Each kv warp takes whole 16-key steps of P V: 32 keys over 4 kv warps
// would give each 8.
// expected-error @+1 {{lowering_config kv_warps > 1 needs the decode strategy and block_k a multiple of 16 x kv_warps, got kv_warps = 4, block_k = 32 with strategy decode}}
func.func @config() attributes {c = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 32, warps = 4, kv_warps = 4>} {
  return
}

// -----

// Only the decode strategy merges the states of kv warps.
// expected-error @+1 {{lowering_config kv_warps > 1 needs the decode strategy and block_k a multiple of 16 x kv_warps, got kv_warps = 2, block_k = 64 with strategy sm80}}
func.func @config() attributes {c = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 8, kv_warps = 2>} {
  return
}

// -----

// RoPE's frequencies are theta^(-2d/D) / scale: theta must be positive.
// expected-error @+1 {{rope theta must be a finite number > 0, got 0}}
func.func @rope() attributes {r = #attn.rope<theta = 0.0, scale = 1.0, align = bottom_right>} {
  return
}

// -----

// A scale of 0 would divide every frequency by zero.
// expected-error @+1 {{rope scale must be a finite number > 0, got -2}}
func.func @rope() attributes {r = #attn.rope<theta = 1.0e4, scale = -2.0, align = top_left>} {
  return
}

// -----

// An fp8 KV cache holds both k and v in f8E4M3FN.
func.func @fp8(%q: tensor<1x64x4x64xf16>, %k: tensor<1x64x4x64xf8E4M3FN>, %v: tensor<1x64x4x64xf16>) {
  // expected-error @+1 {{k and v must both hold f8E4M3FN (an fp8 KV cache), got 'f8E4M3FN' and 'f16'}}
  %o = attn.attention %q, %k, %v : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf8E4M3FN>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// fp8 K/V are dequantized to q's f16/bf16 (the GPU's tensor-core type).
func.func @fp8(%q: tensor<1x64x4x64xf32>, %k: tensor<1x64x4x64xf8E4M3FN>) {
  // expected-error @+1 {{f8E4M3FN k/v need f16 or bf16 q, got 'f32'}}
  %o = attn.attention %q, %k, %k : tensor<1x64x4x64xf32>, tensor<1x64x4x64xf8E4M3FN>, tensor<1x64x4x64xf8E4M3FN> -> tensor<1x64x4x64xf32>
  return
}

// -----

// k_scale dequantizes fp8 values; f16 keys have nothing to dequantize.
func.func @scale(%q: tensor<1x64x4x64xf16>, %s: tensor<1xf32>) {
  // expected-error @+1 {{k_scale dequantizes an fp8 KV cache: it needs f8E4M3FN k/v, got 'f16'}}
  %o = attn.attention %q, %q, %q k_scale(%s : tensor<1xf32>) : tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16>, tensor<1x64x4x64xf16> -> tensor<1x64x4x64xf16>
  return
}

// -----

// A scale is one f32 value, passed as a [1] tensor.
func.func @scale(%q: tensor<1x64x4x64xbf16>, %k: tensor<1x64x4x64xf8E4M3FN>, %s: tensor<2xf32>) {
  // expected-error @+1 {{v_scale must be an f32 tensor of shape [1], got 'tensor<2xf32>'}}
  %o = attn.attention %q, %k, %k v_scale(%s : tensor<2xf32>) : tensor<1x64x4x64xbf16>, tensor<1x64x4x64xf8E4M3FN>, tensor<1x64x4x64xf8E4M3FN> -> tensor<1x64x4x64xbf16>
  return
}

// -----

// attn.block_mask: document ids are an operand of attn.attention; a block
// mask reads its own captures in the mask_mod region.
func.func @block_mask_document(%l: index) {
  // expected-error @+1 {{'attn.block_mask' op #attn.document reads an operand of attn.attention; attn.block_mask takes closed-form masks and #attn.mask_mod (capture document ids in the mask_mod region)}}
  %n, %i, %fn, %fi = attn.block_mask %l, %l {masks = [#attn.or<[#attn.causal<top_left>, #attn.document]>], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  return
}

// -----

// attn.block_mask: the counts are [B, H, NQ].
func.func @block_mask_rank(%l: index) {
  // expected-error @+1 {{'attn.block_mask' op kv_num_blocks must have rank 3 [B, H, NQ], got 'tensor<1x?xi32>'}}
  %n, %i, %fn, %fi = attn.block_mask %l, %l {blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  return
}

// -----

// attn.block_mask: FlexAttention's lists are int32.
func.func @block_mask_type(%l: index) {
  // expected-error @+1 {{'attn.block_mask' op full_kv_indices must hold i32 elements, got 'i64'}}
  %n, %i, %fn, %fi = attn.block_mask %l, %l {blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi64>
  return
}

// -----

// attn.block_mask: the four lists share B, H and NQ; the indices NK.
func.func @block_mask_sizes(%l: index) {
  // expected-error @+1 {{'attn.block_mask' op full_kv_indices dimension 3 (NK) is 16 but kv_indices's is 32}}
  %n, %i, %fn, %fi = attn.block_mask %l, %l {blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<2x1x8xi32>, tensor<2x1x8x32xi32>, tensor<2x1x8xi32>, tensor<2x1x8x16xi32>
  return
}

// -----

// attn.block_mask: an #attn.mask_mod atom needs the region.
func.func @block_mask_region(%l: index) {
  // expected-error @+1 {{'attn.block_mask' op #attn.mask_mod mask needs a mask_mod region}}
  %n, %i, %fn, %fi = attn.block_mask %l, %l {masks = [#attn.mask_mod], blocks = #attn.block_sparse<q_block = 64, kv_block = 64>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  return
}
