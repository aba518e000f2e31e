"""The FlashInfer API (../shared/seeds/flashinfer-prefill-api.txt) on Attn's
kernels: single_prefill_with_kv_cache[_return_lse], single_decode_with_kv_cache,
BatchPrefillWithRaggedKVCacheWrapper (plan once per batch shape, run per
layer) and the attention-state merges merge_state / merge_states /
merge_state_in_place.

Conventions kept from FlashInfer: q/out are [tokens, heads, head_dim]; K/V
are NHD ([tokens, kv_heads, head_dim]) or HND ([kv_heads, tokens,
head_dim]); causal masks and windows are aligned to the end of the KV
(bottom-right: the query rows are the last qo_len positions); window_left
keeps keys j >= i + (kv_len - qo_len) - window_left; logits_soft_cap caps
the scaled logits; custom masks are flattened row-major [qo_len * kv_len]
per request (packed_custom_mask: the same bits packed little-endian); and
the returned log-sum-exp is in base 2 (log2 of the softmax denominator of
the scaled logits), which merge_state* take.

Paged KV caches (BatchDecodeWithPagedKVCacheWrapper,
BatchPrefillWithPagedKVCacheWrapper): the cache is a (k_cache, v_cache)
pair of [pages, page_size, Hkv, D] (NHD) / [pages, Hkv, page_size, D] (HND)
tensors, or one [pages, 2, ...] tensor; the kernels read the pages in place
(the page stride is the cache's) through the page table of plan().

pos_encoding_mode="ROPE_LLAMA" rotates q and k inside the kernels
(#attn.rope: query i of a request at position kv_len - qo_len + i, key j
at j; rope_theta 1e4 and rope_scale 1 by default). Not yet:
pos_encoding_mode ALIBI, fp8 K/V; each raises ValueError.
"""
from __future__ import annotations

import math

from ._backend import LaunchCache, dtype_name, execute, is_torch
from ._checks import (as_int32, check_heads, check_int, check_offsets, check_qkv,
                      check_scale)
from ._ir import AttentionSpec, Causal, CustomMask, Rope, SlidingWindow, Softcap
from ._flashinfer_kv import _FP8, _PageTable, _kv_scales, _run_paged
from ._merge import merge_state, merge_state_in_place, merge_states  # noqa: F401

_LOG2E = 1.0 / math.log(2.0)


def _kv_layout(kv_layout):
    if kv_layout not in ("NHD", "HND"):
        raise ValueError(f"kv_layout must be 'NHD' or 'HND', got {kv_layout!r}")
    return kv_layout


def _rope(pos_encoding_mode, rope_scale=None, rope_theta=None):
    """The Rope of FlashInfer's pos_encoding_mode (None for 'NONE'):
    ROPE_LLAMA rotates q and k in the kernel, the queries being the last
    qo_len positions of their request's keys (rope_theta 1e4 and rope_scale
    1 by default)."""
    if pos_encoding_mode == "NONE":
        return None
    if pos_encoding_mode == "ROPE_LLAMA":
        return Rope(theta=1e4 if rope_theta is None else rope_theta,
                    scale=1.0 if rope_scale is None else rope_scale,
                    align="bottom_right")
    if pos_encoding_mode == "ALIBI":
        raise ValueError("pos_encoding_mode 'ALIBI' is not supported yet (FlashInfer's "
                         "signed kv - q bias differs from #attn.alibi's -|q - kv| without "
                         "a causal mask); use 'NONE' or 'ROPE_LLAMA'")
    raise ValueError(f"pos_encoding_mode must be 'NONE', 'ROPE_LLAMA' or 'ALIBI', got "
                     f"{pos_encoding_mode!r}")


def _masks(causal, window_left, custom):
    window_left = check_int("window_left", window_left, minimum=-1)
    masks = []
    if custom:
        masks.append(CustomMask())
    elif causal:
        masks.append(Causal("bottom_right"))
    if window_left >= 0:
        masks.append(SlidingWindow(window_left, -1, "bottom_right"))
    return tuple(masks)


def _soft_cap(logits_soft_cap):
    if logits_soft_cap is None or logits_soft_cap == 0:
        return ()
    cap = check_scale(logits_soft_cap, "logits_soft_cap")
    return (Softcap(cap),)


