"""The FlashInfer API's GPU cases (in the form of cases.py): single and
batch prefill / decode, ragged and paged KV caches, CUDA graphs, merge."""
import math

from gpu_reference import ref_attention, rope_llama


def _base2(lse):
    return lse / math.log(2)


def flashinfer_single_prefill_hnd(env):
    """single_prefill_with_kv_cache: HND K/V, GQA 8/2, causal (bottom-right),
    soft cap, base-2 lse."""
    q = env.randn(300, 8, 128, "bfloat16")
    k, v = env.randn(2, 700, 128, "bfloat16"), env.randn(2, 700, 128, "bfloat16")
    out, lse = env.attn.single_prefill_with_kv_cache(q, k, v, causal=True, kv_layout="HND",
                                                     logits_soft_cap=20.0, return_lse=True)
    if env.prebuild:
        return []
    want, wlse = ref_attention(env, q.transpose(0, 1)[None], k[None], v[None],
                               keep=lambda h, i, j: j <= i + 400,
                               score=lambda s, h, i, j: 20.0 * env.torch.tanh(s / 20.0))
    return [("out", out, want[0].transpose(0, 1), "out"),
            ("lse", lse, _base2(wlse[0].transpose(0, 1)), "lse")]


def flashinfer_single_decode(env):
    """single_decode_with_kv_cache: one token, 32/8 heads (the decode
    strategy: split-KV and merge)."""
    q = env.randn(32, 128, "float16")
    k, v = env.randn(7000, 8, 128, "float16"), env.randn(7000, 8, 128, "float16")
    out, lse = env.attn.single_decode_with_kv_cache(q, k, v, return_lse=True)
    if env.prebuild:
        return []
    t = lambda x: x.transpose(0, 1)[None]
    want, wlse = ref_attention(env, q[None, :, None], t(k), t(v))
    return [("out", out, want[0, :, 0], "out"), ("lse", lse, _base2(wlse[0, :, 0]), "lse")]


def flashinfer_batch_ragged(env):
    """BatchPrefillWithRaggedKVCacheWrapper: plan once, run two layers;
    ragged lengths including an empty query; the float workspace buffer is
    the kernels' workspace."""
    torch = env.torch
    qo, kv = [40, 0, 300, 1], [64, 9, 300, 800]
    wrapper = env.attn.BatchPrefillWithRaggedKVCacheWrapper(
        None if env.prebuild else torch.empty(1 << 24, dtype=torch.uint8, device="cuda"))
    wrapper.plan(env.cumsum(qo), env.cumsum(kv), 8, 4, 64, causal=True)
    checks = []
    for layer in range(2):
        q = env.randn(sum(qo), 8, 64, "bfloat16")
        k, v = env.randn(sum(kv), 4, 64, "bfloat16"), env.randn(sum(kv), 4, 64, "bfloat16")
        out, lse = wrapper.run(q, k, v, return_lse=True)
        if env.prebuild:
            return []
        q0 = k0 = 0
        for a, c in zip(qo, kv):
            if a:
                t = lambda x: x.transpose(0, 1)[None]
                want, wlse = ref_attention(env, t(q[q0:q0 + a]), t(k[k0:k0 + c]),
                                           t(v[k0:k0 + c]), keep=lambda h, i, j: j <= i + c - a)
                checks += [(f"layer {layer} out {q0}", out[q0:q0 + a], want[0].transpose(0, 1),
                            "out"),
                           (f"layer {layer} lse {q0}", lse[q0:q0 + a],
                            _base2(wlse[0].transpose(0, 1)), "lse")]
            q0, k0 = q0 + a, k0 + c
    return checks


