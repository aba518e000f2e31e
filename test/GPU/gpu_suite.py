"""GPU correctness suite: every kernel family against float64 numpy.

Two steps, because the GPU machine has no MLIR:

  here:        /usr/bin/python3 test/GPU/gpu_suite.py --compile   (writes
               build/gpu_suite/<chip>/<case>.attn with build/bin/attn-compile
               for each chip of CHIPS)
  GPU machine: python3 test/GPU/gpu_suite.py                      (carry
               build/lib/libAttnRuntime.so and build/gpu_suite)

Every case is compiled for sm_90 (the sm80 and decode strategies) and
sm_90a (the sm90a wgmma strategy wherever it applies), and both run on
the Hopper GPU.

Each case is an AttentionSpec (python/attn/_ir.py) and a list of shapes.
Inputs are fresh random tensors; outputs are poisoned with NaN first; every
element of out and lse is compared with attn.reference.spec_reference
(float64). A case passes when ||out - ref|| / ||ref|| < 2e-3 (f16) or 1e-2
(bf16: 8 mantissa bits), max |lse - ref| < 1e-2, every row written, and
fully masked rows give out 0 and lse -inf.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "bench"))
from bench_kernels import ROOT, compile_specs  # noqa: E402  (puts attn on sys.path)

from attn._ir import (Alibi, AttentionSpec, Bias, Causal, Chunked,  # noqa: E402
                      CustomMask, Document, MaskMod, Or, PrefixLM, Rope, ScoreMod,
                      SlidingWindow, Softcap)

OUT_DIR = os.path.join(ROOT, "build", "gpu_suite")
CHIPS = ("sm_90", "sm_90a")

SLOPE_MOD = """
%w = tensor.extract %slopes[%h] : tensor<{hq}xf32>
%d = arith.subi %j, %i : index
%di = arith.index_cast %d : index to i64
%df = arith.sitofp %di : i64 to f32
%t = arith.mulf %w, %df : f32
%r = arith.addf %s, %t : f32
attn.yield %r : f32
"""
# keep j + 8 <= i: the first 8 rows keep nothing (out 0, lse -inf).
LAG_MASK = """
%c8 = arith.constant 8 : index
%jj = arith.addi %j, %c8 : index
%keep = arith.cmpi ule, %jj, %i : index
attn.yield %keep : i1
"""

# keep docs[b, i] == docs[b, j]: per-batch documents read per key from a
# captured [B, S] tensor (sm90a evaluates such masks before its S wait).
DOCS_MASK = """
%di = tensor.extract %docs[%b, %i] : tensor<?x?xi32>
%dj = tensor.extract %docs[%b, %j] : tensor<?x?xi32>
%keep = arith.cmpi eq, %di, %dj : i32
attn.yield %keep : i1
"""


def S(**kw):
    kw.setdefault("lse", True)
    return AttentionSpec(**kw)


# name -> (spec, [(batch, sq, sk)] or varlen [lengths_q], [lengths_k]),
# python callables for the regions (reference only)
CASES = {
    "dense_d64_f16_gqa": (S(dtype="f16", heads_q=8, heads_kv=2, head_dim=64),
                          [(2, 300, 700), (1, 17, 33)]),
    "dense_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=128),
                        [(2, 1000, 1000), (1, 1, 65)]),
    "causal_tl_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=128,
                              masks=(Causal("top_left"),)), [(2, 1000, 1000)]),
    "causal_br_d64_bf16_gqa": (S(dtype="bf16", heads_q=8, heads_kv=2, head_dim=64,
                                 masks=(Causal("bottom_right"),)),
                               [(2, 300, 700), (1, 700, 300)]),
    "causal_d128_f16_4k": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                             masks=(Causal(),)), [(1, 4096, 4096)]),
    "window_d128_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                          masks=(SlidingWindow(100, 0, "bottom_right"),)),
                        [(2, 1000, 1000), (1, 500, 900)]),
    "prefix_lm_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                            masks=(PrefixLM(200),)), [(1, 777, 777)]),
    "chunked_d64_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=64,
                           masks=(Chunked(128), Causal())), [(1, 1000, 1000)]),
    "document_causal_d128_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                                   masks=(Document(), Causal())), [(2, 1000, 1000)]),
    # The kv schedule reads the document ids (DocumentKeys.cpp): unsorted
    # ids (random in 0..2), queries and keys with their own ids, a window
    # beside the document, a document inside an or (not narrowed), varlen.
    "document_unsorted_d64_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=64,
                                     masks=(Document(), Causal())), [(2, 600, 600)]),
    "document_cross_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=128,
                                   masks=(Document(),)), [(2, 300, 900)]),
    "document_window_d128_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                                   masks=(Document(), SlidingWindow(256, 0))),
                                 [(1, 1000, 1000)]),
    "document_or_prefix_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                                     masks=(Or((Document(), PrefixLM(64))),)),
                                   [(1, 700, 700)]),
    "varlen_document_causal_d64_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=64,
                                          varlen=True, masks=(Document(), Causal())),
                                        [([300, 1, 517], [300, 1, 517])]),
    "custom_mask_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                              masks=(CustomMask(),)), [(2, 200, 300)]),
    "custom_mask_packed_d64_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=64,
                                      masks=(CustomMask(packed=True),)), [(1, 200, 300)]),
    "or_window_prefix_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                                   masks=(Or((SlidingWindow(64, 0), PrefixLM(100))),)),
                                 [(1, 600, 600)]),
    "softcap_causal_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=128,
                                   masks=(Causal(),), score_mods=(Softcap(30.0),)),
                                 [(2, 1000, 1000)]),
    "alibi_bias_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                             score_mods=(Alibi(per_batch=True), Bias())), [(2, 300, 400)]),
    "score_mod_capture_d128_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                                     score_mods=(ScoreMod(),),
                                     score_mod=SLOPE_MOD.format(hq=4),
                                     captures=(("slopes", "tensor<4xf32>"),)),
                                   [(2, 500, 500)]),
    "mask_mod_lag_d64_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=64,
                                masks=(MaskMod(),), mask_mod=LAG_MASK), [(1, 300, 300)]),
    "mask_mod_docs_causal_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=128,
                                         masks=(Causal(), MaskMod()), mask_mod=DOCS_MASK,
                                         captures=(("docs", "tensor<?x?xi32>"),)),
                                       [(2, 700, 700)]),
    "sinks_causal_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                               masks=(Causal(),), sinks=True), [(2, 500, 500)]),
    "varlen_causal_br_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=128,
                                     varlen=True, seqused=True,
                                     masks=(Causal("bottom_right"),)),
                                   [([100, 1000, 0, 600], [150, 1000, 5, 600])]),
    "varlen_custom_mask_d64_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=64,
                                      varlen=True, masks=(CustomMask(),)),
                                    [([17, 300, 0, 64], [40, 300, 5, 1])]),
    "varlen_custom_mask_packed_d128_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                                             varlen=True, masks=(CustomMask(packed=True),)),
                                           [([100, 33], [75, 200])]),
    "varlen_dense_d64_f16": (S(dtype="f16", heads_q=8, heads_kv=8, head_dim=64,
                               varlen=True), [([17, 300, 64], [40, 300, 1])]),
    "block_sparse_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                               masks=(Causal(),), block_sparse=(128, 128),
                               full_blocks=True), [(2, 1000, 1000)]),
    "sparse_softmax_causal_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                                        masks=(Causal("bottom_right"),),
                                        sparse_softmax=(0.05, 64)), [(2, 700, 700)]),
    "sparse_softmax_default_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=128,
                                           sparse_softmax=(None, 64)), [(1, 1000, 1000)]),
    "gated_logsigmoid_adaptive_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=2, head_dim=64,
                                            masks=(Causal("bottom_right"),),
                                            gate=("logsigmoid", -3.0, True)),
                                          [(2, 300, 500)]),
    "gated_linear_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=128,
                                 gate=("linear", -1.0, False)), [(1, 600, 600)]),
    # Head dims other than 64/128, and Dv != D (DeepSeek's 192/128).
    "d32_causal_f16_bhsd": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=32,
                              layout="bhsd", masks=(Causal(),)), [(2, 500, 500)]),
    "d80_window_bf16_gqa": (S(dtype="bf16", heads_q=8, heads_kv=2, head_dim=80,
                              masks=(SlidingWindow(100, 0, "bottom_right"),)),
                            [(2, 300, 700)]),
    "d96_document_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=96,
                           masks=(Document(), Causal())), [(1, 700, 700)]),
    "d160_softcap_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=160,
                            score_mods=(Softcap(30.0),)), [(1, 400, 450)]),
    "d192_dv128_causal_bf16_gqa": (S(dtype="bf16", heads_q=8, heads_kv=2, head_dim=192,
                                     head_dim_v=128, masks=(Causal("bottom_right"),)),
                                   [(2, 300, 500)]),
    "d256_varlen_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=256, varlen=True,
                           seqused=True, masks=(Causal("bottom_right"),)),
                         [([100, 500, 0], [150, 500, 7])]),
    "d256_mask_mod_f16_bhsd": (S(dtype="f16", heads_q=2, heads_kv=2, head_dim=256,
                                 layout="bhsd", masks=(MaskMod(),), mask_mod=LAG_MASK),
                               [(1, 300, 300)]),
    "d128_dv64_sinks_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                              head_dim_v=64, masks=(Causal(),), sinks=True),
                            [(2, 400, 400)]),
    "d64_dv256_block_sparse_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4, head_dim=64,
                                      head_dim_v=256, masks=(Causal(),),
                                      block_sparse=(128, 128), full_blocks=True),
                                    [(1, 600, 600)]),
    # Lowering configs other than 64 x 64 (forced in FLAGS, or chosen from
    # the block-sparse / sparse-softmax block sizes).
    "cfg_q128_k32_d128_causal_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=128,
                                        masks=(Causal("bottom_right"),)),
                                      [(2, 300, 700), (1, 1000, 1000)]),
    "cfg_q32_k128_d64_window_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                                      masks=(SlidingWindow(100, 0, "bottom_right"),)),
                                    [(2, 500, 900)]),
    "cfg_k16_d256_document_f16": (S(dtype="f16", heads_q=2, heads_kv=2, head_dim=256,
                                    masks=(Document(), Causal())), [(1, 500, 500)]),
    # One warpgroup per CTA and three K/V stages (sm90a; sm80 on sm_90),
    # with an 80-wide head (the 32-byte swizzle) and a ragged last tile.
    "cfg_q64_s3_d80_causal_bf16": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=80,
                                     masks=(Causal("bottom_right"),)),
                                   [(2, 333, 517)]),
    "cfg_block_sparse_32_d64_f16": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                                      masks=(Causal(),), block_sparse=(32, 32),
                                      full_blocks=True), [(2, 300, 300)]),
    "cfg_sparse_softmax_k32_d128_bf16": (S(dtype="bf16", heads_q=4, heads_kv=4,
                                           head_dim=128, masks=(Causal(),),
                                           sparse_softmax=(0.05, 32)), [(1, 600, 600)]),
    # Decode (static query length <= 16): the query heads of a kv head packed
    # into one tile, keys split over CTAs and merged (1 x 20000 keys: many
    # splits; batch 64: one split, no merge), ragged cache lengths through
    # seqused_k (including 0 and 1), sinks, masks, bhsd.
    "decode_d128_bf16_gqa4": (S(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128,
                                seq_q=1), [(1, 1, 20000), (3, 1, 777), (64, 1, 300)]),
    "decode_d64_f16_mqa_causal": (S(dtype="f16", heads_q=8, heads_kv=1, head_dim=64,
                                    seq_q=4, masks=(Causal("bottom_right"),)),
                                  [(2, 4, 5000), (1, 4, 3)]),
    "decode_d128_bf16_seqused_sinks": (S(dtype="bf16", heads_q=16, heads_kv=4,
                                         head_dim=128, seq_q=1, seqused_k=True,
                                         sinks=True), [(4, 1, 3000)]),
    "decode_d256_f16_window_bhsd": (S(dtype="f16", heads_q=4, heads_kv=2, head_dim=256,
                                      seq_q=2, layout="bhsd",
                                      masks=(SlidingWindow(700, 0, "bottom_right"),)),
                                    [(2, 2, 6000)]),
    "decode_d128_bf16_document_gqa4": (S(dtype="bf16", heads_q=16, heads_kv=4,
                                         head_dim=128, seq_q=2,
                                         masks=(Document(), Causal("bottom_right"))),
                                       [(2, 2, 5000), (1, 2, 9)]),
    # Kv warps forced (decode's own choice covers the paged and fp8 cases):
    # 4 warps over 16 keys each of 64-key tiles with documents and causal
    # (the masks' columns offset per warp), 2 with seqused and sinks.
    "cfg_kvw4_k64_decode_d128_bf16_document": (S(dtype="bf16", heads_q=16, heads_kv=4,
                                                 head_dim=128, seq_q=2,
                                                 masks=(Document(),
                                                        Causal("bottom_right"))),
                                               [(2, 2, 5000), (1, 2, 9)]),
    # Two row warps (32 packed rows) times kv warps: each row warp merges
    # its own kv warps' states.
    "cfg_kvw4_k64_decode_d64_f16_gqa16_causal": (S(dtype="f16", heads_q=32, heads_kv=2,
                                                   head_dim=64, seq_q=2,
                                                   masks=(Causal("bottom_right"),)),
                                                 [(2, 2, 3000), (1, 2, 5)]),
    "cfg_kvw2_decode_d128_bf16_seqused_sinks": (S(dtype="bf16", heads_q=16, heads_kv=4,
                                                  head_dim=128, seq_q=1, seqused_k=True,
                                                  sinks=True), [(4, 1, 3000), (2, 1, 1)]),
    "decode_d128_bf16_softcap_dv64": (S(dtype="bf16", heads_q=8, heads_kv=8, head_dim=128,
                                        head_dim_v=64, seq_q=1,
                                        score_mods=(Softcap(20.0),)), [(2, 1, 4000)]),
    # Paged KV caches (page tables with shuffled pages, lengths 0 and 1
    # included): decode (dense one-token queries, the decode strategy) and
    # ragged-query prefill (sm80), nhd and hnd pages.
    "paged_decode_d128_bf16_gqa4": (S(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128,
                                      seq_q=1, paged_kv=(16, "nhd")),
                                    [(5, 1, [3000, 0, 1, 17, 9000])]),
    "paged_decode_d128_bf16_gqa8_sq4_causal": (S(dtype="bf16", heads_q=32, heads_kv=4,
                                                 head_dim=128, seq_q=4,
                                                 paged_kv=(16, "nhd"),
                                                 masks=(Causal("bottom_right"),)),
                                               [(3, 4, [2000, 5, 700])]),
    "paged_decode_d64_f16_hnd_causal": (S(dtype="f16", heads_q=8, heads_kv=2, head_dim=64,
                                          seq_q=3, paged_kv=(32, "hnd"),
                                          masks=(Causal("bottom_right"),),
                                          score_mods=(Softcap(30.0),)),
                                        [(3, 3, [2, 700, 64])]),
    "paged_prefill_varlen_d128_bf16": (S(dtype="bf16", heads_q=8, heads_kv=2, head_dim=128,
                                         varlen=True, paged_kv=(16, "nhd"),
                                         masks=(Causal("bottom_right"),)),
                                       [([100, 1, 0, 300], [150, 1, 7, 300])]),
    # RoPE (#attn.rope): Q and K tiles rotated in shared memory (sm80 and
    # decode; sm90a declines): bottom-right and top-left positions, a scaled
    # rope, a head dim whose column pairs do not divide the threads (d96),
    # varlen, decode with long caches (positions up to 20000), paged.
    "rope_causal_br_d128_bf16_gqa": (S(dtype="bf16", heads_q=8, heads_kv=2, head_dim=128,
                                       masks=(Causal("bottom_right"),), rope=Rope()),
                                     [(2, 300, 700), (1, 1, 65)]),
    "rope_tl_scaled_d64_f16_bhsd": (S(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                                      layout="bhsd", rope=Rope(5e5, 2.0, "top_left")),
                                    [(1, 500, 500)]),
    "rope_d96_f16": (S(dtype="f16", heads_q=4, heads_kv=2, head_dim=96, rope=Rope()),
                     [(1, 333, 333)]),
    "rope_varlen_causal_d128_f16": (S(dtype="f16", heads_q=4, heads_kv=2, head_dim=128,
                                      varlen=True, masks=(Causal("bottom_right"),),
                                      rope=Rope()), [([17, 300, 1], [40, 300, 64])]),
    "rope_decode_d128_bf16_gqa4": (S(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128,
                                     seq_q=1, rope=Rope()),
                                   [(1, 1, 20000), (8, 1, 777)]),
    "rope_paged_decode_d128_bf16": (S(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128,
                                      seq_q=1, paged_kv=(16, "nhd"), rope=Rope(5e5)),
                                    [(5, 1, [3000, 0, 1, 17, 9000])]),
    # An fp8 (e4m3) KV cache: byte tiles copied, dequantized in shared
    # memory (x k_scale / v_scale) before the MMAs (sm80 and decode; sm90a
    # declines): decode with scales (split, paged), prefill without, with
    # rope, d64 (16-byte copies of 16 values: other copy splits).
    "fp8_decode_d128_bf16_gqa4": (S(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128,
                                    seq_q=1, kv_dtype="f8E4M3FN", kv_scales=True),
                                  [(1, 1, 20000), (8, 1, 777)]),
    "fp8_paged_decode_d128_f16": (S(dtype="f16", heads_q=16, heads_kv=4, head_dim=128,
                                    seq_q=1, paged_kv=(16, "nhd"), kv_dtype="f8E4M3FN",
                                    kv_scales=True), [(4, 1, [3000, 0, 1, 900])]),
    "fp8_causal_d128_f16_gqa": (S(dtype="f16", heads_q=8, heads_kv=2, head_dim=128,
                                  masks=(Causal("bottom_right"),), kv_dtype="f8E4M3FN"),
                                [(2, 300, 700)]),
    "fp8_rope_d64_bf16_varlen": (S(dtype="bf16", heads_q=4, heads_kv=2, head_dim=64,
                                   varlen=True, masks=(Causal("bottom_right"),), rope=Rope(),
                                   kv_dtype="f8E4M3FN", kv_scales=True),
                                 [([17, 300, 1], [40, 300, 64])]),
}

# attn-compile flags of the cases that force a lowering config.
FLAGS = {
    "cfg_kvw4_k64_decode_d128_bf16_document": ["--kv-warps=4", "--block-k=64"],
    "cfg_kvw2_decode_d128_bf16_seqused_sinks": ["--kv-warps=2"],
    "cfg_kvw4_k64_decode_d64_f16_gqa16_causal": ["--kv-warps=4", "--block-k=64"],
    "cfg_q128_k32_d128_causal_bf16": ["--block-q=128", "--block-k=32"],
    "cfg_q32_k128_d64_window_f16": ["--block-q=32", "--block-k=128"],
    "cfg_k16_d256_document_f16": ["--block-k=16"],
    "cfg_q64_s3_d80_causal_bf16": ["--block-q=64", "--stages=3"],
}


def lag_mask(b, h, i, j):
    return j + 8 <= i


def compile_all():
    for chip in CHIPS:
        compile_specs(((n, spec) for n, (spec, _) in CASES.items()),
                      os.path.join(OUT_DIR, chip), chip=chip, flags=FLAGS)


def page_table(spec, lengths, torch, gen, dt):
    """K/V page pools (2 spare pages, every sequence's pages shuffled through
    the pool) and the page table for sequences of `lengths` keys."""
    size, layout = spec.paged_kv
    counts = [-(-n // size) for n in lengths]
    pool = sum(counts) + 2
    order = torch.randperm(pool, generator=gen)
    shape = lambda d: ((pool, size, spec.heads_kv, d) if layout == "nhd"
                       else (pool, spec.heads_kv, size, d))
    indptr = [0]
    for c in counts:
        indptr.append(indptr[-1] + c)
    last = [n - (c - 1) * size if c else 1 for n, c in zip(lengths, counts)]
    i32 = lambda x: torch.tensor(x, dtype=torch.int32).cuda()
    return {"k": torch.randn(*shape(spec.head_dim), generator=gen).to("cuda", dt),
            "v": torch.randn(*shape(spec.dv), generator=gen).to("cuda", dt),
            "kv_page_indptr": i32(indptr),
            "kv_page_indices": order[:indptr[-1]].to(torch.int32).cuda(),
            "kv_last_page_len": i32(last)}


def make_inputs(spec, shape, torch, gen, unsorted_docs=False):
    """Named torch tensors (on the GPU) for every function argument;
    document ids sorted (packed documents) unless `unsorted_docs`; an fp8
    cache's k/v rounded to e4m3, scales 0.7 (k) and 1.3 (v)."""
    args = _make_inputs(spec, shape, torch, gen, unsorted_docs)
    if spec.kv_dtype is not None:
        for name in ("k", "v"):
            args[name] = args[name].to(torch.float8_e4m3fn)
    if spec.kv_scales:
        args["k_scale"] = torch.tensor([0.7], device="cuda")
        args["v_scale"] = torch.tensor([1.3], device="cuda")
    return args


