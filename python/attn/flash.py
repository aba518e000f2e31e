"""The flash-sparse-attention API: flash_dense_attn_func,
flash_sparse_attn_func, flash_gated_attn_func and their _varlen_ forms.
Layout [batch, seqlen, heads, head_dim] (varlen: [total, heads, head_dim]);
causal masks are bottom-right aligned as in flash-attn; window_size =
(left, right) with None for unbounded."""
from __future__ import annotations

from ._backend import LaunchCache, is_torch, tensor_key
from ._checks import (as_float32, as_int32, check_heads, check_int, check_offsets,
                      check_qkv, check_scale, check_threshold, check_used,
                      sequence_lengths)
from ._ir import AttentionSpec, Causal, SlidingWindow


def _masks(is_causal, window_size):
    if not isinstance(window_size, (tuple, list)) or len(window_size) != 2:
        raise TypeError(f"window_size must be a (left, right) pair, got {window_size!r}")
    left, right = (None if x is None else check_int(f"window_size {name}", x, minimum=-1)
                   for name, x in zip(("left", "right"), window_size))
    masks = [Causal("bottom_right")] if is_causal else []
    left = -1 if left is None else left
    right = -1 if right is None else right
    if left >= 0 or right >= 0:
        masks.append(SlidingWindow(left, right, "bottom_right"))
    return tuple(masks)


_launches = LaunchCache()


def _run(query, key, value, *, varlen, is_causal, softmax_scale, window_size, return_lse,
         sparse=False, softmax_threshold=None, gating=None, cu=None, seqused=None):
    """The one implementation behind every function here. sparse: threshold
    sparse softmax (always for the sparse functions; for the gated ones when
    a softmax_threshold is given); gating: (alpha, delta, gate_threshold,
    is_logsigmoid_gate, is_adapt_gate)."""
    # Fixed-length calls on contiguous CUDA tensors: a call like an earlier
    # one (shapes, dtypes, device, options) launches its cached GpuLaunch.
    known = tensor_key((query, key, value)) if not varlen and gating is None else None
    if known is not None:
        try:
            known += (bool(is_causal), softmax_scale, tuple(window_size), bool(return_lse),
                      bool(sparse), softmax_threshold)
            hash(known)
        except TypeError:  # an unhashable option: the checks below say so
            known = None
    launch = _launches.get(known)
    if launch is not None:
        out, lse = launch({"q": query, "k": key, "v": value})
        return (out, lse) if return_lse else out
    rank = 3 if varlen else 4
    dt = check_qkv(query, key, value, rank, "[total, heads, head_dim]" if varlen
                   else "[batch, seqlen, heads, head_dim]")
    hq, hkv = query.shape[-2], key.shape[-2]
    check_heads(hq, hkv)
    if tuple(value.shape[:-1]) != tuple(key.shape[:-1]):
        raise ValueError(f"value must match key except in head_dim: key "
                         f"{tuple(key.shape)}, value {tuple(value.shape)}")
    if not varlen and key.shape[0] != query.shape[0]:
        raise ValueError(f"key batch {key.shape[0]} != query batch {query.shape[0]}")
    scale = check_scale(softmax_scale, "softmax_scale")
    named = {"q": query, "k": key, "v": value}
    use_seqused = False
    if varlen:
        cu_q, cu_k = cu
        check_offsets("cu_seqlens_q", cu_q, query.shape[0], device_of=query)
        check_offsets("cu_seqlens_k", cu_k, key.shape[0], length=cu_q.shape[0],
                      device_of=query)
        named.update(cu_seqlens_q=as_int32(cu_q), cu_seqlens_k=as_int32(cu_k))
        sq_used, sk_used = seqused
        if (sq_used is None) != (sk_used is None):
            raise ValueError("pass both seqused_q and seqused_k, or neither")
        if sq_used is not None:
            batch = cu_q.shape[0] - 1
            check_used("seqused_q", sq_used, sequence_lengths(cu_q, batch), device_of=query)
            check_used("seqused_k", sk_used, sequence_lengths(cu_k, batch), device_of=query)
            named.update(seqused_q=as_int32(sq_used), seqused_k=as_int32(sk_used))
            use_seqused = True
    gate = None
    if gating is not None:
        extra, gate = _gate_args(query, key, varlen, *gating)
        named.update(extra)
    threshold = check_threshold("softmax_threshold", softmax_threshold, 0.0, 1.0)
    sparse_softmax = (threshold, 64) if sparse or threshold is not None else None
    spec = AttentionSpec(dtype=dt, heads_q=hq, heads_kv=hkv, head_dim=query.shape[-1],
                         head_dim_v=value.shape[-1], varlen=varlen, seqused=use_seqused,
                         masks=_masks(is_causal, window_size), scale=scale,
                         sparse_softmax=sparse_softmax, gate=gate, lse=bool(return_lse))
    out, lse = _launches.run(known, spec, named)
    if not return_lse:
        return out
    if varlen and lse is not None:
        lse = lse.t().contiguous() if is_torch(lse) else lse.T.copy()  # [total, heads]
    return out, lse


