"""The FlashInfer API through the CPU backend (f32, numpy) against an
independent float64 computation written from FlashInfer's documented
semantics: bottom-right causal, window_left, soft cap on the scaled logits,
flattened custom masks (bool or packed little-endian), base-2 lse; and the
bad inputs the seed describes, rejected before anything runs."""
import math

import numpy as np
import pytest

import attn


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def rel(a, b):
    return np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30)


def flashinfer_ref(q, k, v, causal=False, window_left=-1, cap=None, scale=None, keep=None):
    """q [qo, Hq, D], k/v [kv, Hkv, D] (NHD) -> out [qo, Hq, Dv], lse2 [qo, Hq]."""
    qo, hq, d = q.shape
    kv, hkv, _ = k.shape
    scale = 1 / math.sqrt(d) if scale is None else scale
    out = np.zeros((qo, hq, v.shape[-1]))
    lse = np.full((qo, hq), -np.inf)
    i = np.arange(qo)[:, None] + kv - qo  # bottom-right positions
    j = np.arange(kv)[None, :]
    allowed = np.ones((qo, kv), bool)
    if causal:
        allowed &= j <= i
    if window_left >= 0:
        allowed &= j >= i - window_left
    if keep is not None:
        allowed &= keep
    for h in range(hq):
        hk = h // (hq // hkv)
        s = q[:, h].astype(np.float64) @ k[:, hk].astype(np.float64).T * scale
        if cap:
            s = cap * np.tanh(s / cap)
        s = np.where(allowed, s, -np.inf)
        m = s.max(1, keepdims=True)
        safe = np.where(np.isfinite(m), m, 0)
        p = np.exp(s - safe)
        total = p.sum(1)
        out[:, h] = np.where(total[:, None] > 0, (p @ v[:, hk]) / np.maximum(total, 1e-300)[:, None], 0)
        lse[:, h] = np.where(total > 0, (safe[:, 0] + np.log(np.maximum(total, 1e-300))) / math.log(2),
                             -np.inf)
    return out, lse


@pytest.mark.parametrize("layout", ["NHD", "HND"])
def test_single_prefill_causal_window_softcap_gqa(rng, layout):
    q, k, v = rand(rng, 37, 8, 32), rand(rng, 90, 2, 32), rand(rng, 90, 2, 32)
    kk, vv = (k, v) if layout == "NHD" else (k.swapaxes(0, 1).copy(), v.swapaxes(0, 1).copy())
    out, lse = attn.single_prefill_with_kv_cache(q, kk, vv, causal=True, kv_layout=layout,
                                                 window_left=20, logits_soft_cap=5.0,
                                                 sm_scale=0.3, return_lse=True)
    want, want_lse = flashinfer_ref(q, k, v, causal=True, window_left=20, cap=5.0, scale=0.3)
    assert out.shape == (37, 8, 32) and lse.shape == (37, 8)
    assert rel(out, want) < 1e-5
    assert np.abs(lse - want_lse).max() < 1e-4


def test_single_prefill_custom_masks_bool_and_packed(rng):
    q, k, v = rand(rng, 13, 4, 16), rand(rng, 29, 4, 16), rand(rng, 29, 4, 16)
    keep = rng.random((13, 29)) < 0.5
    keep[3] = False  # a fully masked row: out 0, lse -inf
    want, want_lse = flashinfer_ref(q, k, v, keep=keep)
    packed = np.packbits(keep.reshape(-1), bitorder="little")
    for kwargs in ({"custom_mask": keep.reshape(-1)}, {"packed_custom_mask": packed}):
        out, lse = attn.single_prefill_with_kv_cache_return_lse(q, k, v, **kwargs)
        assert rel(out, want) < 1e-5
        assert np.all(out[3] == 0) and np.all(np.isneginf(lse[3]))
        finite = np.isfinite(want_lse)
        assert np.abs(lse[finite] - want_lse[finite]).max() < 1e-4


def test_single_decode(rng):
    q, k, v = rand(rng, 8, 64), rand(rng, 300, 2, 64), rand(rng, 300, 2, 64)
    out, lse = attn.single_decode_with_kv_cache(q, k, v, return_lse=True, logits_soft_cap=30.0)
    want, want_lse = flashinfer_ref(q[None], k, v, cap=30.0)
    assert out.shape == (8, 64) and lse.shape == (8,)
    assert rel(out, want[0]) < 1e-5 and np.abs(lse - want_lse[0]).max() < 1e-4