def _make_inputs(spec, shape, torch, gen, unsorted_docs):
    dt = {"f16": torch.float16, "bf16": torch.bfloat16}[spec.dtype]
    dev = "cuda"
    hq, hkv, d, dv = spec.heads_q, spec.heads_kv, spec.head_dim, spec.dv
    args = {}
    if spec.paged_kv:
        if spec.varlen:
            lq, lengths = shape
            cu_q = [0]
            for a in lq:
                cu_q.append(cu_q[-1] + a)
            args["q"] = torch.randn(cu_q[-1], hq, d, device=dev, dtype=dt)
            args["cu_seqlens_q"] = torch.tensor(cu_q, device=dev, dtype=torch.int32)
        else:
            batch, sq, lengths = shape
            q_shape = (batch, sq, hq, d) if spec.layout == "bshd" else (batch, hq, sq, d)
            args["q"] = torch.randn(*q_shape, device=dev, dtype=dt)
        args.update(page_table(spec, lengths, torch, gen, dt))
        return args
    if spec.varlen:
        lq, lk = shape
        cu_q = [0]
        cu_k = [0]
        for a, c in zip(lq, lk):
            cu_q.append(cu_q[-1] + a)
            cu_k.append(cu_k[-1] + c)
        tq, tk = cu_q[-1], cu_k[-1]
        args["q"] = torch.randn(tq, hq, d, device=dev, dtype=dt)
        args["k"] = torch.randn(tk, hkv, d, device=dev, dtype=dt)
        args["v"] = torch.randn(tk, hkv, dv, device=dev, dtype=dt)
        args["cu_seqlens_q"] = torch.tensor(cu_q, device=dev, dtype=torch.int32)
        args["cu_seqlens_k"] = torch.tensor(cu_k, device=dev, dtype=torch.int32)
        if spec.seqused:
            args["seqused_q"] = torch.tensor([max(0, a - 7) for a in lq], device=dev,
                                             dtype=torch.int32)
            args["seqused_k"] = torch.tensor([max(0, c - 3) for c in lk], device=dev,
                                             dtype=torch.int32)
        batch = len(lq)
        sq = sk = None
    else:
        batch, sq, sk = shape
        if spec.seqused_k:
            # KV cache fill per sequence: 0, 1, then ragged.
            fill = [[0, 1][b] if b < 2 else sk - 97 * b for b in range(batch)]
            args["seqused_k"] = torch.tensor(fill, device=dev, dtype=torch.int32)
        # [B, S, H, D], or [B, H, S, D] for the bhsd layout.
        lay = (lambda s_, h_, d_: (batch, h_, s_, d_)) if spec.layout == "bhsd" else \
            (lambda s_, h_, d_: (batch, s_, h_, d_))
        args["q"] = torch.randn(*lay(sq, hq, d), device=dev, dtype=dt)
        args["k"] = torch.randn(*lay(sk, hkv, d), device=dev, dtype=dt)
        args["v"] = torch.randn(*lay(sk, hkv, dv), device=dev, dtype=dt)
    for name, _ in spec.operand_types():
        if name in args or name in ("k_scale", "v_scale"):
            continue
        if name in ("doc_ids_q", "doc_ids_kv"):
            n = sq if name == "doc_ids_q" else sk
            if n is None:  # varlen: [T] ids, the packed sequences' tokens
                cu = args["cu_seqlens_q" if name == "doc_ids_q" else "cu_seqlens_k"]
                lead = (int(cu[-1]),)
            else:
                lead = (batch, n)
            if unsorted_docs:
                ids = torch.randint(0, 3, lead, generator=gen)
            else:
                # Sorted document ids: runs of random length.
                ids = torch.cumsum((torch.rand(*lead, generator=gen) < 0.004).int(), -1)
            args[name] = ids.to(dev, torch.int32)
        elif name == "custom_mask" and spec.varlen:
            # Each sequence's [lq, lk] matrix after the previous one (packed:
            # from a fresh byte), row 3 of the longest one fully masked.
            import numpy as np
            pieces = []
            for a, c in zip(*shape):
                m = (torch.rand(a, c, generator=gen) < 0.7).numpy()
                if a > 3 and a == max(shape[0]):
                    m[3] = False
                flat = m.reshape(-1)
                pieces.append(np.packbits(flat, bitorder="little").view(np.int8)
                              if spec.masks[0].packed else flat)
            args[name] = torch.from_numpy(np.concatenate(pieces)).to(dev)
        elif name == "custom_mask":
            bits = torch.rand(batch, hq, sq, sk, generator=gen) < 0.7
            bits[:, :, 5, :] = False  # one fully masked row
            if spec.masks[0].packed:
                import numpy as np
                packed = np.packbits(bits.numpy(), axis=-1, bitorder="little")
                args[name] = torch.from_numpy(packed.view(np.int8)).to(dev)
            else:
                args[name] = bits.to(dev)
        elif name == "alibi_slopes":
            args[name] = (torch.rand(batch, hq, generator=gen) * 0.1).to(dev)
        elif name == "bias":
            args[name] = torch.randn(batch, hq, sq, sk, generator=gen).to(dev)
        elif name in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks",
                      "full_kv_indices"):
            continue  # below
        elif name == "gate_alpha":
            args[name] = torch.randn(batch, hq, sq, generator=gen).to(dev)
        elif name == "gate_delta":
            args[name] = torch.randn(batch, hkv, sk, generator=gen).to(dev)
        elif name == "sinks":
            args[name] = torch.randn(hq, generator=gen).to(dev)
        else:
            raise KeyError(name)
    if spec.block_sparse:
        qb, kb = spec.block_sparse
        nq, nk = -(-sq // qb), -(-sk // kb)
        # Causal block structure: diagonal blocks partial, a random subset of
        # the blocks below the diagonal full, the rest dropped.
        num = torch.zeros(batch, hq, nq, dtype=torch.int32)
        idx = torch.zeros(batch, hq, nq, nk, dtype=torch.int32)
        fnum = torch.zeros_like(num)
        fidx = torch.zeros_like(idx)
        for b in range(batch):
            for h in range(hq):
                for m in range(nq):
                    num[b, h, m] = 1
                    idx[b, h, m, 0] = m
                    full = [n for n in range(m) if torch.rand(1, generator=gen).item() < 0.6]
                    fnum[b, h, m] = len(full)
                    for c, n in enumerate(full):
                        fidx[b, h, m, c] = n
        args.update(kv_num_blocks=num.to(dev), kv_indices=idx.to(dev),
                    full_kv_num_blocks=fnum.to(dev), full_kv_indices=fidx.to(dev))
    for name, _ in spec.captures:
        if name == "docs":  # sorted per-batch ids, about 5 documents a row
            rows, cols = args["q"].shape[0], max(args["q"].shape[1], args["k"].shape[1])
            ids = torch.randint(0, 5, (rows, cols), generator=gen).sort(dim=1).values
            args[name] = ids.to(torch.int32).to(dev)
        else:
            args[name] = (torch.rand(hq, generator=gen) * 0.05).to(dev)
    return args


def run_case(chip, name, spec, shape, torch, gen):
    import numpy as np
    from attn._runtime import Kernel
    from attn.reference import spec_reference
    kernel = Kernel(os.path.join(OUT_DIR, chip, name + ".attn"))
    args = make_inputs(spec, shape, torch, gen, unsorted_docs="unsorted" in name)
    q = args["q"]
    out = torch.full(q.shape[:-1] + (spec.dv,), float("nan"), device="cuda", dtype=q.dtype)
    if spec.varlen:
        lse = torch.full((spec.heads_q, q.shape[0]), float("nan"), device="cuda")
    else:
        rows = q.shape[2] if spec.layout == "bhsd" else q.shape[1]
        lse = torch.full((q.shape[0], spec.heads_q, rows), float("nan"), device="cuda")
    kernel(*[args[n] for n in spec.argument_names()], out, lse)
    torch.cuda.synchronize()
    np_args = {n: (t.double() if t.is_floating_point() else t).cpu().numpy()
               for n, t in args.items()}
    slopes, docs = np_args.get("slopes"), np_args.get("docs")
    ref, ref_lse = spec_reference(
        spec, np_args,
        mask_mod=lag_mask if docs is None else
        (lambda b, h, i, j: docs[b, i] == docs[b, j]),
        score_mod=(lambda s, b, h, i, j: s + slopes[h] * (j - i)) if slopes is not None else None)
    got = out.double().cpu().numpy()
    got_lse = lse.double().cpu().numpy()
    written = not np.isnan(got).any() and not np.isnan(got_lse).any()
    rel = np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)
    finite = np.isfinite(ref_lse)
    lse_err = np.abs(got_lse[finite] - ref_lse[finite]).max() if finite.any() else 0.0
    masked_ok = bool(np.all(np.isneginf(got_lse[~finite])))
    # lse is [B, H, S] ([H, T] varlen); out rows are [B, S, H] ([T, H];
    # [B, H, S] for bhsd).
    if spec.varlen:
        empty_rows = (~finite).T
    elif spec.layout == "bhsd":
        empty_rows = ~finite
    else:
        empty_rows = (~finite).transpose(0, 2, 1)
    masked_rows_zero = bool(np.all(got[empty_rows] == 0))
    tol = 1e-2 if spec.dtype == "bf16" else 2e-3
    ok = rel < tol and written and masked_ok and masked_rows_zero and lse_err < 1e-2
    print(f"{'PASS' if ok else 'FAIL'} {chip} {name} {shape}: rel {rel:.2e}, max abs "
          f"{np.abs(got - ref).max():.2e}, lse {lse_err:.2e}, fully masked rows "
          f"{int((~finite).sum())} (out 0 and lse -inf: {masked_ok and masked_rows_zero}), "
          f"all written {written}")
    return ok


def main():
    if "--compile" in sys.argv:
        compile_all()
        return
    import torch
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    print(torch.cuda.get_device_name(), torch.__version__)
    results = []
    only = [a for a in sys.argv[1:] if not a.startswith("-")]
    for chip in CHIPS:
        for name, (spec, shapes) in CASES.items():
            if only and name not in only:
                continue
            for shape in shapes:
                try:
                    results.append(run_case(chip, name, spec, shape, torch, gen))
                except Exception as e:  # report and go on
                    print(f"FAIL {chip} {name} {shape}: {type(e).__name__}: {e}")
                    results.append(False)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
