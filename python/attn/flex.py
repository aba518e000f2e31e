"""FlexAttention-style API: flex_attention with Python score_mod / mask_mod
traced into the kernel (no Python runs per element)."""
from __future__ import annotations

from ._backend import LaunchCache, is_torch, on_gpu, tensor_key
from ._checks import check_heads, check_qkv, check_scale
from ._ir import AttentionSpec, MaskMod, ScoreMod
from ._tracer import capture_type, trace
from .masks import BlockMask


def _capture_arrays(captures, q):
    """Captured 1-D arrays as kernel arguments on q's device, in the element
    type the region reads (f32 / i32 / i64)."""
    from ._backend import _prebuild
    if getattr(_prebuild, "dir", None) is not None:
        return {name: array for name, array, _ in captures}  # nothing runs
    import numpy as np
    out = {}
    for name, array, elem in captures:
        if on_gpu(q):
            import torch
            t = array if is_torch(array) else torch.from_numpy(np.asarray(array))
            dt = {"f32": torch.float32, "i32": torch.int32, "i64": torch.int64}[elem]
            out[name] = t.to(device=q.device, dtype=dt).contiguous()
        else:
            a = array.detach().cpu().numpy() if is_torch(array) else np.asarray(array)
            out[name] = np.ascontiguousarray(a.astype({"f32": np.float32, "i32": np.int32,
                                                       "i64": np.int64}[elem]))
    return out


def _is_torch_block_mask(bm):
    return type(bm).__name__ == "BlockMask" and \
        type(bm).__module__.split(".")[0] == "torch"


