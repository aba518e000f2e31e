"""Every public function through the CPU backend on fresh random inputs,
against the float64 oracle (attn.reference) or an independent numpy
computation. Tolerances: f32 outputs, so 1e-4 relative."""
import math

import numpy as np
import pytest

import attn
from attn._ir import AttentionSpec, Causal, MaskMod, ScoreMod, SlidingWindow
from attn.reference import spec_reference


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def rel(a, b):
    return np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30)


def test_flex_attention_score_mod_and_mask_mod_with_captures(rng):
    q, k, v = rand(rng, 2, 4, 70, 32), rand(rng, 2, 2, 90, 32), rand(rng, 2, 2, 90, 32)
    slopes = np.array([0.3, 0.1, 0.05, 0.2], dtype=np.float32)
    docs_q = np.repeat(np.arange(7), 10).astype(np.int32)
    docs_k = np.repeat(np.arange(9), 10).astype(np.int32)

    def alibi(score, b, h, q_idx, kv_idx):
        return score - slopes[h] * abs(q_idx - kv_idx)

    def same_doc(b, h, q_idx, kv_idx):
        return (docs_q[q_idx] == docs_k[kv_idx]) & (kv_idx <= q_idx + 5)

    mask = attn.create_block_mask(same_doc, 2, 4, 70, 90)
    out, lse = attn.flex_attention(q, k, v, score_mod=alibi, block_mask=mask, scale=0.2,
                                   enable_gqa=True, return_lse=True)
    spec = AttentionSpec(dtype="f32", heads_q=4, heads_kv=2, head_dim=32, layout="bhsd",
                         masks=(MaskMod(),), score_mods=(ScoreMod(),), scale=0.2, lse=True)
    ref, ref_lse = spec_reference(
        spec, {"q": q, "k": k, "v": v},
        mask_mod=lambda b, h, i, j: (docs_q[i] == docs_k[j]) & (j <= i + 5),
        score_mod=lambda s, b, h, i, j: s - slopes[h] * np.abs(i - j))
    assert out.shape == (2, 4, 70, 32) and lse.shape == (2, 4, 70)
    assert rel(out, ref) < 1e-5
    assert np.abs(lse - ref_lse).max() < 1e-4


# mask_mods whose conjuncts the compiler lifts into closed-form atoms
# (attn-lift-mask-mods: causal, windows, prefix-LM, the diagonal), mixed
# with conjuncts it keeps (captured ids, a strict q > kv), on 70 queries
# against 90 keys (the indices stay top-left aligned, as in the region).
DOCS = np.repeat(np.arange(9), 10).astype(np.int32)
LIFTED_MASK_MODS = {
    "causal": lambda b, h, q, kv: q >= kv,
    "causal_window": lambda b, h, q, kv: (q >= kv) & (q - kv <= 17),
    "prefix": lambda b, h, q, kv: (kv < 23) | (q >= kv),
    "right_band": lambda b, h, q, kv: kv <= q + 5,
    "diagonal": lambda b, h, q, kv: q == kv,
    "strict": lambda b, h, q, kv: q > kv,
    "band_and_docs": lambda b, h, q, kv: (q - kv <= 9) & (kv - q <= 3) & (DOCS[q] == DOCS[kv]),
}


@pytest.mark.parametrize("name", sorted(LIFTED_MASK_MODS))
def test_flex_attention_lifted_mask_mods(rng, name):
    mask_mod = LIFTED_MASK_MODS[name]
    q, k, v = rand(rng, 1, 2, 70, 16), rand(rng, 1, 2, 90, 16), rand(rng, 1, 2, 90, 16)
    mask = attn.create_block_mask(mask_mod, None, None, 70, 90, BLOCK_SIZE=16)
    out, lse = attn.flex_attention(q, k, v, block_mask=mask, return_lse=True)
    spec = AttentionSpec(dtype="f32", heads_q=2, heads_kv=2, head_dim=16, layout="bhsd",
                         masks=(MaskMod(),), lse=True)
    ref, ref_lse = spec_reference(spec, {"q": q, "k": k, "v": v}, mask_mod=mask_mod)
    assert rel(out, ref) < 1e-5
    finite = np.isfinite(ref_lse)
    assert np.array_equal(np.isfinite(lse), finite)
    assert np.abs(lse[finite] - ref_lse[finite]).max() < 1e-4