def flashinfer_merge_states(env):
    """Attention over two pieces of a cache merged with merge_state (base-2
    lse) equals attention over the whole cache; merge_states with an empty
    third piece (lse -inf) and merge_state_in_place agree with it."""
    torch = env.torch
    q = env.randn(50, 4, 64, "float16")
    k, v = env.randn(900, 4, 64, "float16"), env.randn(900, 4, 64, "float16")
    pieces = [(0, 300), (300, 900)] if not env.prebuild else [(0, 900)]
    whole = env.attn.single_prefill_with_kv_cache(q, k, v, return_lse=True)
    if env.prebuild:
        return []
    parts = [env.attn.single_prefill_with_kv_cache(q, k[a:b], v[a:b], return_lse=True)
             for a, b in pieces]
    merged, merged_lse = env.attn.merge_state(parts[0][0], parts[0][1], parts[1][0],
                                              parts[1][1])
    vs = torch.stack([p[0] for p in parts] + [torch.zeros_like(q)], 1)
    ss = torch.stack([p[1] for p in parts] + [torch.full_like(parts[0][1], float("-inf"))], 1)
    many, many_lse = env.attn.merge_states(vs, ss)
    in_v, in_s = parts[0][0].clone(), parts[0][1].clone()
    env.attn.merge_state_in_place(in_v, in_s, parts[1][0], parts[1][1])
    return [("merged", merged, whole[0], "out"), ("merged lse", merged_lse, whole[1], "lse"),
            ("merge_states", many, whole[0], "out"), ("merge_states lse", many_lse, whole[1], "lse"),
            ("in place", in_v, whole[0], "out"), ("in place lse", in_s, whole[1], "lse")]


def flashinfer_ragged_custom_mask(env):
    """BatchPrefillWithRaggedKVCacheWrapper with a flattened custom mask on
    the GPU (the varlen custom mask: each request's [qo, kv] matrix after the
    previous one), an empty request included."""
    torch = env.torch
    qo, kv = [20, 0, 130], [33, 5, 200]
    cells = sum(a * c for a, c in zip(qo, kv))
    if env.prebuild:
        import numpy as np
        mask = np.ones(cells, bool)
    else:
        mask = torch.rand(cells, device="cuda", generator=env.g) < 0.6
    w = env.attn.BatchPrefillWithRaggedKVCacheWrapper(None)
    w.plan(env.cumsum(qo), env.cumsum(kv), 4, 2, 64, custom_mask=mask)
    q = env.randn(sum(qo), 4, 64, "bfloat16")
    k, v = env.randn(sum(kv), 2, 64, "bfloat16"), env.randn(sum(kv), 2, 64, "bfloat16")
    out = w.run(q, k, v)
    if env.prebuild:
        return []
    checks, q0, k0, m0 = [], 0, 0, 0
    for a, c in zip(qo, kv):
        if a:
            keep = mask[m0:m0 + a * c].reshape(a, c)
            t = lambda x: x.transpose(0, 1)[None]
            want, _ = ref_attention(env, t(q[q0:q0 + a]), t(k[k0:k0 + c]), t(v[k0:k0 + c]),
                                    keep=lambda h, i, j: keep[i, j])
            checks.append((f"out {q0}", out[q0:q0 + a], want[0].transpose(0, 1), "out"))
        q0, k0, m0 = q0 + a, k0 + c, m0 + a * c
    return checks