def _from_torch_block_mask(tbm):
    """torch.nn.attention.flex_attention.BlockMask as ours: its mask_mod is
    traced into the kernel and its block lists are used as given (partial
    blocks apply the mask_mod, full blocks do not), at its BLOCK_SIZE."""
    qbs, kbs = (tbm.BLOCK_SIZE if isinstance(tbm.BLOCK_SIZE, (tuple, list))
                else (tbm.BLOCK_SIZE, tbm.BLOCK_SIZE))
    qlen, klen = tbm.seq_lengths
    mask_mod = tbm.mask_mod
    if getattr(mask_mod, "__name__", "") == "noop_mask":
        mask_mod = lambda b, h, q_idx, kv_idx: True  # noqa: E731 (keeps every pair)
    import numpy as np
    nq, nk = -(-qlen // qbs), -(-klen // kbs)
    bm = BlockMask(np.ones((nq, nk), bool), qbs, kbs, "torch", (), mask_mod, qlen, klen,
                   derived=True)
    bm.kv_lists = {"kv_num_blocks": tbm.kv_num_blocks, "kv_indices": tbm.kv_indices}
    if tbm.full_kv_num_blocks is not None:
        bm.kv_lists.update(full_kv_num_blocks=tbm.full_kv_num_blocks,
                           full_kv_indices=tbm.full_kv_indices)
    return bm


def noop_mask(b, h, q_idx, kv_idx):
    """The mask_mod that keeps every pair (FlexAttention's noop_mask)."""
    return q_idx >= 0  # a traced index is never negative


def _combine(mask_mods, op, name):
    for m in mask_mods:
        if not callable(m):
            raise TypeError(f"{name} takes mask_mod functions, got {type(m).__name__}")

    def combined(b, h, q_idx, kv_idx):
        result = None
        for m in mask_mods:
            keep = m(b, h, q_idx, kv_idx)
            result = keep if result is None else op(result, keep)
        return noop_mask(b, h, q_idx, kv_idx) if result is None else result
    combined.__name__ = name
    return combined


def and_masks(*mask_mods):
    """A mask_mod keeping the pairs every one of `mask_mods` keeps
    (FlexAttention's and_masks; none: every pair)."""
    return _combine(mask_mods, lambda x, y: x & y, "and_masks")


def or_masks(*mask_mods):
    """A mask_mod keeping the pairs any one of `mask_mods` keeps
    (FlexAttention's or_masks; none: no pair)."""
    if not mask_mods:
        return _combine((lambda b, h, q_idx, kv_idx: q_idx < 0,), None, "or_masks")
    return _combine(mask_mods, lambda x, y: x | y, "or_masks")


def traced_regions(score_mod, mask_mod):
    """(spec fields, capture arrays) for optional score_mod / mask_mod."""
    fields, captures = {}, []
    if score_mod is not None:
        body, caps = trace(score_mod, "score", prefix="s")
        fields.update(score_mod=body, score_mods=(ScoreMod(),))
        captures += caps
    if mask_mod is not None:
        body, caps = trace(mask_mod, "mask", prefix="m")
        fields.update(mask_mod=body)
        captures += caps
    return fields, captures


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None,
                   enable_gqa=False, return_lse=False, kernel_options=None):
    """softmax(score_mod(scale * Q K^T) masked by block_mask) V.

    query [B, Hq, Sq, D], key/value [B, Hkv, Sk, D] (torch CUDA tensors run on
    the GPU; numpy arrays or CPU tensors on the CPU backend). score_mod(score,
    b, h, q_idx, kv_idx) and the block mask's mask_mod are traced once into
    the compiled kernel. Returns out [B, Hq, Sq, D] (and lse [B, Hq, Sq] with
    return_lse=True); a query row with no kept key gives 0 (lse -inf)."""
    known = _fast_key(query, key, value, score_mod, block_mask, scale, enable_gqa,
                      return_lse)
    entry = _launches.get(known)
    if entry is not None and entry.still_valid(score_mod):
        out, lse = entry.launch({"q": query, "k": key, "v": value})
        return (out, lse) if return_lse else out
    torch_block_mask = block_mask
    dt = check_qkv(query, key, value, 4, "[B, H, S, D]")
    b, hq, sq, d = query.shape
    if tuple(key.shape[:1]) != (b,) or tuple(value.shape[:3]) != tuple(key.shape[:3]):
        raise ValueError(f"key/value must be [B={b}, Hkv, Sk, D]: got key "
                         f"{tuple(key.shape)}, value {tuple(value.shape)}")
    check_heads(hq, key.shape[1], enable_gqa)
    scale = check_scale(scale)
    if _is_torch_block_mask(block_mask):
        block_mask = _from_torch_block_mask(block_mask)
    if block_mask is not None and not isinstance(block_mask, BlockMask):
        raise TypeError(f"block_mask must be an attn.BlockMask (from "
                        f"attn.create_block_mask) or torch's flex_attention BlockMask, "
                        f"got {type(block_mask).__name__}")
    masks, mask_mod = (), None
    if block_mask is not None:
        if (block_mask.query_len, block_mask.key_len) != (sq, key.shape[2]):
            raise ValueError(f"block_mask was made for Q_LEN={block_mask.query_len}, "
                             f"KV_LEN={block_mask.key_len}, but the inputs have "
                             f"Sq={sq}, Sk={key.shape[2]}")
        masks, mask_mod = block_mask.masks, block_mask.mask_mod
    # Block lists (create_block_mask's, torch's, or a hand-built matrix's):
    # empty blocks skipped, full ones without mask code, the exact mask per
    # element in the partial ones.
    block_sparse, full_blocks, lists = None, False, {}
    given = block_mask.block_lists() if block_mask is not None else None
    if given is not None:
        block_sparse = (block_mask.query_block_size, block_mask.key_block_size)
        full_blocks = "full_kv_num_blocks" in given
        for name, t in given.items():
            if t.shape[0] not in (1, b) or t.shape[1] not in (1, hq):
                raise ValueError(f"block_mask was made for B={t.shape[0]}, H={t.shape[1]}, "
                                 f"but the inputs have B={b}, H={hq}")
            if on_gpu(query) and is_torch(query):
                import torch
                t = t if is_torch(t) else torch.from_numpy(t)
                lists[name] = t.to(device=query.device, dtype=torch.int32).contiguous()
            else:
                lists[name] = t.cpu().numpy() if is_torch(t) else t
        # create_block_mask's lists (host ones, without device="cuda") are
        # kept on the device: later calls neither copy them again nor miss
        # the launch cache.
        if block_mask.kv_lists is given and on_gpu(query) and is_torch(query):
            block_mask.kv_lists = dict(lists)
    fields, captures = traced_regions(score_mod, mask_mod)
    if mask_mod is not None:
        masks = masks + (MaskMod(),)
    spec = AttentionSpec(dtype=dt, heads_q=hq, heads_kv=key.shape[1], head_dim=d,
                         head_dim_v=value.shape[-1], layout="bhsd", masks=masks,
                         scale=scale, lse=bool(return_lse), block_sparse=block_sparse,
                         full_blocks=full_blocks,
                         captures=tuple((n, capture_type(a, e)) for n, a, e in captures),
                         **fields)
    named = {"q": query, "k": key, "v": value, **lists}
    captured = _capture_arrays(captures, query)
    named.update(captured)
    # Cached only where the kernel reads the caller's own tensors (a copy,
    # e.g. of a numpy capture, would miss later in-place updates).
    if given is not None and any(lists[n] is not t for n, t in given.items()):
        known = None
    if any(captured[n] is not a for n, a, _ in captures):
        known = None
    out, lse = _launches.run(known, spec, named, entry=lambda launch: _Launch(
        launch, torch_block_mask, block_mask, score_mod, fields, captures))
    return (out, lse) if return_lse else out


