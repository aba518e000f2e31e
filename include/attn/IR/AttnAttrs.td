//===- AttnAttrs.td - attn attributes ----------------------*- tablegen -*-===//
//
// Enums, mask atoms, score modifications and sparsity descriptors of
// `attn.attention`. Index conventions used in every description below:
//   i  query index within its sequence,   0 <= i < Sq
//   j  key index within its sequence,     0 <= j < Sk
//   off = 0 for top-left alignment, Sk - Sq for bottom-right alignment
//         (the query row i then sits at absolute position i + off).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_IR_ATTNATTRS_TD
#define ATTN_IR_ATTNATTRS_TD

include "attn/IR/AttnDialect.td"
include "attn/IR/AttnInterfaces.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Attn_Layout : I32EnumAttr<"Layout", "memory layout of q/k/v/out", [
    I32EnumAttrCase<"bshd", 0>, I32EnumAttrCase<"bhsd", 1>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}
def Attn_LayoutAttr : EnumAttr<Attn_Dialect, Attn_Layout, "layout">;

def Attn_PagedLayout : I32EnumAttr<"PagedLayout",
    "layout of the pages of a paged KV cache", [
    I32EnumAttrCase<"nhd", 0>, I32EnumAttrCase<"hnd", 1>]> {
  let cppNamespace = "::mlir::attn";
}

def Attn_Alignment : I32EnumAttr<"Alignment",
    "where query row 0 sits against the keys when Sq != Sk", [
    I32EnumAttrCase<"top_left", 0>, I32EnumAttrCase<"bottom_right", 1>]> {
  let cppNamespace = "::mlir::attn";
}

def Attn_GateKind : I32EnumAttr<"GateKind", "gate function", [
    I32EnumAttrCase<"logsigmoid", 0>, I32EnumAttrCase<"linear", 1>]> {
  let cppNamespace = "::mlir::attn";
}

def Attn_GpuStrategy : I32EnumAttr<"GpuStrategy",
    "how a GPU kernel is built", [
    I32EnumAttrCase<"sm80", 0>, I32EnumAttrCase<"decode", 1>,
    I32EnumAttrCase<"sm90a", 2>]> {
  let cppNamespace = "::mlir::attn";
}

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

/// A real number written as a plain float literal (`30.0`), kept as an f64
/// FloatAttr so that it hashes and compares exactly.
class Attn_FloatParameter<string desc> :
    AttrOrTypeParameter<"::mlir::FloatAttr", desc> {
  let parser = "::mlir::attn::parseFloatParameter($_parser)";
  let printer = "::mlir::attn::printFloatParameter($_printer, $_self)";
}
class Attn_OptionalFloatParameter<string desc> : Attn_FloatParameter<desc> {
  let defaultValue = "::mlir::FloatAttr()";
}

/// A `true` / `false` keyword, default false.
class Attn_BoolParameter<string desc> : AttrOrTypeParameter<"bool", desc> {
  let parser = "::mlir::attn::parseBoolParameter($_parser)";
  let printer = "$_printer << ($_self ? \"true\" : \"false\")";
  let defaultValue = "false";
}

class Attn_Attr<string name, string mnemonicName, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = mnemonicName;
}

//===----------------------------------------------------------------------===//
// Mask atoms
//===----------------------------------------------------------------------===//

class Attn_MaskAttr<string name, string mnemonicName, bit analytic>
    : Attn_Attr<name, mnemonicName,
                [Attn_MaskAttrInterface]> {
  code extraAnalytic = !if(analytic, "true", "false");
  let extraClassDeclaration = [{
    bool isAnalytic() const { return }] # extraAnalytic # [{; }
  }];
}