def _paged(env, lengths, page_size, hkv, d, dtype, layout="NHD"):
    """A [pages, 2, ...] cache with shuffled pages, its page table, and each
    sequence's K and V as [1, Hkv, len, D] (for ref_attention)."""
    torch = env.torch
    counts = [-(-n // page_size) for n in lengths]
    pool = sum(counts) + 3
    dims = (pool, 2, page_size, hkv, d) if layout == "NHD" else (pool, 2, hkv, page_size, d)
    cache = env.randn(*dims, dtype)
    indptr = env.cumsum(counts)
    last = env.ints([n - (c - 1) * page_size if c else 1 for n, c in zip(lengths, counts)])
    if env.prebuild:
        import numpy as np
        return cache, indptr, np.arange(sum(counts), dtype=np.int32), last, None
    order = torch.randperm(pool, device="cuda", generator=env.g)[:sum(counts)].int()
    seqs = []
    for b, n in enumerate(lengths):
        pages = cache[order[int(indptr[b]):int(indptr[b + 1])].long()]
        if layout == "HND":
            pages = pages.transpose(2, 3)
        kv = pages.transpose(1, 2).reshape(-1, 2, hkv, d)[:n]
        seqs.append((kv[:, 0].transpose(0, 1)[None], kv[:, 1].transpose(0, 1)[None]))
    return cache, indptr, order, last, seqs


def flashinfer_paged_decode_graph(env):
    """BatchDecodeWithPagedKVCacheWrapper: 32/8 heads, page_size 16, lengths
    0, 1 and long; run from a CUDA graph with the table in the wrapper's
    buffers, replayed after the cache contents and the page table change."""
    torch = env.torch
    lengths = [5000, 0, 1, 333]
    cache, indptr, order, last, seqs = _paged(env, lengths, 16, 8, 128, "bfloat16")
    q = env.randn(4, 32, 128, "bfloat16")
    if env.prebuild:
        w = env.attn.BatchDecodeWithPagedKVCacheWrapper(None)
        w.plan(indptr, order, last, 32, 8, 128, 16)
        w.run(q, cache, return_lse=True)
        return []
    bufs = [torch.zeros(5, dtype=torch.int32, device="cuda"),
            torch.zeros(cache.shape[0], dtype=torch.int32, device="cuda"),
            torch.zeros(4, dtype=torch.int32, device="cuda")]
    w = env.attn.BatchDecodeWithPagedKVCacheWrapper(
        torch.empty(1 << 26, dtype=torch.uint8, device="cuda"), use_cuda_graph=True,
        paged_kv_indptr_buffer=bufs[0], paged_kv_indices_buffer=bufs[1],
        paged_kv_last_page_len_buffer=bufs[2])
    w.plan(indptr, order, last, 32, 8, 128, 16)
    out, lse = w.run(q, cache, return_lse=True)  # warm up (loads the kernels)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        g_out, g_lse = w.run(q, cache, return_lse=True)
    # New cache contents and a new table (the pages in reverse order).
    cache.copy_(torch.randn(cache.shape, device="cuda", generator=env.g).to(cache.dtype))
    order2 = order.flip(0).contiguous()
    w.plan(indptr, order2, last, 32, 8, 128, 16)
    graph.replay()
    checks = []
    for b, n in enumerate(lengths):
        if not n:
            checks.append((f"empty {b}", g_out[b], torch.zeros_like(g_out[b]).double(), "zero"))
            continue
        pages = cache[order2[int(indptr[b]):int(indptr[b + 1])].long()]
        kv = pages.transpose(1, 2).reshape(-1, 2, 8, 128)[:n]
        want, wlse = ref_attention(env, q[b][None, :, None], kv[:, 0].transpose(0, 1)[None],
                                   kv[:, 1].transpose(0, 1)[None])
        checks += [(f"replay out {b}", g_out[b], want[0, :, 0], "out"),
                   (f"replay lse {b}", g_lse[b], _base2(wlse[0, :, 0]), "lse")]
    # Eager runs after the new plan: the second reuses the first's launch
    # (the plan's cache) with a new q.
    w.run(q, cache, return_lse=True)
    q2 = env.randn(4, 32, 128, "bfloat16")
    out2, _ = w.run(q2, cache, return_lse=True)
    pages = cache[order2[int(indptr[0]):int(indptr[1])].long()]
    kv = pages.transpose(1, 2).reshape(-1, 2, 8, 128)[:lengths[0]]
    want2, _ = ref_attention(env, q2[0][None, :, None], kv[:, 0].transpose(0, 1)[None],
                             kv[:, 1].transpose(0, 1)[None])
    checks.append(("repeated run, new q", out2[0], want2[0, :, 0], "out"))
    return checks


def flashinfer_paged_prefill_hnd(env):
    """BatchPrefillWithPagedKVCacheWrapper: ragged queries (an empty one),
    HND pages of 8, causal, GQA 8/2, a (k, v) pair of pools."""
    qo, kv = [30, 0, 1, 200], [70, 9, 1, 200]
    cache, indptr, order, last, seqs = _paged(env, kv, 8, 2, 64, "float16", "HND")
    q = env.randn(sum(qo), 8, 64, "float16")
    w = env.attn.BatchPrefillWithPagedKVCacheWrapper(None, "HND")
    w.plan(env.cumsum(qo), indptr, order, last, 8, 2, 64, 8, causal=True)
    out, lse = w.run(q, (cache[:, 0], cache[:, 1]), return_lse=True)
    if env.prebuild:
        return []
    checks, q0 = [], 0
    for b, (a, c) in enumerate(zip(qo, kv)):
        if a:
            k, v = seqs[b]
            want, wlse = ref_attention(env, q[q0:q0 + a].transpose(0, 1)[None], k, v,
                                       keep=lambda h, i, j: j <= i + c - a)
            checks += [(f"out {b}", out[q0:q0 + a], want[0].transpose(0, 1), "out"),
                       (f"lse {b}", lse[q0:q0 + a], _base2(wlse[0].transpose(0, 1)), "lse")]
        q0 += a
    return checks


def flashinfer_rope(env):
    """pos_encoding_mode="ROPE_LLAMA": q and k rotated inside the kernels.
    single_prefill (bf16, causal, GQA 8/2, theta 5e5: queries at positions
    400.., keys at 0..), single_decode (f16, the decode strategy, 7000 keys:
    the query at 6999)."""
    torch = env.torch
    q = env.randn(300, 8, 128, "bfloat16")
    k, v = env.randn(700, 2, 128, "bfloat16"), env.randn(700, 2, 128, "bfloat16")
    out, lse = env.attn.single_prefill_with_kv_cache(q, k, v, causal=True,
                                                     pos_encoding_mode="ROPE_LLAMA",
                                                     rope_theta=5e5, return_lse=True)
    qd = env.randn(32, 128, "float16")
    kd, vd = env.randn(7000, 8, 128, "float16"), env.randn(7000, 8, 128, "float16")
    outd = env.attn.single_decode_with_kv_cache(qd, kd, vd, pos_encoding_mode="ROPE_LLAMA")
    if env.prebuild:
        return []
    t = lambda x: x.transpose(0, 1)[None]
    pos = lambda n, first=0: torch.arange(first, first + n, device="cuda")
    want, wlse = ref_attention(env, rope_llama(env, t(q), pos(300, 400), 5e5),
                               rope_llama(env, t(k), pos(700), 5e5), t(v),
                               keep=lambda h, i, j: j <= i + 400)
    wantd, _ = ref_attention(env, rope_llama(env, qd[None, :, None], pos(1, 6999)),
                             rope_llama(env, t(kd), pos(7000)), t(vd))
    return [("prefill out", out, want[0].transpose(0, 1), "out"),
            ("prefill lse", lse, _base2(wlse[0].transpose(0, 1)), "lse"),
            ("decode out", outd, wantd[0, :, 0], "out")]


def flashinfer_rope_paged(env):
    """ROPE_LLAMA through a paged cache (shuffled pages of 16): batched decode
    (32/8 heads, lengths 1..3000: each query at its length - 1) and ragged
    prefill (causal: the queries are the last qo_len of each request)."""
    torch = env.torch
    lengths = [3000, 1, 333]
    cache, indptr, order, last, seqs = _paged(env, lengths, 16, 8, 128, "bfloat16")
    q = env.randn(3, 32, 128, "bfloat16")
    dec = env.attn.BatchDecodeWithPagedKVCacheWrapper(None)
    dec.plan(indptr, order, last, 32, 8, 128, 16, pos_encoding_mode="ROPE_LLAMA")
    out = dec.run(q, cache)
    qo = [20, 1, 100]
    qp = env.randn(sum(qo), 32, 128, "bfloat16")
    pre = env.attn.BatchPrefillWithPagedKVCacheWrapper(None)
    pre.plan(env.cumsum(qo), indptr, order, last, 32, 8, 128, 16, causal=True,
             pos_encoding_mode="ROPE_LLAMA", rope_scale=2.0)
    outp = pre.run(qp, cache)
    if env.prebuild:
        return []
    checks, q0 = [], 0
    pos = lambda n, first=0: torch.arange(first, first + n, device="cuda")
    for b, n in enumerate(lengths):
        k, v = seqs[b]
        want, _ = ref_attention(env, rope_llama(env, q[b][None, :, None], pos(1, n - 1)),
                                rope_llama(env, k, pos(n)), v)
        checks.append((f"decode {b}", out[b], want[0, :, 0], "out"))
        a = qo[b]
        rows = qp[q0:q0 + a].transpose(0, 1)[None]
        want, _ = ref_attention(env, rope_llama(env, rows, pos(a, n - a), scale=2.0),
                                rope_llama(env, k, pos(n), scale=2.0), v,
                                keep=lambda h, i, j: j <= i + n - a)
        checks.append((f"prefill {b}", outp[q0:q0 + a], want[0].transpose(0, 1), "out"))
        q0 += a
    return checks


def flashinfer_fp8_cache(env):
    """An fp8 (float8_e4m3fn) KV cache with k_scale / v_scale: batched paged
    decode (32/8 heads, lengths 1..2000, two scale pairs in turn: a cached
    launch must see the new values), paged prefill (causal), single decode
    (the cache contiguous). The reference dequantizes the same fp8 values."""
    torch = env.torch
    lengths = [2000, 1, 333]
    cache, indptr, order, last, seqs = _paged(env, lengths, 16, 8, 128, "bfloat16")
    if not env.prebuild:
        cache = cache.to(torch.float8_e4m3fn)
    else:
        cache = env.attn.meta_tensor(tuple(cache.shape), "float8_e4m3fn")
    q = env.randn(3, 32, 128, "bfloat16")
    dec = env.attn.BatchDecodeWithPagedKVCacheWrapper(None)
    dec.plan(indptr, order, last, 32, 8, 128, 16, kv_data_type="float8_e4m3fn")
    outs = [dec.run(q, cache, k_scale=ks, v_scale=vs) for ks, vs in ((0.5, 2.0), (1.5, 0.25))]
    qo = [20, 1, 100]
    qp = env.randn(sum(qo), 32, 128, "bfloat16")
    pre = env.attn.BatchPrefillWithPagedKVCacheWrapper(None)
    pre.plan(env.cumsum(qo), indptr, order, last, 32, 8, 128, 16, causal=True)
    outp = pre.run(qp, cache, k_scale=0.75, v_scale=1.25)
    kd = env.randn(900, 8, 128, "bfloat16")
    vd = env.randn(900, 8, 128, "bfloat16")
    if not env.prebuild:
        kd, vd = kd.to(torch.float8_e4m3fn), vd.to(torch.float8_e4m3fn)
    else:
        kd = vd = env.attn.meta_tensor((900, 8, 128), "float8_e4m3fn")
    outd = env.attn.single_decode_with_kv_cache(q[0], kd, vd, k_scale=0.3, v_scale=3.0)
    if env.prebuild:
        return []
    checks, q0 = [], 0
    pages = cache[order.long()]  # the fp8 values, dequantized per sequence below
    for b, n in enumerate(lengths):
        kv = cache[order[int(indptr[b]):int(indptr[b + 1])].long()]
        kv = kv.transpose(1, 2).reshape(-1, 2, 8, 128)[:n].double()
        k, v = kv[:, 0].transpose(0, 1)[None], kv[:, 1].transpose(0, 1)[None]
        for (ks, vs), out in zip(((0.5, 2.0), (1.5, 0.25)), outs):
            want, _ = ref_attention(env, q[b][None, :, None], k * ks, v * vs)
            checks.append((f"decode {b} scales {ks}/{vs}", out[b], want[0, :, 0], "out"))
        a = qo[b]
        want, _ = ref_attention(env, qp[q0:q0 + a].transpose(0, 1)[None], k * 0.75, v * 1.25,
                                keep=lambda h, i, j: j <= i + n - a)
        checks.append((f"prefill {b}", outp[q0:q0 + a], want[0].transpose(0, 1), "out"))
        q0 += a
    t = lambda x: x.double().transpose(0, 1)[None]
    want, _ = ref_attention(env, q[0][None, :, None], t(kd) * 0.3, t(vd) * 3.0)
    checks.append(("single decode", outd, want[0, :, 0], "out"))
    del pages
    return checks