def test_flex_attention_fully_masked_rows_give_zero(rng):
    q, k, v = (rand(rng, 1, 2, 40, 16) for _ in range(3))
    mask = attn.create_block_mask(lambda b, h, i, j: j < i - 10, 1, 2, 40, 40)
    out, lse = attn.flex_attention(q, k, v, block_mask=mask, return_lse=True)
    assert np.all(out[:, :, :11] == 0) and np.all(np.isneginf(lse[:, :, :11]))
    assert np.isfinite(lse[:, :, 11:]).all()


def test_flex_attention_softcap_with_torch_style_where(rng):
    q, k, v = (rand(rng, 1, 2, 33, 16) for _ in range(3))
    out = attn.flex_attention(q, k, v, score_mod=lambda s, b, h, i, j:
                              attn.where(j > i, s - 1.0, 20.0 * attn.tanh(s / 20.0)))
    spec = AttentionSpec(dtype="f32", heads_q=2, heads_kv=2, head_dim=16, layout="bhsd",
                         score_mods=(ScoreMod(),))
    ref, _ = spec_reference(spec, {"q": q, "k": k, "v": v}, score_mod=lambda s, b, h, i, j:
                            np.where(j > i, s - 1.0, 20.0 * np.tanh(s / 20.0)))
    assert rel(out, ref) < 1e-5


@pytest.mark.parametrize("causal,window", [(False, (None, None)), (True, (None, None)),
                                           (False, (16, 4)), (True, (30, None))])
def test_flash_dense(rng, causal, window):
    q, k, v = rand(rng, 2, 50, 8, 32), rand(rng, 2, 70, 2, 32), rand(rng, 2, 70, 2, 32)
    out, lse = attn.flash_dense_attn_func(q, k, v, is_causal=causal, window_size=window,
                                          softmax_scale=0.15, return_lse=True)
    masks = ((Causal("bottom_right"),) if causal else ())
    left, right = (-1 if x is None else x for x in window)
    if left >= 0 or right >= 0:
        masks += (SlidingWindow(left, right, "bottom_right"),)
    spec = AttentionSpec(dtype="f32", heads_q=8, heads_kv=2, head_dim=32, masks=masks,
                         scale=0.15, lse=True)
    ref, ref_lse = spec_reference(spec, {"q": q, "k": k, "v": v})
    assert rel(out, ref) < 1e-5
    finite = np.isfinite(ref_lse)
    assert np.abs(lse[finite] - ref_lse[finite]).max() < 1e-4


def test_flash_dense_varlen_with_seqused(rng):
    lens_q, lens_k = [5, 40, 0, 17], [9, 40, 3, 30]
    cu_q = np.cumsum([0] + lens_q).astype(np.int32)
    cu_k = np.cumsum([0] + lens_k).astype(np.int32)
    q, k, v = rand(rng, cu_q[-1], 4, 16), rand(rng, cu_k[-1], 4, 16), rand(rng, cu_k[-1], 4, 16)
    used_q = np.array([5, 30, 0, 17], np.int32)
    used_k = np.array([9, 35, 3, 1], np.int32)
    out, lse = attn.flash_dense_attn_varlen_func(q, k, v, cu_q, cu_k, 40, 40, is_causal=True,
                                                 seqused_q=used_q, seqused_k=used_k,
                                                 return_lse=True)
    spec = AttentionSpec(dtype="f32", heads_q=4, heads_kv=4, head_dim=16, varlen=True,
                         seqused=True, masks=(Causal("bottom_right"),), lse=True)
    ref, ref_lse = spec_reference(spec, {"q": q, "k": k, "v": v, "cu_seqlens_q": cu_q,
                                         "cu_seqlens_k": cu_k, "seqused_q": used_q,
                                         "seqused_k": used_k})
    assert lse.shape == (cu_q[-1], 4)  # the seed's [total, heads]
    assert rel(out, ref) < 1e-5
    finite = np.isfinite(ref_lse.T)
    assert np.abs(lse[finite] - ref_lse.T[finite]).max() < 1e-4
    assert np.all(np.isneginf(lse[~finite]))


