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


def llama_rope(x, positions, theta, scale):
    """FlashInfer's ROPE_LLAMA on x [n, H, D] at positions [n]: dims d and
    d + D/2 turn by pos * (1 / scale) * (1 / theta)^(2d / D)."""
    x = np.asarray(x, np.float64)
    d = x.shape[-1]
    freq = (1.0 / scale) * (1.0 / theta) ** (2.0 * np.arange(d // 2) / d)
    ang = np.asarray(positions, np.float64)[:, None, None] * freq
    lo, hi = x[..., :d // 2], x[..., d // 2:]
    return np.concatenate([lo * np.cos(ang) - hi * np.sin(ang),
                           hi * np.cos(ang) + lo * np.sin(ang)], -1)


def flashinfer_ref(q, k, v, causal=False, window_left=-1, cap=None, scale=None, keep=None,
                   rope=None):
    """q [qo, Hq, D], k/v [kv, Hkv, D] (NHD) -> out [qo, Hq, Dv], lse2 [qo, Hq].
    rope: (theta, scale) of ROPE_LLAMA (queries at kv - qo + i, keys at j)."""
    qo, hq, d = q.shape
    kv, hkv, _ = k.shape
    if rope is not None:
        q = llama_rope(q, np.arange(qo) + kv - qo, *rope)
        k = llama_rope(k, np.arange(kv), *rope)
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
    with pytest.raises(ValueError, match="pos_encoding_mode 'ALIBI' is not supported"):
        attn.single_prefill_with_kv_cache(q, k, k, pos_encoding_mode="ALIBI")
    with pytest.raises(ValueError, match="pos_encoding_mode must be 'NONE', 'ROPE_LLAMA'"):
        attn.single_prefill_with_kv_cache(q, k, k, pos_encoding_mode="ROPE")
    with pytest.raises(ValueError, match="rope theta must be a finite number > 0, got 0"):
        attn.single_prefill_with_kv_cache(q, k, k, pos_encoding_mode="ROPE_LLAMA",
                                          rope_theta=0)
    with pytest.raises(ValueError, match="rope scale must be a finite number > 0"):
        wrapper.plan(np.array([0, 4], np.int32), np.array([0, 8], np.int32), 2, 2, 16,
                     pos_encoding_mode="ROPE_LLAMA", rope_scale=float("nan"))
    with pytest.raises(ValueError, match="kv_layout must be 'NHD' or 'HND'"):
        attn.single_prefill_with_kv_cache(q, k, k, kv_layout="NDH")
    with pytest.raises(ValueError, match="q must be a 3-D tensor"):
        attn.single_prefill_with_kv_cache(q[0], k, k)
    with pytest.raises(ValueError, match="packed_custom_mask holds 8 bits"):
        attn.single_prefill_with_kv_cache(q, k, k, packed_custom_mask=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match=r"k_scale dequantizes an fp8 \(float8_e4m3fn\) KV "
                       "cache; this cache is not fp8"):
        attn.single_decode_with_kv_cache(q[0], k, k, k_scale=0.5)
    with pytest.raises(ValueError, match="q_scale is for fp8 queries"):
        attn.single_decode_with_kv_cache(q[0], k, k, q_scale=0.5)


def paged_cache(rng, lengths, page_size, hkv, d, layout, spare=3):
    """A [pages, 2, ...] cache with every sequence's pages shuffled through
    the pool, its page table, and each sequence's K and V ([len, Hkv, D])."""
    counts = [-(-n // page_size) for n in lengths]
    pool = sum(counts) + spare
    order = rng.permutation(pool)
    shape = (pool, 2, page_size, hkv, d) if layout == "NHD" else (pool, 2, hkv, page_size, d)
    cache = rand(rng, *shape)
    indptr = np.cumsum([0] + counts).astype(np.int32)
    indices = order[:sum(counts)].astype(np.int32)
    last = np.array([n - (c - 1) * page_size if c else 1 for n, c in zip(lengths, counts)],
                    np.int32)
    seqs = []
    for b, n in enumerate(lengths):
        pages = cache[indices[indptr[b]:indptr[b + 1]]]  # [n_pages, 2, ...]
        if layout == "HND":
            pages = pages.swapaxes(2, 3)  # [n_pages, 2, page_size, Hkv, D]
        kv = pages.swapaxes(1, 2).reshape(-1, 2, hkv, d)  # [n_pages * page_size, 2, ...]
        seqs.append((kv[:n, 0], kv[:n, 1]))
    return cache, indptr, indices, last, seqs


@pytest.mark.parametrize("layout", ["NHD", "HND"])
def test_batch_decode_paged(rng, layout):
    lengths = [37, 0, 1, 16, 100]
    cache, indptr, indices, last, seqs = paged_cache(rng, lengths, 16, 2, 32, layout)
    wrapper = attn.BatchDecodeWithPagedKVCacheWrapper(np.zeros(16, np.uint8), layout)
    wrapper.plan(indptr, indices, last, 8, 2, 32, 16, logits_soft_cap=10.0)
    q = rand(rng, 5, 8, 32)
    for cache_arg in (cache, (cache[:, 0], cache[:, 1])):
        out, lse = wrapper.run(q, cache_arg, return_lse=True)
        assert out.shape == (5, 8, 32) and lse.shape == (5, 8)
        for b, (k, v) in enumerate(seqs):
            if lengths[b] == 0:  # no keys: out 0, lse -inf
                assert np.all(out[b] == 0) and np.all(np.isneginf(lse[b]))
                continue
            want, want_lse = flashinfer_ref(q[b][None], k, v, cap=10.0)
            assert rel(out[b], want[0]) < 1e-5, b
            assert np.abs(lse[b] - want_lse[0]).max() < 1e-4


def test_batch_prefill_paged_causal(rng):
    qo, kv = [3, 1, 0, 20], [40, 1, 5, 20]
    cache, indptr, indices, last, seqs = paged_cache(rng, kv, 8, 2, 16, "NHD")
    qo_indptr = np.cumsum([0] + qo).astype(np.int32)
    wrapper = attn.BatchPrefillWithPagedKVCacheWrapper(np.zeros(16, np.uint8))
    wrapper.plan(qo_indptr, indptr, indices, last, 4, 2, 16, 8, causal=True, window_left=9)
    q = rand(rng, sum(qo), 4, 16)
    out, lse = wrapper.run(q, cache, return_lse=True)
    for b, (k, v) in enumerate(seqs):
        rows = slice(qo_indptr[b], qo_indptr[b + 1])
        if not qo[b]:
            continue
        want, want_lse = flashinfer_ref(q[rows], k, v, causal=True, window_left=9)
        assert rel(out[rows], want) < 1e-5, b
        assert np.abs(lse[rows] - want_lse).max() < 1e-4


def test_batch_prefill_paged_custom_mask(rng):
    """FlashInfer's flattened per-request masks over (qo_len, kv_len) on a
    paged cache, bool and packed."""
    qo, kv = [3, 6, 2], [7, 20, 1]
    cache, indptr, indices, last, seqs = paged_cache(rng, kv, 8, 2, 16, "NHD")
    qo_indptr = np.cumsum([0] + qo).astype(np.int32)
    keeps = [rng.random((a, c)) < 0.6 for a, c in zip(qo, kv)]
    flat = np.concatenate([m.reshape(-1) for m in keeps])
    q = rand(rng, sum(qo), 2, 16)
    for kwargs in ({"custom_mask": flat},
                   {"packed_custom_mask": np.packbits(flat, bitorder="little")}):
        w = attn.BatchPrefillWithPagedKVCacheWrapper(np.zeros(16, np.uint8))
        w.plan(qo_indptr, indptr, indices, last, 2, 2, 16, 8, **kwargs)
        out = w.run(q, cache)
        for b, (k, v) in enumerate(seqs):
            rows = slice(qo_indptr[b], qo_indptr[b + 1])
            want, _ = flashinfer_ref(q[rows], k, v, keep=keeps[b])
            assert rel(out[rows], want) < 1e-5, b


def test_paged_kv_data_type_and_scales_are_checked(rng):
    """plan()'s kv_data_type must match the cache run() gets; k_scale /
    v_scale belong to an fp8 cache."""
    cache, indptr, indices, last, _ = paged_cache(rng, [20, 5], 16, 2, 16, "NHD")
    w = attn.BatchDecodeWithPagedKVCacheWrapper(np.zeros(16, np.uint8))
    w.plan(indptr, indices, last, 2, 2, 16, 16, kv_data_type="float8_e4m3fn")
    with pytest.raises(TypeError, match="the cache holds float32 but plan\\(\\) said "
                       "kv_data_type=float8_e4m3fn"):
        w.run(rand(rng, 2, 2, 16), cache)
    w.plan(indptr, indices, last, 2, 2, 16, 16)
    with pytest.raises(ValueError, match="v_scale dequantizes an fp8"):
        w.run(rand(rng, 2, 2, 16), cache, v_scale=2.0)
    assert w.run(rand(rng, 2, 2, 16), cache, k_scale=1.0).shape == (2, 2, 16)


def test_paged_page_table_errors(rng):
    cache, indptr, indices, last, _ = paged_cache(rng, [20, 5], 16, 2, 16, "NHD")
    w = attn.BatchDecodeWithPagedKVCacheWrapper(np.zeros(16, np.uint8))
    q = rand(rng, 2, 2, 16)
    with pytest.raises(ValueError, match="run\\(\\) before plan\\(\\)"):
        w.run(q, cache)
    with pytest.raises(ValueError, match="last_page_len\\[1\\] = 17 must lie in"):
        w.plan(indptr, indices, np.array([4, 17], np.int32), 2, 2, 16, 16)
    with pytest.raises(ValueError, match="paged_kv_indptr ends at 3 but paged_kv_indices has 2"):
        w.plan(indptr, indices[:2], last, 2, 2, 16, 16)
    with pytest.raises(ValueError, match="never decrease"):
        w.plan(np.array([0, 2, 1], np.int32), indices, last, 2, 2, 16, 16)
    with pytest.raises(ValueError, match="must have batch_size = 2 entries"):
        w.plan(indptr, indices, last[:1], 2, 2, 16, 16)
    w.plan(indptr, np.array([0, 1, 99], np.int32), last, 2, 2, 16, 16)
    with pytest.raises(ValueError, match="refers to page 99, but k_cache holds"):
        w.run(q, cache)
    w.plan(indptr, indices, last, 2, 2, 16, 8)
    with pytest.raises(ValueError, match="dimension 1 must be page_size = 8"):
        w.run(q, cache)
    w.plan(indptr, indices, last, 2, 2, 16, 16)
    with pytest.raises(ValueError, match="q must have shape \\(2, 2, 16\\)"):
        w.run(q[:1], cache)
    with pytest.raises(ValueError, match="cache holds 2 kv heads of head_dim 16; plan\\(\\) said 1"):
        w.plan(indptr, indices, last, 2, 1, 16, 16)
        w.run(q, cache)
    p = attn.BatchPrefillWithPagedKVCacheWrapper(np.zeros(16, np.uint8))
    with pytest.raises(ValueError, match="custom_mask must have 25 entries"):
        p.plan(np.array([0, 1, 2], np.int32), indptr, indices, last, 2, 2, 16, 16,
               custom_mask=np.ones(24, bool))
    with pytest.raises(ValueError, match="qo_indptr must have batch_size \\+ 1 = 3"):
        p.plan(np.array([0, 1], np.int32), indptr, indices, last, 2, 2, 16, 16)


# ------------------------------------------------------------ ROPE_LLAMA ---
def test_rope_single_prefill_and_decode(rng):
    """q and k rotated in the kernel: queries at kv_len - qo_len + i (append
    after a cached prefix), keys at j; theta and scale as given."""
    q, k, v = rand(rng, 21, 8, 32), rand(rng, 75, 2, 32), rand(rng, 75, 2, 32)
    out, lse = attn.single_prefill_with_kv_cache(q, k, v, causal=True,
                                                 pos_encoding_mode="ROPE_LLAMA",
                                                 rope_theta=5e5, rope_scale=2.0,
                                                 return_lse=True)
    want, want_lse = flashinfer_ref(q, k, v, causal=True, rope=(5e5, 2.0))
    plain, _ = flashinfer_ref(q, k, v, causal=True)
    assert rel(out, want) < 1e-5 and np.abs(lse - want_lse).max() < 1e-4
    assert rel(plain, want) > 1e-2  # the rotation matters at these positions
    out = attn.single_decode_with_kv_cache(q[0], k, v, pos_encoding_mode="ROPE_LLAMA")
    want, _ = flashinfer_ref(q[:1], k, v, rope=(1e4, 1.0))
    assert rel(out, want[0]) < 1e-5


def test_rope_batch_prefill_ragged(rng):
    """Each request's positions start at 0: its queries are the last qo_len
    of its kv_len keys."""
    qo, kv = [4, 0, 9, 1], [10, 3, 9, 40]
    qo_indptr = np.cumsum([0] + qo).astype(np.int32)
    kv_indptr = np.cumsum([0] + kv).astype(np.int32)
    wrapper = attn.BatchPrefillWithRaggedKVCacheWrapper(np.zeros(16, np.uint8))
    wrapper.plan(qo_indptr, kv_indptr, 4, 2, 16, causal=True, pos_encoding_mode="ROPE_LLAMA")
    q, k, v = rand(rng, sum(qo), 4, 16), rand(rng, sum(kv), 2, 16), rand(rng, sum(kv), 2, 16)
    out = wrapper.run(q, k, v)
    for b in range(len(qo)):
        qs, ks = slice(qo_indptr[b], qo_indptr[b + 1]), slice(kv_indptr[b], kv_indptr[b + 1])
        if qo[b]:
            want, _ = flashinfer_ref(q[qs], k[ks], v[ks], causal=True, rope=(1e4, 1.0))
            assert rel(out[qs], want) < 1e-5, b


@pytest.mark.parametrize("layout", ["NHD", "HND"])
def test_rope_paged_decode_and_prefill(rng, layout):
    """Keys at their slot in the request's pages (pages shuffled in the
    pool), the decode query at kv_len - 1."""
    lengths = [37, 1, 16, 70]
    cache, indptr, indices, last, seqs = paged_cache(rng, lengths, 16, 2, 32, layout)
    dec = attn.BatchDecodeWithPagedKVCacheWrapper(np.zeros(16, np.uint8), layout)
    dec.plan(indptr, indices, last, 4, 2, 32, 16, pos_encoding_mode="ROPE_LLAMA",
             rope_theta=1e6)
    q = rand(rng, 4, 4, 32)
    out = dec.run(q, cache)
    for b, (k, v) in enumerate(seqs):
        want, _ = flashinfer_ref(q[b][None], k, v, rope=(1e6, 1.0))
        assert rel(out[b], want[0]) < 1e-5, b
    qo = [3, 1, 0, 12]
    qo_indptr = np.cumsum([0] + qo).astype(np.int32)
    pre = attn.BatchPrefillWithPagedKVCacheWrapper(np.zeros(16, np.uint8), layout)
    pre.plan(qo_indptr, indptr, indices, last, 4, 2, 32, 16, causal=True,
             pos_encoding_mode="ROPE_LLAMA")
    qp = rand(rng, sum(qo), 4, 32)
    out = pre.run(qp, cache)
    for b, (k, v) in enumerate(seqs):
        rows = slice(qo_indptr[b], qo_indptr[b + 1])
        if qo[b]:
            want, _ = flashinfer_ref(qp[rows], k, v, causal=True, rope=(1e4, 1.0))
            assert rel(out[rows], want) < 1e-5, b


def test_fp8_cache_on_the_cpu_backend(rng):
    """A float8_e4m3fn cache (torch CPU tensors: numpy has no fp8) with
    k_scale / v_scale through the CPU lowering: the reference dequantizes
    the same fp8 values."""
    torch = pytest.importorskip("torch")
    q = torch.from_numpy(rand(rng, 8, 32)).to(torch.bfloat16)
    k = torch.from_numpy(rand(rng, 70, 2, 32)).to(torch.float8_e4m3fn)
    v = torch.from_numpy(rand(rng, 70, 2, 32)).to(torch.float8_e4m3fn)
    out = attn.single_decode_with_kv_cache(q, k, v, k_scale=0.5, v_scale=3.0)
    want, _ = flashinfer_ref(q.float().numpy()[None], k.float().numpy() * 0.5,
                             v.float().numpy() * 3.0)
    assert out.dtype == torch.bfloat16
    assert rel(out.float().numpy(), want[0]) < 1e-2