# Launches of earlier calls: a call like one of them (the same tensor
# shapes, strides, dtypes and device, block mask, score_mod and options)
# re-traces its functions, finds the same regions and captured tensors and
# launches at once (the checks, the block lists' conversion, the spec and
# the kernel lookup were done for that call).
_launches = LaunchCache()


def _fast_key(query, key, value, score_mod, block_mask, scale, enable_gqa, return_lse):
    """The cache key of a call on contiguous CUDA tensors, else None."""
    known = tensor_key((query, key, value))
    if known is None:
        return None
    # A lambda written in the call is a new function each time with the
    # same code (its captures are compared on a hit).
    known += (id(getattr(score_mod, "__code__", score_mod)), id(block_mask), scale,
              bool(enable_gqa), bool(return_lse))
    try:
        hash(known)
    except TypeError:  # an unhashable scale: the checks will say so
        return None
    return known


class _Launch:
    """A cached flex_attention launch and what it depends on beyond the key:
    the objects whose ids the key holds (kept alive, so that the ids stay
    theirs), the block lists' identity, and the traced regions with their
    captured tensors (re-traced per call: a closure may now hold another
    tensor, or another constant)."""

    def __init__(self, launch, given_mask, block_mask, score_mod, fields, captures):
        self.launch, self.given_mask, self.score_mod = launch, given_mask, score_mod
        self.block_mask, self.fields = block_mask, fields
        self.captures = [(n, a, e) for n, a, e in captures]
        self.lists = self._lists()

    def _lists(self):
        """The block mask's parts the launch was made from (compared by
        identity)."""
        m = self.given_mask
        if m is None:
            return ()
        if _is_torch_block_mask(m):
            return tuple(getattr(m, n, None) for n in
                         ("kv_num_blocks", "kv_indices", "full_kv_num_blocks",
                          "full_kv_indices", "mask_mod", "BLOCK_SIZE", "seq_lengths"))
        lists = m.kv_lists or {}
        return (m.mask_mod, m.masks, m.mask_matrix, m.kv_lists) + tuple(
            lists[n] for n in sorted(lists))

    def still_valid(self, score_mod):
        now = self._lists()
        if len(now) != len(self.lists) or any(x is not y for x, y in zip(now, self.lists)):
            return False
        mask_mod = self.block_mask.mask_mod if self.block_mask is not None else None
        try:
            fields, captures = traced_regions(score_mod, mask_mod)
        except Exception:  # noqa: BLE001 (the full path reports it)
            return False
        return fields == self.fields and len(captures) == len(self.captures) and all(
            a is a0 and e == e0 for (_, a, e), (_, a0, e0) in zip(captures, self.captures))