def test_flash_sparse_threshold_zero_equals_dense(rng):
    q, k, v = (rand(rng, 1, 130, 2, 32) for _ in range(3))
    dense = attn.flash_dense_attn_func(q, k, v, is_causal=True)
    sparse0 = attn.flash_sparse_attn_func(q, k, v, is_causal=True, softmax_threshold=0.0)
    assert rel(sparse0, dense.astype(np.float64)) < 1e-6
    # A threshold above every block's weight keeps only each row's max block.
    sparse1 = attn.flash_sparse_attn_func(q, k, v, is_causal=True, softmax_threshold=0.999)
    assert np.isfinite(sparse1).all() and rel(sparse1, dense.astype(np.float64)) > 1e-3


def test_flash_gated_runs_and_checks_shapes(rng):
    q, k, v = (rand(rng, 1, 64, 2, 16) for _ in range(3))
    alpha, delta = rand(rng, 1, 2, 64), rand(rng, 1, 2, 64)
    out = attn.flash_gated_attn_func(q, k, v, alpha, delta, is_causal=True,
                                     is_logsigmoid_gate=False, gate_threshold=None,
                                     is_adapt_gate=False)
    assert out.shape == q.shape and np.isfinite(out).all()
    with pytest.raises(ValueError, match="alpha must have shape"):
        attn.flash_gated_attn_func(q, k, v, alpha[:, :1], delta)


@pytest.mark.parametrize("fn,layout", [(attn.flash_attention, "bhsd"),
                                       (attn.flash_attention_v2, "bshd")])
def test_diy_entries_with_seq_lens(rng, fn, layout):
    shape = (2, 3, 48, 32) if layout == "bhsd" else (2, 48, 3, 32)
    q, k, v = (rand(rng, *shape) for _ in range(3))
    lens = np.array([48, 20], np.int32)
    out = fn(q, k, v, causal=True, seq_lens=lens)
    qb, kb, vb = ((x if layout == "bhsd" else x.transpose(0, 2, 1, 3)) for x in (q, k, v))
    ref = np.zeros(qb.shape)
    for b, n in enumerate(lens):
        ref[b, :, :n] = attn.reference_attention(qb[b:b + 1, :, :n], kb[b:b + 1, :, :n],
                                                 vb[b:b + 1, :, :n], causal=True)[0]
    got = out if layout == "bhsd" else out.transpose(0, 2, 1, 3)
    assert rel(got, ref) < 1e-5


def test_diy_three_dim_input(rng):
    q, k, v = (rand(rng, 6, 40, 32) for _ in range(3))
    out = attn.flash_attention(q, k, v)
    ref = attn.reference_attention(q[:, None].astype(np.float64), k[:, None].astype(np.float64),
                                   v[:, None].astype(np.float64))[:, 0]
    assert out.shape == q.shape and rel(out, ref) < 1e-5


def test_validate_attention_on_cpu():
    ok, diff = attn.validate_attention(batch=1, heads=2, seq_len=64, head_dim=32,
                                       dtype="float32", device="cpu")
    assert ok and diff < 1e-4


def test_f16_inputs(rng):
    q, k, v = (rng.standard_normal((1, 2, 80, 64)).astype(np.float16) for _ in range(3))
    out = attn.flex_attention(q, k, v)
    assert out.dtype == np.float16
    spec = AttentionSpec(dtype="f16", heads_q=2, heads_kv=2, head_dim=64, layout="bhsd")
    ref, _ = spec_reference(spec, {"q": q, "k": k, "v": v})
    assert rel(out, ref) < 2e-3