def Attn_CausalAttr : Attn_MaskAttr<"Causal", "causal", 1> {
  let summary = "causal mask: keep j <= i + off";
  let description = [{
    `#attn.causal<top_left>` keeps key j for query i when j <= i (PyTorch
    SDPA's `is_causal`); `#attn.causal<bottom_right>` keeps j <= i + Sk - Sq,
    as FlashAttention 2+ does when Sq != Sk (the last query sees every key).
    With bottom-right alignment and Sq > Sk, rows i < Sq - Sk keep no key.
  }];
  let parameters = (ins EnumParameter<Attn_Alignment>:$align);
  let assemblyFormat = "`<` $align `>`";
}

def Attn_SlidingWindowAttr
    : Attn_MaskAttr<"SlidingWindow", "sliding_window", 1> {
  let summary = "local attention band: i + off - left <= j <= i + off + right";
  let description = [{
    Keeps key j for query i when `i + off - left <= j <= i + off + right`.
    An extent of -1 is unbounded on that side, so `left = -1, right = 0` is
    causal. This is flash_attn's `window_size = (left, right)` (bottom-right
    aligned) and FlashInfer's `window_left` (with `right = 0`).
  }];
  let parameters = (ins "int64_t":$left, "int64_t":$right,
                        EnumParameter<Attn_Alignment>:$align);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_PrefixLMAttr : Attn_MaskAttr<"PrefixLM", "prefix_lm", 1> {
  let summary = "prefix-LM: keep j < prefix, or j <= i + off";
  let description = [{
    Bidirectional attention over the first `prefix` keys and causal
    attention after them: keep j for query i when `j < prefix || j <= i + off`.
  }];
  let parameters = (ins "int64_t":$prefix,
                        EnumParameter<Attn_Alignment>:$align);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_ChunkedAttr : Attn_MaskAttr<"Chunked", "chunked", 1> {
  let summary = "chunked local attention: keep floor((i+off)/C) == floor(j/C)";
  let description = [{
    Splits positions into chunks of `size` tokens (Llama 4's chunked
    attention) and keeps key j for query i when both lie in the same chunk:
    `floor((i + off) / size) == floor(j / size)`. Compose with
    `#attn.causal` for the causal variant.
  }];
  let parameters = (ins "int64_t":$size, EnumParameter<Attn_Alignment>:$align);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_DocumentAttr : Attn_MaskAttr<"Document", "document", 0> {
  let summary = "document mask: keep doc_q[b, i] == doc_kv[b, j]";
  let description = [{
    Keeps key j for query i when both tokens belong to the same document,
    read from the `doc_ids_q` and `doc_ids_kv` operands (pass the same
    tensor twice for packed self-attention). Tile classification reads the
    document ids, so it is not analytic.
  }];
}

def Attn_CustomMaskAttr : Attn_MaskAttr<"CustomMask", "custom_mask", 0> {
  let summary = "mask given as a tensor operand (bool or packed bits)";
  let description = [{
    Keeps key j for query i where the `custom_mask` operand holds true.
    An `i1` operand holds one element per (i, j); an `i8` operand holds
    FlashInfer-style packed bits, little-endian within each byte: bit
    `j % 8` of byte `j / 8` of row i. See `attn.attention` for the shapes.
  }];
}

def Attn_MaskModAttr : Attn_MaskAttr<"MaskMod", "mask_mod", 0> {
  let summary = "mask given by the op's `mask_mod` region";
  let description = [{
    Keeps key j for query i where the op's `mask_mod` region, called with
    (b, h, i, j), yields true (FlexAttention's `mask_mod`).
  }];
}

def Attn_OrMaskAttr : Attn_MaskAttr<"OrMask", "or", 0> {
  let summary = "disjunction of mask atoms";
  let description = [{
    Keeps a key when at least one member keeps it, e.g.
    `#attn.or<[#attn.causal<top_left>, #attn.document]>`.
  }];
  let parameters = (ins "::mlir::ArrayAttr":$members);
  let assemblyFormat = "`<` $members `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Analytic when every member is.
    bool isAnalytic() const;
  }];
}

//===----------------------------------------------------------------------===//
// Score modifications
//===----------------------------------------------------------------------===//

class Attn_ScoreModAttr<string name, string mnemonicName>
    : Attn_Attr<name, mnemonicName, [Attn_ScoreModAttrInterface]>;

def Attn_SoftcapAttr : Attn_ScoreModAttr<"Softcap", "softcap"> {
  let summary = "logit soft-capping: s' = cap * tanh(s / cap)";
  let description = [{
    Gemma-2 / Grok style soft-capping (FlashInfer's `logits_soft_cap`).
    `cap` must be positive.
  }];
  let parameters = (ins Attn_FloatParameter<"cap">:$cap);
  let assemblyFormat = "`<` $cap `>`";
  let genVerifyDecl = 1;
}

def Attn_AlibiAttr : Attn_ScoreModAttr<"Alibi", "alibi"> {
  let summary = "ALiBi: s' = s - slope[b, h] * |i + Sk - Sq - j|";
  let description = [{
    Linear position bias with one slope per head (or per batch and head)
    from the `alibi_slopes` operand, on flash_attn's convention: the
    distance is measured with bottom-right alignment.
  }];
}

def Attn_BiasAttr : Attn_ScoreModAttr<"Bias", "bias"> {
  let summary = "additive bias: s' = s + bias[b, h, i, j]";
  let description = [{
    Adds the `bias` operand (broadcast over batch and heads where its
    leading dimensions are 1).
  }];
}

def Attn_ScoreModRegionAttr : Attn_ScoreModAttr<"ScoreModRegion", "score_mod"> {
  let summary = "score modification given by the op's `score_mod` region";
  let description = [{
    s' = score_mod(s, b, h, i, j), the op's `score_mod` region
    (FlexAttention's `score_mod`).
  }];
}

//===----------------------------------------------------------------------===//
// Position encoding
//===----------------------------------------------------------------------===//

def Attn_RopeAttr : Attn_Attr<"Rope", "rope"> {
  let summary = "rotary position embedding of q and k (LLaMA's rotate-half)";
  let description = [{
    Rotates every query and key vector by its position before the scores
    are formed (FlashInfer's `pos_encoding_mode = "ROPE_LLAMA"` with
    `rope_theta` and `rope_scale`). For a vector x of head_dim D at
    position p and each d in [0, D/2):

        a_d        = p * f_d,   f_d = theta^(-2d / D) / scale
        x'_d       = x_d cos a_d - x_{d+D/2} sin a_d
        x'_{d+D/2} = x_{d+D/2} cos a_d + x_d sin a_d

    Key j sits at position j of its sequence (for a paged cache: its slot
    in the sequence's pages, in order); query i at i (`top_left`) or
    i + Sk - Sq (`bottom_right`: the queries are the last Sq positions,
    FlashInfer's convention for prefill, append and decode). v is not
    rotated. f_d is computed once (in double, rounded to f32), a_d in f32.
    The CPU lowering rotates into f32; the GPU kernels feed the tensor
    cores the rotated values rounded to the element type, as FlashInfer's
    prefill kernels do.

    ```mlir
    #attn.rope<theta = 1.0e4, scale = 1.0, align = bottom_right>
    ```
  }];
  let parameters = (ins Attn_FloatParameter<"theta">:$theta,
                        Attn_FloatParameter<"scale">:$scale,
                        EnumParameter<Attn_Alignment>:$align);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// f_d for d in [0, headDim / 2): the inverse frequencies of the
    /// rotated pairs, the one table every lowering reads.
    ::llvm::SmallVector<float> inverseFrequencies(int64_t headDim) const;
  }];
}

//===----------------------------------------------------------------------===//
// Sparsity
//===----------------------------------------------------------------------===//

def Attn_BlockSparseAttr : Attn_Attr<"BlockSparse", "block_sparse"> {
  let summary = "block-sparse mask (FlexAttention BlockMask)";
  let description = [{
    The attention matrix is cut into blocks of `q_block x kv_block`. For
    query block m, the operands list which key blocks may hold a kept pair:
    `kv_indices[b, h, m, 0 .. kv_num_blocks[b, h, m])`. Keys in unlisted
    blocks are masked. The optional `full_kv_num_blocks` /
    `full_kv_indices` list blocks known to be completely kept, so that no
    other mask needs to be evaluated there (FlexAttention's full blocks).
  }];
  let parameters = (ins "int64_t":$q_block, "int64_t":$kv_block);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_PagedKvAttr : Attn_Attr<"PagedKv", "paged_kv"> {
  let summary = "K and V live in a paged cache (FlashInfer's page table)";
  let description = [{
    K and V are pools of pages of `page_size` token slots each: `nhd`
    pages are [page_size, Hkv, D] (k: [P, page_size, Hkv, D]), `hnd` pages
    [Hkv, page_size, D] (k: [P, Hkv, page_size, D]). Sequence b owns pages
    `kv_page_indices[kv_page_indptr[b] .. kv_page_indptr[b + 1])`, in
    order, its last page holding `kv_last_page_len[b]` keys, so it has
    Sk_b = (n_b - 1) * page_size + kv_last_page_len[b] keys (0 when it owns
    no page), key j living in slot j % page_size of page
    kv_page_indices[kv_page_indptr[b] + j / page_size].

    ```mlir
    #attn.paged_kv<page_size = 16>
    #attn.paged_kv<page_size = 16, layout = hnd>
    ```
  }];
  let parameters = (ins "int64_t":$page_size,
                        DefaultValuedParameter<"::mlir::attn::PagedLayout",
                            "::mlir::attn::PagedLayout::nhd">:$layout);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_SparseSoftmaxAttr : Attn_Attr<"SparseSoftmax", "sparse_softmax"> {
  let summary = "threshold sparse softmax (flash_sparse_attn_func)";
  let description = [{
    Keys are visited in blocks of `kv_block`. For query row i, after block t
    updates the running maximum to m_i(t), the block's largest normalized
    weight is w = exp(max_{j in t} s_ij - m_i(t)). If w < threshold, block
    t contributes nothing to row i (neither to the sum nor to the output).
    `threshold` absent means flash_sparse_attn's default, head_dim / Sk.
  }];
  let parameters = (ins Attn_OptionalFloatParameter<"threshold">:$threshold,
                        DefaultValuedParameter<"int64_t", "64">:$kv_block);
  let assemblyFormat = "(`<` struct(params)^ `>`)?";
  let genVerifyDecl = 1;
}

def Attn_GateAttr : Attn_Attr<"Gate", "gate"> {
  let summary = "gated attention (flash_gated_attn_func)";
  let description = [{
    With alpha [B, Hq, Sq] and delta [B, Hkv, Sk] operands, the gate of the
    pair (i, j) is g = logsigmoid(alpha[b,h,i] + delta[b,h/G,j]) for
    `logsigmoid`, or g = alpha + delta for `linear`. The gate is added to
    the score (a multiplicative gate on the weights). When `threshold` is
    given, a pair with g < tau is dropped, where tau = threshold, or
    threshold - ln(Sk) when `adaptive` (longer contexts keep weaker gates).
  }];
  let parameters = (ins EnumParameter<Attn_GateKind>:$kind,
                        Attn_OptionalFloatParameter<"threshold">:$threshold,
                        Attn_BoolParameter<"adaptive">:$adaptive);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Lowering configuration
//===----------------------------------------------------------------------===//

def Attn_LoweringConfigAttr : Attn_Attr<"LoweringConfig", "lowering_config"> {
  let summary = "the kernel strategy and tile sizes chosen for one attention";
  let description = [{
    What `attn-gpu-kernels` chose (or was told) for an `attn.attention`, as
    data rather than constants in the generator (IREE's `lowering_config`):
    the strategy, the query rows per CTA (`block_q`, `warps` x 16: each warp
    owns 16 rows of m16n8k16 tiles), the keys per kv step (`block_k`, a
    multiple of 16), the most CTAs one sequence's keys are split over
    (`kv_splits`, 1 by default: no split) and the K/V tiles in flight
    (`stages` shared-memory stages of the cp.async pipeline, 2 by default:
    one tile computed while the next loads). `producer_warps` (sm90a only,
    0 by default) adds a producer warpgroup of 4 warps that only loads Q/K/V
    tiles, handing stages to the `warps` consumer warps through mbarriers
    (warp specialization: the consumers never wait at a CTA barrier, and
    `setmaxnreg` moves the producer's registers to them). `kv_warps` (decode
    only, 1 by default) splits each key tile over that many warps holding
    the same query rows (warps = block_q / 16 x kv_warps): each warp keeps
    its own softmax state over its share of the keys, and the CTA merges
    the warps' states before the epilogue. `tma` (sm90a with a producer
    warpgroup only) has one producer thread copy the Q/K/V tiles with TMA
    (`cp.async.bulk.tensor` through tensor maps the runtime builds,
    `#attn.tensor_map`) instead of 128 threads' 16-byte `cp.async` copies.
    It is recorded on the generated `gpu.func`.

    Strategies: `sm80` (FlashAttention-2 style: one CTA per block_q query
    rows of one head, mma.sync), `sm90a` (the same schedule with Hopper's
    warpgroup MMAs from 128-byte-swizzled shared memory: block_q is a
    multiple of 64, one warpgroup of 4 warps per 64 rows) and `decode` (few
    query rows: the rows of every query head sharing one kv head are packed
    into one tile, so each K/V tile is read once for the whole group; the
    keys are split over up to `kv_splits` CTAs whose partial results a merge
    kernel combines).

    ```mlir
    #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4>
    #attn.lowering_config<strategy = decode, block_q = 16, block_k = 64, warps = 1, kv_splits = 64>
    #attn.lowering_config<strategy = decode, block_q = 16, block_k = 64, warps = 2, kv_splits = 64, kv_warps = 2>
    #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8>
    #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, producer_warps = 4>
    #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, stages = 3, producer_warps = 4, tma = true>
    ```
  }];
  let parameters = (ins EnumParameter<Attn_GpuStrategy>:$strategy,
                        "int64_t":$block_q, "int64_t":$block_k,
                        "int64_t":$warps,
                        DefaultValuedParameter<"int64_t", "1">:$kv_splits,
                        DefaultValuedParameter<"int64_t", "2">:$stages,
                        DefaultValuedParameter<"int64_t", "0">:$producer_warps,
                        DefaultValuedParameter<"int64_t", "1">:$kv_warps,
                        DefaultValuedParameter<"bool", "false">:$tma);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_TensorMapAttr : Attn_Attr<"TensorMap", "tensor_map"> {
  let summary = "a TMA tensor map the runtime builds for a kernel parameter";
  let description = [{
    On a generated kernel's `!llvm.ptr` argument: the runtime encodes a
    tensor map (`cuTensorMapEncodeTiled`) of the tensor parameter `source`
    (its data, shape and strides at launch; dimensions innermost first) and
    passes its 128 bytes by value (a `grid_constant` parameter), so that one
    thread copies whole tiles with `cp.async.bulk.tensor`. `box` is the
    tile one copy moves, one extent per dimension of the tensor in its own
    order (at most 256 each; the innermost `swizzle` bytes wide when
    swizzled), `swizzle` the shared-memory swizzle in bytes (0, 32, 64 or
    128: the layout Wgmma.h's panels use). Elements outside the tensor are
    zero-filled.

    ```mlir
    // K of a [B, S, H, 128] f16 tensor, 128 keys of one head per copy, one
    // 64-column panel (128 bytes, 128-byte swizzle)
    #attn.tensor_map<source = 1, box = [1, 128, 1, 64], swizzle = 128>
    ```
  }];
  let parameters = (ins "int64_t":$source, "::mlir::DenseI64ArrayAttr":$box,
                        "int64_t":$swizzle);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // ATTN_IR_ATTNATTRS_TD
