//===- AttnOps.td - attn operations ------------------------*- tablegen -*-===//

#ifndef ATTN_IR_ATTNOPS_TD
#define ATTN_IR_ATTNOPS_TD

include "attn/IR/AttnAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

def Attn_AttentionOp : Attn_Op<"attention", [
    AttrSizedOperandSegments, RecursiveMemoryEffects]> {
  let summary = "softmax(mods(scale * Q K^T) + masks) V, optionally with lse";
  let description = [{
    Scaled-dot-product attention with every mask, score modification and
    sparsity pattern stated in the IR.

    **Shapes.** With the default `layout = bshd`, q is [B, Sq, Hq, D], k is
    [B, Sk, Hkv, D], v is [B, Sk, Hkv, Dv] and out is [B, Sq, Hq, Dv]; with
    `bhsd` the head and sequence dimensions swap. With `cu_seqlens_q` /
    `cu_seqlens_k` (varlen), the batch is packed: q is [Tq, Hq, D], k is
    [Tk, Hkv, D], v is [Tk, Hkv, Dv], out is [Tq, Hq, Dv], and sequence b
    occupies rows cu_seqlens[b] .. cu_seqlens[b+1]. B and the sequence
    lengths may be dynamic; D and Dv are static multiples of 8 in [8, 256].
    Hq must be a multiple of Hkv (GQA/MQA): query head h reads kv head
    h / (Hq / Hkv). q, k, v share one element type (f16, bf16 or f32); out
    has it too. Or k and v hold `f8E4M3FN` (an fp8 KV cache) under f16 or
    bf16 q: each element is dequantized as k_scale * k (v_scale * v) with
    the optional `k_scale` / `v_scale` operands (f32 [1], 1 when absent),
    exactly in f32 on the CPU, rounded to q's type in the GPU kernels. The optional `lse` result is f32 [B, Hq, Sq] ([Hq, Tq] for
    varlen).

    **Math.** For batch b, query head h, query row i and key j (indices
    within the sequence):

        s_ij  = mods(scale * <q_i, k_j>)            scale defaults to 1/sqrt(D)
        keep_ij = AND over `masks` (and block-sparse, varlen, gate rules)
        m_i   = max over kept j of s_ij
        l_i   = sum over kept j of exp(s_ij - m_i) + exp(sink_h - m_i)
        out_i = sum over kept j of exp(s_ij - m_i) / l_i * v_j
        lse_i = m_i + ln(l_i)

    `mods` applies the `score_mods` array in order (softcap, ALiBi, bias,
    the `score_mod` region). With `rope` (`#attn.rope`), q_i and k_j are
    first rotated by their positions. With sinks, m_i also takes sink_h into account
    and the sink adds weight to the denominator only. A row with no kept key
    (and no sink) gives out_i = 0 and lse_i = -inf, never NaN. Rows and
    keys past `seqused_q[b]` / `seqused_k[b]` (dense or varlen; each value
    clamped into [0, the sequence's length]) are not attended: those keys
    are never read, so padding may hold anything (NaN included), and `out`
    rows past seqused_q are 0 (lse -inf, or the sink).

    **Varlen offsets.** `cu_seqlens_q/k` must start at 0, not decrease and
    end at Tq / Tk. Whatever they hold, each offset is clamped into [0, T]
    and each length to >= 0, so no value makes the kernel read or write
    outside q/k/v/out; rows that no sequence covers are then not written
    (the Python package allocates them as 0 / -inf).

    **Operand shapes** (dense / varlen):
    - `doc_ids_q`: [B, Sq] / [Tq], `doc_ids_kv`: [B, Sk] / [Tk], integers.
    - `custom_mask`: i1 [B|1, Hq|1, Sq, Sk], or i8 packed bits
      [B|1, Hq|1, Sq, ceil(Sk/8)]; varlen: rank 1, each sequence's
      [q_len, k_len] matrix flattened row-major after the previous one (i8:
      each sequence packed from a fresh byte).
    - `alibi_slopes`: f32 [Hq] or [B, Hq].
    - `bias`: float [B|1, Hq|1, Sq, Sk] (dense only).
    - `kv_num_blocks` / `full_kv_num_blocks`: i32 [B|1, Hq|1, ceil(Sq/q_block)],
      `kv_indices` / `full_kv_indices`: i32 [..., ceil(Sk/kv_block)] (dense only).
    - `sinks`: float [Hq].
    - `gate_alpha`: float [B, Hq, Sq] / [Hq, Tq], `gate_delta`: float
      [B, Hkv, Sk] / [Hkv, Tk].
    - `cu_seqlens_q`, `cu_seqlens_k`: i32 [B + 1]; `seqused_q`,
      `seqused_k`: i32 [B].
    - `k_scale`, `v_scale`: f32 [1], only with f8E4M3FN k/v.

    **Regions.** `mask_mod` takes (b, h, i, j : index) and yields i1;
    `score_mod` takes (s : f32, b, h, i, j : index) and yields f32. Both may
    use values defined above the op (captured tensors such as ALiBi slopes
    or document ids, read with `tensor.extract`). A read of a captured
    tensor outside its bounds (a negative index, or one >= the dimension)
    reads nothing and yields 0 (false for i1): FlexAttention code indexes
    per-token tensors with q_idx / kv_idx, and a tensor shorter than the
    sequence must neither crash nor read stray memory.

    Example:

    ```mlir
    %out, %lse = attn.attention %q, %k, %v
        {masks = [#attn.causal<bottom_right>], score_mods = [#attn.softcap<30.0>]}
        : tensor<2x?x16x128xbf16>, tensor<2x?x4x128xbf16>, tensor<2x?x4x128xbf16>
        -> tensor<2x?x16x128xbf16>, tensor<2x16x?xf32>
    ```
  }];

  let arguments = (ins
    AnyRankedTensor:$q, AnyRankedTensor:$k, AnyRankedTensor:$v,
    Optional<AnyRankedTensor>:$cu_seqlens_q,
    Optional<AnyRankedTensor>:$cu_seqlens_k,
    Optional<AnyRankedTensor>:$seqused_q,
    Optional<AnyRankedTensor>:$seqused_k,
    Optional<AnyRankedTensor>:$doc_ids_q,
    Optional<AnyRankedTensor>:$doc_ids_kv,
    Optional<AnyRankedTensor>:$custom_mask,
    Optional<AnyRankedTensor>:$alibi_slopes,
    Optional<AnyRankedTensor>:$bias,
    Optional<AnyRankedTensor>:$kv_num_blocks,
    Optional<AnyRankedTensor>:$kv_indices,
    Optional<AnyRankedTensor>:$full_kv_num_blocks,
    Optional<AnyRankedTensor>:$full_kv_indices,
    Optional<AnyRankedTensor>:$sinks,
    Optional<AnyRankedTensor>:$gate_alpha,
    Optional<AnyRankedTensor>:$gate_delta,
    Optional<AnyRankedTensor>:$kv_page_indptr,
    Optional<AnyRankedTensor>:$kv_page_indices,
    Optional<AnyRankedTensor>:$kv_last_page_len,
    Optional<AnyRankedTensor>:$k_scale,
    Optional<AnyRankedTensor>:$v_scale,
    DefaultValuedAttr<Attn_LayoutAttr, "::mlir::attn::Layout::bshd">:$layout,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<ArrayAttr>:$masks,
    OptionalAttr<ArrayAttr>:$score_mods,
    OptionalAttr<Attn_BlockSparseAttr>:$block_sparse,
    OptionalAttr<Attn_SparseSoftmaxAttr>:$sparse_softmax,
    OptionalAttr<Attn_GateAttr>:$gate,
    OptionalAttr<Attn_PagedKvAttr>:$paged_kv,
    OptionalAttr<Attn_RopeAttr>:$rope
  );
  let results = (outs AnyRankedTensor:$out, Optional<AnyRankedTensor>:$lse);
  let regions = (region AnyRegion:$mask_mod, AnyRegion:$score_mod);

  let assemblyFormat = [{
    $q `,` $k `,` $v
    (`cu_seqlens_q` `(` $cu_seqlens_q^ `:` type($cu_seqlens_q) `)`)?
    (`cu_seqlens_k` `(` $cu_seqlens_k^ `:` type($cu_seqlens_k) `)`)?
    (`seqused_q` `(` $seqused_q^ `:` type($seqused_q) `)`)?
    (`seqused_k` `(` $seqused_k^ `:` type($seqused_k) `)`)?
    (`doc_ids_q` `(` $doc_ids_q^ `:` type($doc_ids_q) `)`)?
    (`doc_ids_kv` `(` $doc_ids_kv^ `:` type($doc_ids_kv) `)`)?
    (`custom_mask` `(` $custom_mask^ `:` type($custom_mask) `)`)?
    (`alibi_slopes` `(` $alibi_slopes^ `:` type($alibi_slopes) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`kv_num_blocks` `(` $kv_num_blocks^ `:` type($kv_num_blocks) `)`)?
    (`kv_indices` `(` $kv_indices^ `:` type($kv_indices) `)`)?
    (`full_kv_num_blocks` `(` $full_kv_num_blocks^ `:` type($full_kv_num_blocks) `)`)?
    (`full_kv_indices` `(` $full_kv_indices^ `:` type($full_kv_indices) `)`)?
    (`sinks` `(` $sinks^ `:` type($sinks) `)`)?
    (`gate_alpha` `(` $gate_alpha^ `:` type($gate_alpha) `)`)?
    (`gate_delta` `(` $gate_delta^ `:` type($gate_delta) `)`)?
    (`kv_page_indptr` `(` $kv_page_indptr^ `:` type($kv_page_indptr) `)`)?
    (`kv_page_indices` `(` $kv_page_indices^ `:` type($kv_page_indices) `)`)?
    (`kv_last_page_len` `(` $kv_last_page_len^ `:` type($kv_last_page_len) `)`)?
    (`k_scale` `(` $k_scale^ `:` type($k_scale) `)`)?
    (`v_scale` `(` $v_scale^ `:` type($v_scale) `)`)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `->` type(results)
    (`mask_mod` $mask_mod^)?
    (`score_mod` $score_mod^)?
  }];

  let hasVerifier = 1;
  let hasRegionVerifier = 1;

  let extraClassDeclaration = [{
    /// Whether q (and, without a paged cache, k/v) are packed sequences
    /// described by cu_seqlens.
    bool isVarlen() { return getCuSeqlensQ() != nullptr; }
    /// Whether K/V are pages of a paged cache (#attn.paged_kv).
    bool isPagedKv() { return getPagedKvAttr() != nullptr; }
    /// Whether K/V are an fp8 cache (f8E4M3FN, dequantized by k_scale /
    /// v_scale).
    bool hasFp8Kv() {
      return ::llvm::isa<::mlir::Float8E4M3FNType>(
          getK().getType().getElementType());
    }
    /// The problem sizes read off q/k/v (ShapedType::kDynamic where unknown).
    ProblemShape getProblemShape();
    /// The softmax scale: the `scale` attribute or 1/sqrt(head_dim).
    double getEffectiveScale();
    /// Every operand with its name in the op's syntax ("q", "cu_seqlens_q",
    /// ...), in operand order.
    ::llvm::SmallVector<std::pair<::llvm::StringRef, ::mlir::Value>>
    getNamedOperands();
  }];
}

def Attn_BlockMaskOp : Attn_Op<"block_mask", [RecursiveMemoryEffects]> {
  let summary = "FlexAttention's block lists of a mask: partial and full blocks";
  let description = [{
    Classifies the blocks of a `q_len x kv_len` attention matrix, cut into
    `q_block x kv_block` blocks (`blocks`), under the mask atoms `masks`
    (closed-form atoms and `#attn.mask_mod`, composed as in
    `attn.attention`; the mask_mod region takes (b, h, q_idx, kv_idx :
    index) and may read tensors captured from above). For batch b < B, head
    h < H, query block m < NQ and key block n < NK, over the pairs (i, j)
    of the block inside the matrix (i < q_len, j < kv_len):

        some(b, h, m, n)  = OR  over the pairs of keep(b, h, i, j)
        every(b, h, m, n) = AND over the pairs of keep(b, h, i, j)
        full    = a block with pairs and every(...)
        partial = some(...) and not full

    (a block past the matrix has no pairs: neither). The results are
    FlexAttention's BlockMask lists, what `attn.attention`'s
    `#attn.block_sparse` operands take:

        kv_num_blocks[b, h, m]         = #partial blocks of row m
        kv_indices[b, h, m, :]         = their n ascending, then the other
                                         n ascending (a permutation of NK)
        full_kv_num_blocks / full_kv_indices: the same for full blocks

    B and H are the results' leading dimensions: 1 where the mask does not
    depend on b / h (FlexAttention's B=None / H=None), b and h are then 0.
    Results are i32 [B, H, NQ] and [B, H, NQ, NK].

    Example (a document mask from a captured tensor of ids):

    ```mlir
    %num, %idx, %fnum, %fidx = attn.block_mask %q_len, %kv_len
        {masks = [#attn.causal<top_left>, #attn.mask_mod],
         blocks = #attn.block_sparse<q_block = 128, kv_block = 128>}
        : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>,
          tensor<1x1x?x?xi32>
      mask_mod {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %di = tensor.extract %docs[%i] : tensor<?xi32>
        %dj = tensor.extract %docs[%j] : tensor<?xi32>
        %same = arith.cmpi eq, %di, %dj : i32
        attn.yield %same : i1
      }
    ```
  }];

  let arguments = (ins Index:$q_len, Index:$kv_len,
                       OptionalAttr<ArrayAttr>:$masks,
                       Attn_BlockSparseAttr:$blocks);
  let results = (outs AnyRankedTensor:$kv_num_blocks,
                      AnyRankedTensor:$kv_indices,
                      AnyRankedTensor:$full_kv_num_blocks,
                      AnyRankedTensor:$full_kv_indices);
  let regions = (region AnyRegion:$mask_mod);

  let assemblyFormat = [{
    $q_len `,` $kv_len attr-dict `:` type(results) (`mask_mod` $mask_mod^)?
  }];

  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Attn_YieldOp : Attn_Op<"yield", [
    Pure, Terminator, ReturnLike,
    ParentOneOf<["AttentionOp", "BlockMaskOp", "TileUpdateOp"]>]> {
  let summary = "returns the values of an attn region";
  let description = [{
    Terminates `mask_mod` (one i1; of attn.attention or attn.block_mask),
    `score_mod` (one f32) and the
    `element` region of `attn.tile_update` (score f32, keep i1).
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

//===----------------------------------------------------------------------===//
// Tiled level: the online-softmax state of one query tile
//===----------------------------------------------------------------------===//

def Attn_SoftmaxInitOp : Attn_Op<"softmax_init"> {
  let summary = "m = lowest finite f32, l = 0, acc = 0";
  let description = [{
    Initializes the online-softmax state of one query tile: running maximum
    `m` [rows] (in log2 units) to the lowest finite f32 (never -inf, so that
    m - m' stays finite), running sum `l` [rows] and accumulator
    `acc` [rows, Dv] to 0.
  }];
  let arguments = (ins Arg<MemRefRankOf<[F32], [1]>, "", [MemWrite]>:$m,
                       Arg<MemRefRankOf<[F32], [1]>, "", [MemWrite]>:$l,
                       Arg<MemRefRankOf<[F32], [2]>, "", [MemWrite]>:$acc);
  let assemblyFormat = [{
    $m `,` $l `,` $acc attr-dict `:` type($m) `,` type($l) `,` type($acc)
  }];
}

def Attn_TileUpdateOp : Attn_Op<"tile_update", [RecursiveMemoryEffects]> {
  let summary = "fold one kv tile into the online-softmax state";
  let description = [{
    For every row r < rows(q) and key c < rows(k):

        s_rc        = scale * <q_r, k_c>
        (s_rc, keep) = element(s_rc, r, c)      (identity, true without region)
        t_rc        = s_rc * log2(e)
        m'_r        = max(m_r, max over kept c of t_rc)
        p_rc        = keep ? exp2(t_rc - m'_r) : 0
        l_r         = l_r * exp2(m_r - m'_r) + sum_c p_rc
        acc_r       = acc_r * exp2(m_r - m'_r) + sum_c p_rc * v_c
        m_r         = m'_r

    With `threshold` (sparse softmax), a row whose largest weight in this
    tile, exp2(max_c t_rc - m'_r), is below the threshold skips the tile.
    The `element` region receives (s : f32, r, c : index) and yields the
    modified score and whether the pair is kept: the tiling pass puts the
    score modifications, gates and (on partial tiles only) masks there.
  }];
  let arguments = (ins Arg<MemRefRankOf<[F16, BF16, F32], [2]>, "", [MemRead]>:$q,
                       Arg<MemRefRankOf<[F16, BF16, F32], [2]>, "", [MemRead]>:$k,
                       Arg<MemRefRankOf<[F16, BF16, F32], [2]>, "", [MemRead]>:$v,
                       Arg<MemRefRankOf<[F32], [1]>, "", [MemRead, MemWrite]>:$m,
                       Arg<MemRefRankOf<[F32], [1]>, "", [MemRead, MemWrite]>:$l,
                       Arg<MemRefRankOf<[F32], [2]>, "", [MemRead, MemWrite]>:$acc,
                       Optional<F32>:$threshold,
                       F32Attr:$scale);
  let regions = (region AnyRegion:$element);
  let assemblyFormat = [{
    $q `,` $k `,` $v `into` $m `,` $l `,` $acc
    (`threshold` `(` $threshold^ `)`)? attr-dict
    `:` type($q) `,` type($k) `,` type($v) `,` type($m) `,` type($l) `,`
        type($acc)
    (`element` $element^)?
  }];
  let hasRegionVerifier = 1;
}

def Attn_SoftmaxFinalizeOp : Attn_Op<"softmax_finalize", [
    AttrSizedOperandSegments]> {
  let summary = "out = acc / l, lse = (m + log2 l) ln 2";
  let description = [{
    Writes rows [0, rows(out)) of one query tile. With a `sink` logit
    (natural units), m' = max(m, sink * log2 e), l' = l * exp2(m - m') +
    exp2(sink * log2 e - m') and acc is rescaled by exp2(m - m'). Then
    out_r = acc_r / l_r, or 0 where l_r = 0 (nothing kept), and
    lse_r = (m_r + log2 l_r) * ln 2, or -inf where l_r = 0.
  }];
  let arguments = (ins Arg<MemRefRankOf<[F32], [1]>, "", [MemRead]>:$m,
                       Arg<MemRefRankOf<[F32], [1]>, "", [MemRead]>:$l,
                       Arg<MemRefRankOf<[F32], [2]>, "", [MemRead]>:$acc,
                       Arg<MemRefRankOf<[F16, BF16, F32], [2]>, "", [MemWrite]>:$out,
                       Arg<Optional<MemRefRankOf<[F32], [1]>>, "", [MemWrite]>:$lse,
                       Optional<F32>:$sink);
  let assemblyFormat = [{
    $m `,` $l `,` $acc `into` $out (`lse` `(` $lse^ `:` type($lse) `)`)?
    (`sink` `(` $sink^ `)`)? attr-dict
    `:` type($m) `,` type($l) `,` type($acc) `,` type($out)
  }];
  let hasVerifier = 1;
}

#endif // ATTN_IR_ATTNOPS_TD