def _unpack_bits(packed, count):
    """The first `count` bits (little-endian within each byte) of a 1-D
    uint8 array (torch or numpy), as bool."""
    if not hasattr(packed, "shape") or len(packed.shape) != 1 or \
            str(packed.dtype).split(".")[-1] != "uint8":
        raise TypeError("packed_custom_mask must be a 1-D uint8 tensor")
    if packed.shape[0] * 8 < count:
        raise ValueError(f"packed_custom_mask holds {packed.shape[0] * 8} bits, "
                         f"the mask needs {count}")
    if not is_torch(packed):
        import numpy as np
        return np.unpackbits(packed, bitorder="little")[:count].astype(bool)
    import torch
    shifts = torch.arange(8, device=packed.device, dtype=torch.uint8)
    return ((packed[:, None] >> shifts) & 1).reshape(-1)[:count].bool()


def _custom_mask(custom_mask, packed_custom_mask, count):
    """The flat bool mask of `count` entries, from either form."""
    if packed_custom_mask is not None:
        return _unpack_bits(packed_custom_mask, count)
    if custom_mask is None:
        return None
    if not hasattr(custom_mask, "shape") or str(custom_mask.dtype).split(".")[-1] != "bool":
        raise TypeError("custom_mask must be a bool tensor")
    flat = custom_mask.reshape(-1)
    if flat.shape[0] != count:
        raise ValueError(f"custom_mask must have {count} entries (sum of qo_len * kv_len), "
                         f"got {flat.shape[0]}")
    return flat


def _lse_base2(lse):
    return lse * _LOG2E


def _swap01(x):
    """x with its first two dimensions swapped, contiguous (torch or numpy)."""
    x = x.swapaxes(0, 1)
    if is_torch(x):
        return x.contiguous()
    import numpy as np
    return np.ascontiguousarray(x)


def _to_nhd(x, kv_layout):
    """[tokens, heads, dim] from NHD or HND (a view; the launch makes it
    contiguous)."""
    return x if kv_layout == "NHD" else x.swapaxes(0, 1)


def single_prefill_with_kv_cache(q, k, v, custom_mask=None, packed_custom_mask=None,
                                 causal=False, kv_layout="NHD", pos_encoding_mode="NONE",
                                 allow_fp16_qk_reduction=False, sm_scale=None, window_left=-1,
                                 logits_soft_cap=None, rope_scale=None, rope_theta=None,
                                 return_lse=False):
    """Prefill/append attention of one request: q [qo_len, Hq, D], k/v
    [kv_len, Hkv, D] (NHD) or [Hkv, kv_len, D] (HND); out [qo_len, Hq, Dv]
    (and lse [qo_len, Hq], base 2). k/v may be a float8_e4m3fn cache."""
    return _single(q, k, v, custom_mask, packed_custom_mask, causal, kv_layout,
                   pos_encoding_mode, sm_scale, window_left, logits_soft_cap, rope_scale,
                   rope_theta, return_lse, (None, None))