@pytest.mark.parametrize("threshold", [None, 0.02, 0.3])
def test_sparse_softmax_matches_the_reference(rng, threshold):
    q, k, v = (rand(rng, 1, 300, 2, 64) * 2 for _ in range(3))
    out, lse = attn.flash_sparse_attn_func(q, k, v, is_causal=True, softmax_threshold=threshold,
                                           return_lse=True)
    spec = AttentionSpec(dtype="f32", heads_q=2, heads_kv=2, head_dim=64,
                         masks=(Causal("bottom_right"),), sparse_softmax=(threshold, 64), lse=True)
    ref, ref_lse = spec_reference(spec, {"q": q, "k": k, "v": v})
    assert rel(out, ref) < 1e-5 and np.abs(lse - ref_lse).max() < 1e-4


@pytest.mark.parametrize("logsigmoid,threshold,adaptive", [(True, None, False),
                                                           (True, -3.0, True),
                                                           (False, -1.0, False)])
def test_gated_matches_the_reference(rng, logsigmoid, threshold, adaptive):
    q, k, v = (rand(rng, 2, 100, 4, 32) for _ in range(3))
    kk, vv = rand(rng, 2, 120, 2, 32), rand(rng, 2, 120, 2, 32)
    alpha, delta = rand(rng, 2, 4, 100), rand(rng, 2, 2, 120)
    out = attn.flash_gated_attn_func(q, kk, vv, alpha, delta, is_causal=True,
                                     gate_threshold=threshold, is_logsigmoid_gate=logsigmoid,
                                     is_adapt_gate=adaptive)
    spec = AttentionSpec(dtype="f32", heads_q=4, heads_kv=2, head_dim=32,
                         masks=(Causal("bottom_right"),),
                         gate=("logsigmoid" if logsigmoid else "linear", threshold, adaptive))
    ref, _ = spec_reference(spec, {"q": q, "k": kk, "v": vv, "gate_alpha": alpha,
                                   "gate_delta": delta})
    assert rel(out, ref) < 1e-5


def test_relative_position_bias_from_a_2d_table(rng):
    """FlexAttention's gallery: s + bias[h, i - j + S - 1] from a captured
    [H, 2S - 1] table (and a 2-D table read out of range gives 0)."""
    s_len, heads = 48, 2
    q, k, v = (rand(rng, 1, heads, s_len, 32) for _ in range(3))
    table = rng.standard_normal((heads, 2 * s_len - 1)).astype(np.float32)

    def rel_bias(score, b, h, q_idx, kv_idx):
        return score + table[h, q_idx - kv_idx + s_len - 1]
    out = attn.flex_attention(q, k, v, score_mod=rel_bias)
    i, j = np.arange(s_len)[:, None], np.arange(s_len)[None, :]
    s = np.einsum("bhqd,bhkd->bhqk", q.astype(np.float64), k.astype(np.float64)) / math.sqrt(32)
    s = s + table[:, i - j + s_len - 1][None].astype(np.float64)
    p = np.exp(s - s.max(-1, keepdims=True))
    ref = np.einsum("bhqk,bhkd->bhqd", p / p.sum(-1, keepdims=True), v.astype(np.float64))
    assert rel(out, ref) < 1e-4
    short = table[:, :s_len]  # j - i + ... past its end reads 0
    out2 = attn.flex_attention(q, k, v, score_mod=lambda sc, b, h, qi, kj:
                               sc + short[h, qi - kj + s_len - 1])
    idx = i - j + s_len - 1
    add = np.where(idx < s_len, short[:, np.clip(idx, 0, s_len - 1)], 0.0)
    s2 = np.einsum("bhqd,bhkd->bhqk", q.astype(np.float64), k.astype(np.float64)) / math.sqrt(32)
    s2 = s2 + add[None]
    p2 = np.exp(s2 - s2.max(-1, keepdims=True))
    ref2 = np.einsum("bhqk,bhkd->bhqd", p2 / p2.sum(-1, keepdims=True), v.astype(np.float64))
    assert rel(out2, ref2) < 1e-4


