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

Not yet: paged KV caches (BatchPrefill/BatchDecodeWithPagedKVCacheWrapper),
pos_encoding_mode ROPE_LLAMA / ALIBI, fp8 K/V; each raises ValueError.
"""
from __future__ import annotations

import math

from ._backend import execute, is_torch
from ._checks import (as_int32, check_heads, check_int, check_offsets, check_qkv,
                      check_scale)
from ._ir import AttentionSpec, Causal, CustomMask, SlidingWindow, Softcap

_LOG2E = 1.0 / math.log(2.0)


def _kv_layout(kv_layout):
    if kv_layout not in ("NHD", "HND"):
        raise ValueError(f"kv_layout must be 'NHD' or 'HND', got {kv_layout!r}")
    return kv_layout


def _unsupported(pos_encoding_mode, rope_scale=None, rope_theta=None):
    if pos_encoding_mode != "NONE":
        raise ValueError(f"pos_encoding_mode {pos_encoding_mode!r} is not supported yet "
                         "(only 'NONE'; apply RoPE to q and k before the call)")


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
    (and lse [qo_len, Hq], base 2)."""
    _kv_layout(kv_layout)
    _unsupported(pos_encoding_mode, rope_scale, rope_theta)
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not hasattr(x, "shape") or len(x.shape) != 3:
            raise ValueError(f"{name} must be a 3-D tensor, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
    k, v = _to_nhd(k, kv_layout), _to_nhd(v, kv_layout)
    qb, kb, vb = q[None], k[None], v[None]  # [1, S, H, D]
    dt = check_qkv(qb, kb, vb, 4, "[tokens, heads, head_dim]")
    hq, hkv = q.shape[1], k.shape[1]
    check_heads(hq, hkv)
    if tuple(v.shape[:-1]) != tuple(k.shape[:-1]):
        raise ValueError(f"v must match k except in head_dim: k {tuple(k.shape)}, "
                         f"v {tuple(v.shape)}")
    named = {"q": qb, "k": kb, "v": vb}
    mask = _custom_mask(custom_mask, packed_custom_mask, q.shape[0] * k.shape[0])
    if mask is not None:
        named["custom_mask"] = mask.reshape(1, 1, q.shape[0], k.shape[0])
    spec = AttentionSpec(dtype=dt, heads_q=hq, heads_kv=hkv, head_dim=q.shape[-1],
                         head_dim_v=v.shape[-1],
                         masks=_masks(causal, window_left, mask is not None),
                         score_mods=_soft_cap(logits_soft_cap),
                         scale=check_scale(sm_scale, "sm_scale"), lse=bool(return_lse))
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
    for name, scale in (("q_scale", q_scale), ("k_scale", k_scale), ("v_scale", v_scale)):
        if scale is not None and scale != 1.0:
            raise ValueError(f"{name} is for fp8 K/V, which is not supported yet")
    result = single_prefill_with_kv_cache(q[None], k, v, kv_layout=kv_layout,
                                          pos_encoding_mode=pos_encoding_mode,
                                          sm_scale=sm_scale, window_left=window_left,
                                          logits_soft_cap=logits_soft_cap,
                                          return_lse=return_lse)
    if return_lse:
        out, lse = result
        return (out[0], lse[0]) if out is not None else (None, None)
    return result[0] if result is not None else None


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
        _unsupported(pos_encoding_mode, rope_scale, rope_theta)
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
        qo_host, kv_host = (self._host_offsets(name, t) for name, t in
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
                          mods=_soft_cap(logits_soft_cap),
                          scale=check_scale(sm_scale, "sm_scale"))

    @staticmethod
    def _host_offsets(name, t):
        """The offsets as a list, checked (plan runs on the host, as
        FlashInfer's does: a CUDA indptr is copied once per plan)."""
        host = t.detach().cpu() if is_torch(t) else t
        values = [int(x) for x in host.tolist()]
        check_offsets(name, host, values[-1])
        return values

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
                             score_mods=p["mods"], scale=p["scale"], lse=bool(return_lse))
        out, lse = execute(spec, named, workspace=self._workspace)
        if out is None:  # attn.prebuild: compiled, nothing run
            return (None, None) if return_lse else None
        if not return_lse:
            return out
        return out, _swap01(_lse_base2(lse))  # [Hq, nnz] -> [nnz, Hq]


def merge_state(v_a, s_a, v_b, s_b):
    """(V, S) of attention over the union of two KV segments from each
    segment's output v [seq, heads, dim] and base-2 log-sum-exp s [seq,
    heads] (float32): S = log2(2^s_a + 2^s_b), V = (2^s_a v_a + 2^s_b v_b) /
    2^S. A segment with s = -inf contributes nothing; both -inf gives V 0,
    S -inf."""
    import torch
    v, s = merge_states(torch.stack([v_a, v_b], 1), torch.stack([s_a, s_b], 1))
    return v, s


def merge_states(v, s):
    """Merges v [seq, states, heads, dim] with s [seq, states, heads] (base
    2) into V [seq, heads, dim], S [seq, heads]."""
    import torch
    if not (is_torch(v) and is_torch(s)) or v.dim() != 4 or s.dim() != 3 or \
            tuple(v.shape[:3]) != tuple(s.shape):
        raise ValueError("merge_states takes v [seq, states, heads, dim] and s [seq, "
                         "states, heads] torch tensors")
    s = s.float()
    m = s.max(1, keepdim=True).values
    safe = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    w = torch.exp2(s - safe)  # 0 for s = -inf
    total = w.sum(1)
    merged = (w[..., None] * v.float()).sum(1) / total.clamp_min(1e-30)[..., None]
    merged = torch.where(total[..., None] > 0, merged, torch.zeros_like(merged))
    lse = torch.where(total > 0, safe[:, 0] + torch.log2(total),
                      torch.full_like(total, float("-inf")))
    return merged.to(v.dtype), lse


def merge_state_in_place(v, s, v_other, s_other, mask=None):
    """(v, s) <- merge_state(v, s, v_other, s_other), rows where mask [seq]
    is True (all rows without a mask)."""
    merged_v, merged_s = merge_state(v, s, v_other, s_other)
    if mask is not None:
        keep = mask.bool()
        merged_v = merged_v.where(keep[:, None, None], v)
        merged_s = merged_s.where(keep[:, None], s)
    v.copy_(merged_v)
    s.copy_(merged_s)