def test_batch_prefill_ragged_plan_once_run_per_layer(rng):
    qo, kv = [5, 0, 17, 1], [9, 4, 17, 30]
    qo_indptr = np.cumsum([0] + qo).astype(np.int32)
    kv_indptr = np.cumsum([0] + kv).astype(np.int32)
    wrapper = attn.BatchPrefillWithRaggedKVCacheWrapper(np.zeros(16, np.uint8), "NHD")
    wrapper.plan(qo_indptr, kv_indptr, 4, 2, 32, causal=True, window_left=6)
    for layer in range(2):
        q, k, v = rand(rng, sum(qo), 4, 32), rand(rng, sum(kv), 2, 32), rand(rng, sum(kv), 2, 32)
        out, lse = wrapper.run(q, k, v, return_lse=True)
        assert out.shape == (sum(qo), 4, 32) and lse.shape == (sum(qo), 4)
        for b in range(len(qo)):
            qs, ks = slice(qo_indptr[b], qo_indptr[b + 1]), slice(kv_indptr[b], kv_indptr[b + 1])
            want, want_lse = flashinfer_ref(q[qs], k[ks], v[ks], causal=True, window_left=6)
            assert rel(out[qs], want) < 1e-5 if qo[b] else out[qs].size == 0
            finite = np.isfinite(want_lse)
            assert np.all(np.isneginf(lse[qs][~finite]))
            if finite.any():
                assert np.abs(lse[qs][finite] - want_lse[finite]).max() < 1e-4


def test_batch_prefill_ragged_custom_mask(rng):
    qo, kv = [3, 6], [7, 4]
    qo_indptr = np.cumsum([0] + qo).astype(np.int32)
    kv_indptr = np.cumsum([0] + kv).astype(np.int32)
    keeps = [rng.random((a, c)) < 0.6 for a, c in zip(qo, kv)]
    flat = np.concatenate([m.reshape(-1) for m in keeps])
    wrapper = attn.BatchPrefillWithRaggedKVCacheWrapper(np.zeros(16, np.uint8))
    wrapper.plan(qo_indptr, kv_indptr, 2, 2, 16, custom_mask=flat)
    q, k, v = rand(rng, 9, 2, 16), rand(rng, 11, 2, 16), rand(rng, 11, 2, 16)
    out = wrapper.run(q, k, v)
    for b in range(2):
        qs, ks = slice(qo_indptr[b], qo_indptr[b + 1]), slice(kv_indptr[b], kv_indptr[b + 1])
        want, _ = flashinfer_ref(q[qs], k[ks], v[ks], keep=keeps[b])
        assert rel(out[qs], want) < 1e-5


def test_bad_inputs_are_rejected_before_running(rng):
    q, k = rand(rng, 4, 2, 16), rand(rng, 8, 2, 16)
    wrapper = attn.BatchPrefillWithRaggedKVCacheWrapper(np.zeros(16, np.uint8))
    with pytest.raises(ValueError, match="run\\(\\) before plan\\(\\)"):
        wrapper.run(q, k, k)
    with pytest.raises(ValueError, match="same length"):
        wrapper.plan(np.array([0, 4], np.int32), np.array([0, 4, 8], np.int32), 2, 2, 16)
    with pytest.raises(ValueError, match="must not decrease"):
        wrapper.plan(np.array([0, 4, 2], np.int32), np.array([0, 4, 8], np.int32), 2, 2, 16)
    with pytest.raises(ValueError, match="multiple of the number of kv heads"):
        wrapper.plan(np.array([0, 4], np.int32), np.array([0, 8], np.int32), 3, 2, 16)
    wrapper.plan(np.array([0, 4], np.int32), np.array([0, 8], np.int32), 2, 2, 16)
    with pytest.raises(ValueError, match=r"k must have shape \(8, 2, 16\)"):
        wrapper.run(q, k[:7], k[:7])
    with pytest.raises(ValueError, match="custom_mask must have 32 entries"):
        wrapper.plan(np.array([0, 4], np.int32), np.array([0, 8], np.int32), 2, 2, 16,
                     custom_mask=np.ones(31, bool))
    with pytest.raises(ValueError, match="pos_encoding_mode 'ROPE_LLAMA' is not supported"):
        attn.single_prefill_with_kv_cache(q, k, k, pos_encoding_mode="ROPE_LLAMA")
    with pytest.raises(ValueError, match="kv_layout must be 'NHD' or 'HND'"):
        attn.single_prefill_with_kv_cache(q, k, k, kv_layout="NDH")
    with pytest.raises(ValueError, match="q must be a 3-D tensor"):
        attn.single_prefill_with_kv_cache(q[0], k, k)
    with pytest.raises(ValueError, match="packed_custom_mask holds 8 bits"):
        attn.single_prefill_with_kv_cache(q, k, k, packed_custom_mask=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="k_scale is for fp8"):
        attn.single_decode_with_kv_cache(q[0], k, k, k_scale=0.5)