def test_and_or_masks_and_noop_mask(rng):
    """FlexAttention's mask combinators: and_masks(causal, window) keeps the
    pairs both keep, or_masks(causal, prefix) those either keeps, with no
    masks every pair (and) / none (or: each row gives 0); noop_mask keeps
    every pair. The same score_mod (attn.tanh) also runs eagerly on the
    reference's numpy scores."""
    q, k, v = (rand(rng, 1, 2, 50, 16) for _ in range(3))
    causal = lambda b, h, i, j: j <= i  # noqa: E731
    window = lambda b, h, i, j: i - j <= 7  # noqa: E731
    prefix = lambda b, h, i, j: j < 5  # noqa: E731
    cap = lambda s, b, h, i, j: 10.0 * attn.tanh(s / 10.0)  # noqa: E731
    spec = AttentionSpec(dtype="f32", heads_q=2, heads_kv=2, head_dim=16, layout="bhsd",
                         masks=(MaskMod(),), score_mods=(ScoreMod(),))
    for combined, keep in ((attn.and_masks(causal, window), lambda i, j: (j <= i) & (i - j <= 7)),
                           (attn.or_masks(causal, prefix), lambda i, j: (j <= i) | (j < 5)),
                           (attn.noop_mask, lambda i, j: j >= 0),
                           (attn.and_masks(), lambda i, j: j >= 0)):
        mask = attn.create_block_mask(combined, None, None, 50, 50, BLOCK_SIZE=16)
        out = attn.flex_attention(q, k, v, score_mod=cap, block_mask=mask)
        ref, _ = spec_reference(spec, {"q": q, "k": k, "v": v},
                                mask_mod=lambda b, h, i, j, keep=keep: keep(i, j),
                                score_mod=cap)
        assert rel(out, ref) < 1e-5, combined.__name__
    out = attn.flex_attention(q, k, v, block_mask=attn.create_block_mask(
        attn.or_masks(), None, None, 50, 50))
    assert np.all(out == 0)
    with pytest.raises(TypeError, match="mask_mod functions"):
        attn.and_masks(causal, 3)


def test_math_helpers_run_eagerly():
    x = np.array([-2.0, 0.0, 0.5])
    np.testing.assert_allclose(attn.tanh(x), np.tanh(x))
    np.testing.assert_allclose(attn.sigmoid(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(attn.exp(1.0), math.e)


@pytest.mark.parametrize("align,layout", [("bottom_right", "bshd"), ("top_left", "bhsd")])
def test_rope_spec_matches_the_reference(rng, align, layout):
    """A #attn.rope spec through the CPU backend against spec_reference (the
    oracle the GPU suite uses): Sq != Sk, GQA, Dv != D."""
    from attn._backend import execute
    from attn._ir import Rope
    spec = AttentionSpec(dtype="f32", heads_q=4, heads_kv=2, head_dim=32, head_dim_v=16,
                         layout=layout, masks=(Causal(align),),
                         rope=Rope(theta=1e4, scale=1.5, align=align), lse=True)
    sq, sk = 23, 61
    shape = (lambda s, h, d: (2, s, h, d)) if layout == "bshd" else \
        (lambda s, h, d: (2, h, s, d))
    args = {"q": rand(rng, *shape(sq, 4, 32)), "k": rand(rng, *shape(sk, 2, 32)),
            "v": rand(rng, *shape(sk, 2, 16))}
    out, lse = execute(spec, dict(args))
    ref, ref_lse = spec_reference(spec, args)
    plain, _ = spec_reference(AttentionSpec(**{**spec.__dict__, "rope": None}), args)
    assert rel(out, ref) < 1e-5 and rel(plain, ref) > 1e-2
    finite = np.isfinite(ref_lse)
    assert np.array_equal(finite, np.isfinite(lse))
    assert np.abs(lse[finite] - ref_lse[finite]).max() < 1e-4