def _single(q, k, v, custom_mask, packed_custom_mask, causal, kv_layout, pos_encoding_mode,
            sm_scale, window_left, logits_soft_cap, rope_scale, rope_theta, return_lse,
            scales):
    _kv_layout(kv_layout)
    rope = _rope(pos_encoding_mode, rope_scale, rope_theta)
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not hasattr(x, "shape") or len(x.shape) != 3:
            raise ValueError(f"{name} must be a 3-D tensor, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
    k, v = _to_nhd(k, kv_layout), _to_nhd(v, kv_layout)
    qb, kb, vb = q[None], k[None], v[None]  # [1, S, H, D]
    dt = check_qkv(qb, kb, vb, 4, "[tokens, heads, head_dim]", fp8_kv=True)
    fp8 = dtype_name(k) == _FP8
    hq, hkv = q.shape[1], k.shape[1]
    check_heads(hq, hkv)
    if tuple(v.shape[:-1]) != tuple(k.shape[:-1]):
        raise ValueError(f"v must match k except in head_dim: k {tuple(k.shape)}, "
                         f"v {tuple(v.shape)}")
    named = {"q": qb, "k": kb, "v": vb,
             **_kv_scales(*scales, fp8, k.device if is_torch(k) else None)}
    mask = _custom_mask(custom_mask, packed_custom_mask, q.shape[0] * k.shape[0])
    if mask is not None:
        named["custom_mask"] = mask.reshape(1, 1, q.shape[0], k.shape[0])
    spec = AttentionSpec(dtype=dt, heads_q=hq, heads_kv=hkv, head_dim=q.shape[-1],
                         head_dim_v=v.shape[-1],
                         masks=_masks(causal, window_left, mask is not None),
                         score_mods=_soft_cap(logits_soft_cap), rope=rope,
                         scale=check_scale(sm_scale, "sm_scale"), lse=bool(return_lse),
                         kv_dtype="f8E4M3FN" if fp8 else None, kv_scales=fp8)
    out, lse = execute(spec, named)
    if out is None:  # attn.prebuild: compiled, nothing run
        return (None, None) if return_lse else None
    if not return_lse:
        return out[0]
    return out[0], _swap01(_lse_base2(lse[0]))  # [Hq, qo_len] -> [qo_len, Hq]


def single_prefill_with_kv_cache_return_lse(q, k, v, **kwargs):
    """single_prefill_with_kv_cache(..., return_lse=True): (out, lse)."""
    kwargs["return_lse"] = True
    return single_prefill_with_kv_cache(q, k, v, **kwargs)


def single_decode_with_kv_cache(q, k, v, kv_layout="NHD", pos_encoding_mode="NONE",
                                use_tensor_cores=False, q_scale=None, k_scale=None,
                                v_scale=None, window_left=-1, logits_soft_cap=None,
                                sm_scale=None, rope_scale=None, rope_theta=None,
                                return_lse=False):
    """One query token of one request: q [Hq, D] against k/v [kv_len, Hkv, D]
    (NHD) or [Hkv, kv_len, D] (HND); out [Hq, Dv] (and lse [Hq], base 2). On
    the GPU this is the decode strategy (query heads packed per kv head,
    keys split over CTAs)."""
    if not hasattr(q, "shape") or len(q.shape) != 2:
        raise ValueError(f"q must be [num_qo_heads, head_dim], got "
                         f"{getattr(q, 'shape', type(q).__name__)}")
    if q_scale is not None and q_scale != 1.0:
        raise ValueError("q_scale is for fp8 queries, which are not supported (q is "
                         "float16 or bfloat16; k_scale / v_scale dequantize an fp8 cache)")
    result = _single(q[None], k, v, None, None, False, kv_layout, pos_encoding_mode,
                     sm_scale, window_left, logits_soft_cap, rope_scale, rope_theta,
                     return_lse, (k_scale, v_scale))
    if return_lse:
        out, lse = result
        return (out[0], lse[0]) if out is not None else (None, None)
    return result[0] if result is not None else None


def _host_offsets(name, t):
    """Offsets as a checked list (plan runs on the host, as FlashInfer's
    does: a CUDA indptr is copied once per plan)."""
    host = t.detach().cpu() if is_torch(t) else t
    values = [int(x) for x in host.tolist()]
    check_offsets(name, host, values[-1])
    return values


class BatchPrefillWithRaggedKVCacheWrapper:
    """Prefill/append attention for a batch of requests whose queries and
    keys are packed ([nnz, heads, head_dim], offsets qo_indptr / kv_indptr).
    plan() checks and keeps the batch's structure; run() computes one layer.
    With use_cuda_graph=True the indptr arrays live in the given buffers, so
    a captured run() replays with whatever plan() last copied into them;
    float_workspace_buffer serves the split-KV kernels."""

    def __init__(self, float_workspace_buffer, kv_layout="NHD", use_cuda_graph=False,
                 qo_indptr_buf=None, kv_indptr_buf=None, custom_mask_buf=None,
                 qk_indptr_buf=None, backend="auto"):
        self._workspace = float_workspace_buffer
        self._layout = _kv_layout(kv_layout)
        self._graph = bool(use_cuda_graph)
        if self._graph and (qo_indptr_buf is None or kv_indptr_buf is None):
            raise ValueError("use_cuda_graph=True needs qo_indptr_buf and kv_indptr_buf")
        self._bufs = (qo_indptr_buf, kv_indptr_buf)
        self._plan = None

    def reset_workspace_buffer(self, float_workspace_buffer, int_workspace_buffer=None):
        self._workspace = float_workspace_buffer

    def plan(self, qo_indptr, kv_indptr, num_qo_heads, num_kv_heads, head_dim_qk,
             head_dim_vo=None, custom_mask=None, packed_custom_mask=None, causal=False,
             pos_encoding_mode="NONE", allow_fp16_qk_reduction=False, window_left=-1,
             logits_soft_cap=None, sm_scale=None, rope_scale=None, rope_theta=None,
             q_data_type="float16", kv_data_type=None):
        rope = _rope(pos_encoding_mode, rope_scale, rope_theta)
        hq = check_int("num_qo_heads", num_qo_heads, minimum=1)
        hkv = check_int("num_kv_heads", num_kv_heads, minimum=1)
        check_heads(hq, hkv)
        d = check_int("head_dim_qk", head_dim_qk, minimum=1)
        dv = d if head_dim_vo is None else check_int("head_dim_vo", head_dim_vo, minimum=1)
        for name, t in (("qo_indptr", qo_indptr), ("kv_indptr", kv_indptr)):
            if not hasattr(t, "shape") or len(t.shape) != 1 or t.shape[0] < 1:
                raise ValueError(f"{name} must be a 1-D tensor of batch_size + 1 offsets")
        if qo_indptr.shape[0] != kv_indptr.shape[0]:
            raise ValueError(f"qo_indptr and kv_indptr must have the same length "
                             f"(batch_size + 1), got {qo_indptr.shape[0]} and "
                             f"{kv_indptr.shape[0]}")
        qo_host, kv_host = (_host_offsets(name, t) for name, t in
                            (("qo_indptr", qo_indptr), ("kv_indptr", kv_indptr)))
        cells = sum((qo_host[i + 1] - qo_host[i]) * (kv_host[i + 1] - kv_host[i])
                    for i in range(len(qo_host) - 1))
        mask = _custom_mask(custom_mask, packed_custom_mask, cells)
        qo, kv = as_int32(qo_indptr), as_int32(kv_indptr)
        if self._graph:
            qo_buf, kv_buf = self._bufs
            if qo_buf.shape[0] != qo.shape[0] or kv_buf.shape[0] != kv.shape[0]:
                raise ValueError("with use_cuda_graph the batch size is fixed by the "
                                 "indptr buffers")
            qo_buf.copy_(qo)
            kv_buf.copy_(kv)
            qo, kv = qo_buf, kv_buf
        self._plan = dict(qo=qo, kv=kv, nnz_qo=qo_host[-1], nnz_kv=kv_host[-1], hq=hq,
                          hkv=hkv, d=d, dv=dv, mask=mask,
                          masks=_masks(causal, window_left, mask is not None),
                          mods=_soft_cap(logits_soft_cap), rope=rope,
                          scale=check_scale(sm_scale, "sm_scale"))

    def run(self, q, k, v, return_lse=False):
        """out [nnz_qo, Hq, Dv] (and lse [nnz_qo, Hq], base 2)."""
        p = self._plan
        if p is None:
            raise ValueError("run() before plan(): call plan() with the batch's indptr "
                             "arrays first")
        k, v = _to_nhd(k, self._layout), _to_nhd(v, self._layout)
        dt = check_qkv(q, k, v, 3, "[nnz, heads, head_dim]")
        want = {"q": (p["nnz_qo"], p["hq"], p["d"]), "k": (p["nnz_kv"], p["hkv"], p["d"]),
                "v": (p["nnz_kv"], p["hkv"], p["dv"])}
        for name, x in (("q", q), ("k", k), ("v", v)):
            if tuple(x.shape) != want[name]:
                raise ValueError(f"{name} must have shape {want[name]} (from plan), got "
                                 f"{tuple(x.shape)}")
        check_offsets("qo_indptr", p["qo"], q.shape[0], device_of=q)
        check_offsets("kv_indptr", p["kv"], k.shape[0], length=p["qo"].shape[0],
                      device_of=q)
        named = {"q": q, "k": k, "v": v, "cu_seqlens_q": p["qo"], "cu_seqlens_k": p["kv"]}
        if p["mask"] is not None:
            named["custom_mask"] = p["mask"]
        spec = AttentionSpec(dtype=dt, heads_q=p["hq"], heads_kv=p["hkv"], head_dim=p["d"],
                             head_dim_v=p["dv"], varlen=True, masks=p["masks"],
                             score_mods=p["mods"], rope=p["rope"], scale=p["scale"],
                             lse=bool(return_lse))
        out, lse = execute(spec, named, workspace=self._workspace)
        if out is None:  # attn.prebuild: compiled, nothing run
            return (None, None) if return_lse else None
        if not return_lse:
            return out
        return out, _swap01(_lse_base2(lse))  # [Hq, nnz] -> [nnz, Hq]


class BatchDecodeWithPagedKVCacheWrapper:
    """Decode attention (one query token per request) against a paged KV
    cache: plan() once per batch (page table), run() per layer. On the GPU
    this is the decode strategy: query heads packed per kv head, the keys
    split over CTAs, partial results merged (float_workspace_buffer is its
    workspace). use_cuda_graph=True keeps the page table in the given
    buffers, so a captured run() replays with the table plan() last copied
    there and the cache's current contents."""

    def __init__(self, float_workspace_buffer, kv_layout="NHD", use_cuda_graph=False,
                 use_tensor_cores=False, paged_kv_indptr_buffer=None,
                 paged_kv_indices_buffer=None, paged_kv_last_page_len_buffer=None,
                 backend="auto"):
        self._workspace = float_workspace_buffer
        self._layout = _kv_layout(kv_layout)
        self._bufs = ((paged_kv_indptr_buffer, paged_kv_indices_buffer,
                       paged_kv_last_page_len_buffer) if use_cuda_graph else None)
        self._plan = None

    def reset_workspace_buffer(self, float_workspace_buffer, int_workspace_buffer=None):
        self._workspace = float_workspace_buffer

    def plan(self, indptr, indices, last_page_len, num_qo_heads, num_kv_heads, head_dim,
             page_size, pos_encoding_mode="NONE", window_left=-1, logits_soft_cap=None,
             q_data_type="float16", kv_data_type=None, data_type=None, sm_scale=None,
             rope_scale=None, rope_theta=None, non_blocking=False):
        rope = _rope(pos_encoding_mode, rope_scale, rope_theta)
        hq = check_int("num_qo_heads", num_qo_heads, minimum=1)
        hkv = check_int("num_kv_heads", num_kv_heads, minimum=1)
        check_heads(hq, hkv)
        self._plan = dict(rope=rope, kv_data_type=kv_data_type or data_type, table=_PageTable(indptr, indices, last_page_len, page_size,
                                           self._bufs),
                          hq=hq, hkv=hkv, d=check_int("head_dim", head_dim, minimum=1),
                          masks=_masks(False, window_left, False),
                          mods=_soft_cap(logits_soft_cap),
                          scale=check_scale(sm_scale, "sm_scale"), launches=LaunchCache())

    def run(self, q, paged_kv_cache, q_scale=None, k_scale=None, v_scale=None,
            return_lse=False):
        """out [batch, Hq, D] (and lse [batch, Hq], base 2)."""
        p = self._plan
        if p is None:
            raise ValueError("run() before plan(): call plan() with the page table first")
        if q_scale is not None and q_scale != 1.0:
            raise ValueError("q_scale is for fp8 queries, which are not supported (q is "
                             "float16 or bfloat16; k_scale / v_scale dequantize an fp8 cache)")
        table = p["table"]
        k, v = table.pools(paged_kv_cache, self._layout)
        if not hasattr(q, "shape") or tuple(q.shape) != (table.batch, p["hq"], p["d"]):
            raise ValueError(f"q must have shape {(table.batch, p['hq'], p['d'])} (from plan), "
                             f"got {tuple(getattr(q, 'shape', ()))}")
        out, lse = _run_paged(q[:, None], k, v, table, p, self._layout, varlen=False,
                              return_lse=return_lse, workspace=self._workspace,
                              scales=(k_scale, v_scale))
        if out is None:
            return (None, None) if return_lse else None
        if not return_lse:
            return out[:, 0]
        return out[:, 0], _lse_base2(lse[:, :, 0])


class BatchPrefillWithPagedKVCacheWrapper:
    """Prefill/append attention of ragged queries ([nnz, Hq, D], qo_indptr)
    against a paged KV cache; plan() once per batch, run() per layer."""

    def __init__(self, float_workspace_buffer, kv_layout="NHD", use_cuda_graph=False,
                 qo_indptr_buf=None, paged_kv_indptr_buf=None, paged_kv_indices_buf=None,
                 paged_kv_last_page_len_buf=None, custom_mask_buf=None, qk_indptr_buf=None,
                 backend="auto"):
        self._workspace = float_workspace_buffer
        self._layout = _kv_layout(kv_layout)
        self._graph = bool(use_cuda_graph)
        self._qo_buf = qo_indptr_buf
        self._bufs = ((paged_kv_indptr_buf, paged_kv_indices_buf, paged_kv_last_page_len_buf)
                      if use_cuda_graph else None)
        self._plan = None

    def reset_workspace_buffer(self, float_workspace_buffer, int_workspace_buffer=None):
        self._workspace = float_workspace_buffer

    def plan(self, qo_indptr, paged_kv_indptr, paged_kv_indices, paged_kv_last_page_len,
             num_qo_heads, num_kv_heads, head_dim_qk, page_size, head_dim_vo=None,
             custom_mask=None, packed_custom_mask=None, causal=False,
             pos_encoding_mode="NONE", allow_fp16_qk_reduction=False, sm_scale=None,
             window_left=-1, logits_soft_cap=None, rope_scale=None, rope_theta=None,
             q_data_type="float16", kv_data_type=None, non_blocking=False):
        rope = _rope(pos_encoding_mode, rope_scale, rope_theta)
        hq = check_int("num_qo_heads", num_qo_heads, minimum=1)
        hkv = check_int("num_kv_heads", num_kv_heads, minimum=1)
        check_heads(hq, hkv)
        qo_host = _host_offsets("qo_indptr", qo_indptr)
        table = _PageTable(paged_kv_indptr, paged_kv_indices, paged_kv_last_page_len,
                           page_size, self._bufs)
        if len(qo_host) != table.batch + 1:
            raise ValueError(f"qo_indptr must have batch_size + 1 = {table.batch + 1} "
                             f"entries (from paged_kv_indptr), got {len(qo_host)}")
        cells = sum((qo_host[b + 1] - qo_host[b]) * table.lengths[b]
                    for b in range(table.batch))
        mask = _custom_mask(custom_mask, packed_custom_mask, cells)
        qo = as_int32(qo_indptr)
        if self._graph:
            if self._qo_buf is None or self._qo_buf.shape[0] != qo.shape[0]:
                raise ValueError("use_cuda_graph=True needs qo_indptr_buf of batch_size + 1")
            self._qo_buf.copy_(qo)
            qo = self._qo_buf
        self._plan = dict(table=table, rope=rope, kv_data_type=kv_data_type, qo=qo,
                          nnz_qo=qo_host[-1], hq=hq, hkv=hkv,
                          d=check_int("head_dim_qk", head_dim_qk, minimum=1), mask=mask,
                          masks=_masks(causal, window_left, mask is not None),
                          mods=_soft_cap(logits_soft_cap),
                          scale=check_scale(sm_scale, "sm_scale"), launches=LaunchCache())

    def run(self, q, paged_kv_cache, k_scale=None, v_scale=None, return_lse=False):
        """out [nnz_qo, Hq, Dv] (and lse [nnz_qo, Hq], base 2)."""
        p = self._plan
        if p is None:
            raise ValueError("run() before plan(): call plan() with the batch's indptr "
                             "arrays and page table first")
        table = p["table"]
        k, v = table.pools(paged_kv_cache, self._layout)
        if not hasattr(q, "shape") or tuple(q.shape) != (p["nnz_qo"], p["hq"], p["d"]):
            raise ValueError(f"q must have shape {(p['nnz_qo'], p['hq'], p['d'])} (from "
                             f"plan), got {tuple(getattr(q, 'shape', ()))}")
        out, lse = _run_paged(q, k, v, table, p, self._layout, varlen=True,
                              return_lse=return_lse, workspace=self._workspace,
                              cu_seqlens_q=p["qo"], scales=(k_scale, v_scale))
        if out is None:
            return (None, None) if return_lse else None
        if not return_lse:
            return out
        return out, _swap01(_lse_base2(lse))  # [Hq, nnz] -> [nnz, Hq]
