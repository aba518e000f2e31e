"""FlashInfer's attention-state merges (merge_state, merge_states,
merge_state_in_place) on torch tensors: the log-sum-exp is in base 2, as
the FlashInfer API (attn.flashinfer) returns it."""
from __future__ import annotations

from ._backend import is_torch


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