def flash_dense_attn_func(query, key, value, is_causal=False, softmax_scale=None,
                          window_size=(None, None), return_lse=False):
    """Dense attention; out [B, Sq, Hq, D] (and lse [B, Hq, Sq])."""
    return _run(query, key, value, varlen=False, is_causal=is_causal,
                softmax_scale=softmax_scale, window_size=window_size, return_lse=return_lse)


def flash_dense_attn_varlen_func(query, key, value, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                                 max_seqlen_k, is_causal=False, softmax_scale=None,
                                 window_size=(None, None), seqused_q=None, seqused_k=None,
                                 return_lse=False):
    """Packed sequences; out [Tq, Hq, D] (and lse [Tq, Hq])."""
    return _run(query, key, value, varlen=True, is_causal=is_causal,
                softmax_scale=softmax_scale, window_size=window_size, return_lse=return_lse,
                cu=(cu_seqlens_q, cu_seqlens_k), seqused=(seqused_q, seqused_k))


def flash_sparse_attn_func(query, key, value, is_causal=False, softmax_scale=None,
                           softmax_threshold=None, window_size=(None, None), return_lse=False):
    """Threshold sparse softmax: a block of 64 keys whose largest weight is
    below softmax_threshold (default head_dim / Sk) contributes nothing."""
    return _run(query, key, value, varlen=False, is_causal=is_causal,
                softmax_scale=softmax_scale, window_size=window_size, return_lse=return_lse,
                sparse=True, softmax_threshold=softmax_threshold)


def flash_sparse_attn_varlen_func(query, key, value, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                                  max_seqlen_k, is_causal=False, softmax_scale=None,
                                  softmax_threshold=None, window_size=(None, None),
                                  seqused_q=None, seqused_k=None, return_lse=False):
    return _run(query, key, value, varlen=True, is_causal=is_causal,
                softmax_scale=softmax_scale, window_size=window_size, return_lse=return_lse,
                cu=(cu_seqlens_q, cu_seqlens_k), seqused=(seqused_q, seqused_k),
                sparse=True, softmax_threshold=softmax_threshold)


def _gate_args(query, key, varlen, alpha, delta, gate_threshold, is_logsigmoid_gate,
               is_adapt_gate):
    """(named gate operands, gate attribute tuple), after checking shapes."""
    hq, hkv = query.shape[-2], key.shape[-2]
    if varlen:
        want_a, want_d = (hq, query.shape[0]), (hkv, key.shape[0])
    else:
        want_a = (query.shape[0], hq, query.shape[1])
        want_d = (key.shape[0], hkv, key.shape[1])
    for name, t, want in (("alpha", alpha, want_a), ("delta", delta, want_d)):
        if not hasattr(t, "shape"):
            raise TypeError(f"{name} must be a tensor")
        if tuple(t.shape) != want:
            raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    kind = "logsigmoid" if is_logsigmoid_gate else "linear"
    threshold = check_threshold("gate_threshold", gate_threshold)
    # is_adapt_gate adapts a gate threshold to Sk; without one (the default)
    # no pair is dropped and there is nothing to adapt.
    gate = (kind, threshold, bool(is_adapt_gate) and threshold is not None)
    return {"gate_alpha": as_float32(alpha), "gate_delta": as_float32(delta)}, gate


def flash_gated_attn_func(query, key, value, alpha, delta, is_causal=False, softmax_scale=None,
                          softmax_threshold=None, gate_threshold=None, is_logsigmoid_gate=True,
                          is_adapt_gate=True, window_size=(None, None), return_lse=False):
    """Gated attention: alpha [B, Hq, Sq], delta [B, Hkv, Sk]."""
    return _run(query, key, value, varlen=False, is_causal=is_causal,
                softmax_scale=softmax_scale, window_size=window_size, return_lse=return_lse,
                softmax_threshold=softmax_threshold,
                gating=(alpha, delta, gate_threshold, is_logsigmoid_gate, is_adapt_gate))


def flash_gated_attn_varlen_func(query, key, value, alpha, delta, cu_seqlens_q, cu_seqlens_k,
                                 max_seqlen_q, max_seqlen_k, is_causal=False,
                                 softmax_scale=None, softmax_threshold=None,
                                 gate_threshold=None, is_logsigmoid_gate=True,
                                 is_adapt_gate=True, window_size=(None, None),
                                 seqused_q=None, seqused_k=None, return_lse=False):
    """Gated varlen attention: alpha [Hq, Tq], delta [Hkv, Tk]."""
    return _run(query, key, value, varlen=True, is_causal=is_causal,
                softmax_scale=softmax_scale, window_size=window_size, return_lse=return_lse,
                cu=(cu_seqlens_q, cu_seqlens_k), seqused=(seqused_q, seqused_k),
                softmax_threshold=softmax_threshold,
                gating=(alpha, delta, gate_threshold, is_logsigmoid_gate, is_adapt_gate))
