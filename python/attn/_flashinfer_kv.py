"""The FlashInfer API's KV-cache plumbing (attn.flashinfer): checked page
tables, runs through a page table (with the plan's launch cache), and an
fp8 cache's scale operands."""
from __future__ import annotations

from ._backend import dtype_name, is_torch, tensor_key
from ._checks import as_int32, check_int, check_qkv, check_scale
from ._ir import AttentionSpec

_FP8 = "float8_e4m3fn"
_SCALES = {}  # (device, value) -> a [1] float32 tensor, reused by every call


def _kv_scales(k_scale, v_scale, kv_is_fp8, device):
    """{k_scale, v_scale} operands of an fp8 cache ([1] float32 tensors on
    the cache's device, one per distinct value, so a cached launch or a
    captured graph keeps pointing at the right value), or {} for an f16/bf16
    cache, which takes no scales."""
    if not kv_is_fp8:
        for name, scale in (("k_scale", k_scale), ("v_scale", v_scale)):
            if scale is not None and scale != 1.0:
                raise ValueError(f"{name} dequantizes an fp8 (float8_e4m3fn) KV cache; "
                                 "this cache is not fp8")
        return {}
    named = {}
    for name, scale in (("k_scale", k_scale), ("v_scale", v_scale)):
        value = 1.0 if scale is None else check_scale(scale, name)
        if device is None:  # attn.prebuild's meta tensors: compile only
            from ._backend import meta_tensor
            named[name] = meta_tensor((1,), "float32")
            continue
        key = (str(device), value)
        if key not in _SCALES:
            import torch
            _SCALES[key] = torch.tensor([value], dtype=torch.float32, device=device)
        named[name] = _SCALES[key]
    return named


def _check_kv_data_type(kv_data_type, k):
    """The cache's dtype against plan()'s kv_data_type (when given)."""
    if kv_data_type is None:
        return
    want = str(kv_data_type).replace("torch.", "")
    if want != dtype_name(k):
        raise TypeError(f"the cache holds {dtype_name(k)} but plan() said "
                        f"kv_data_type={want}")


class _PageTable:
    """A checked page table (host copy for the checks; the arrays passed to
    the kernels stay where the caller put them, or in the CUDA-graph
    buffers)."""

    def __init__(self, indptr, indices, last_page_len, page_size, bufs=None):
        self.page_size = check_int("page_size", page_size, minimum=1)
        for name, t in (("paged_kv_indptr", indptr), ("paged_kv_indices", indices),
                        ("paged_kv_last_page_len", last_page_len)):
            if not hasattr(t, "shape") or len(t.shape) != 1:
                raise ValueError(f"{name} must be a 1-D int32 tensor")
        host = lambda t: [int(x) for x in (t.detach().cpu() if is_torch(t) else t).tolist()]
        ptr, idx, last = host(indptr), host(indices), host(last_page_len)
        if len(ptr) < 2 or ptr[0] != 0 or any(b < a for a, b in zip(ptr, ptr[1:])):
            raise ValueError(f"paged_kv_indptr must hold batch_size + 1 >= 2 offsets that "
                             f"start at 0 and never decrease, got {ptr}")
        if ptr[-1] > len(idx):
            raise ValueError(f"paged_kv_indptr ends at {ptr[-1]} but paged_kv_indices has "
                             f"{len(idx)} entries")
        if len(last) != len(ptr) - 1:
            raise ValueError(f"paged_kv_last_page_len must have batch_size = {len(ptr) - 1} "
                             f"entries, got {len(last)}")
        for b, n in enumerate(last):
            if ptr[b + 1] > ptr[b] and not 1 <= n <= self.page_size:
                raise ValueError(f"paged_kv_last_page_len[{b}] = {n} must lie in "
                                 f"[1, page_size = {self.page_size}]")
        if idx and min(idx) < 0:
            raise ValueError(f"paged_kv_indices holds a negative page {min(idx)}")
        self.batch = len(ptr) - 1
        self.max_page = max(idx[:ptr[-1]], default=-1)
        self.lengths = [(ptr[b + 1] - ptr[b] - 1) * self.page_size + last[b]
                        if ptr[b + 1] > ptr[b] else 0 for b in range(self.batch)]
        arrays = [as_int32(indptr), as_int32(indices), as_int32(last_page_len)]
        if bufs is not None:
            for name, buf, a in zip(("paged_kv_indptr_buf", "paged_kv_indices_buf",
                                     "paged_kv_last_page_len_buf"), bufs, arrays):
                if buf is None or buf.shape[0] < a.shape[0]:
                    raise ValueError(f"use_cuda_graph=True needs {name} with at least "
                                     f"{a.shape[0]} entries")
            bufs[0].copy_(arrays[0])
            bufs[1][:arrays[1].shape[0]].copy_(arrays[1])
            bufs[2].copy_(arrays[2])
            arrays = [bufs[0], bufs[1], bufs[2]]
        self.named = dict(zip(("kv_page_indptr", "kv_page_indices", "kv_last_page_len"),
                              arrays))

    def pools(self, paged_kv_cache, layout):
        """(k, v) pools from a (k, v) pair or one [pages, 2, ...] tensor,
        checked against the table."""
        if isinstance(paged_kv_cache, (tuple, list)):
            if len(paged_kv_cache) != 2:
                raise ValueError("paged_kv_cache must be (k_cache, v_cache) or one tensor")
            k, v = paged_kv_cache
        else:
            if not hasattr(paged_kv_cache, "shape") or len(paged_kv_cache.shape) != 5 or \
                    paged_kv_cache.shape[1] != 2:
                raise ValueError("a single paged_kv_cache must be [pages, 2, ...] (5-D), got "
                                 f"{getattr(paged_kv_cache, 'shape', None)}")
            k, v = paged_kv_cache[:, 0], paged_kv_cache[:, 1]
        slot_dim = 1 if layout == "NHD" else 2
        for name, x in (("k_cache", k), ("v_cache", v)):
            if not hasattr(x, "shape") or len(x.shape) != 4:
                raise ValueError(f"{name} must be a 4-D page pool")
            if x.shape[slot_dim] != self.page_size:
                raise ValueError(f"{name} dimension {slot_dim} must be page_size = "
                                 f"{self.page_size} ({layout}), got {x.shape[slot_dim]}")
            if self.max_page >= x.shape[0]:
                raise ValueError(f"paged_kv_indices refers to page {self.max_page}, but "
                                 f"{name} holds {x.shape[0]} pages")
        return k, v


def _kv_heads_dim(k, layout):
    """(kv heads, head_dim) of a page pool."""
    return (k.shape[2] if layout == "NHD" else k.shape[1]), k.shape[-1]


def _run_paged(q, k, v, table, p, layout, varlen, return_lse, workspace,
               cu_seqlens_q=None, scales=(None, None)):
    """Attention of q against the page pools through the plan's table. The
    plan keeps the launch of a run (p["launches"]): a later run with q and
    pools of the same shapes, strides and dtypes (a decode step, the next
    layer) only re-points q, K and V and launches (tens of microseconds of
    host time less per call; the page table and mask are the plan's)."""
    fp8 = hasattr(k, "dtype") and dtype_name(k) == _FP8
    if hasattr(k, "dtype"):
        _check_kv_data_type(p.get("kv_data_type"), k)
    scale_args = _kv_scales(*scales, fp8, k.device if is_torch(k) else None)
    known = tensor_key((q,))
    pools = tensor_key((k, v), contiguous=False)  # read with their own strides
    known = (known + pools + (bool(return_lse),) + tuple(scales)
             if known and pools else None)
    launch = p["launches"].get(known)
    if launch is not None:
        return launch({"q": q, "k": k, "v": v}, workspace=workspace)
    rank_q = 3 if varlen else 4
    if not hasattr(k, "shape") or not hasattr(v, "shape"):
        raise TypeError("the paged KV cache must be tensors")
    hkv, d = _kv_heads_dim(k, layout)
    if hkv != p["hkv"] or d != p["d"]:
        raise ValueError(f"the cache holds {hkv} kv heads of head_dim {d}; plan() said "
                         f"{p['hkv']} of {p['d']}")
    dt = check_qkv(q, q, q, rank_q, "[nnz, heads, head_dim]" if varlen
                   else "[batch, 1, heads, head_dim]")
    for name, x in (("k_cache", k), ("v_cache", v)):
        if dtype_name(x) != (_FP8 if fp8 else dtype_name(q)):
            raise TypeError(f"{name} has dtype {dtype_name(x)} but "
                            + ("k_cache is float8_e4m3fn" if fp8 else
                               f"q has {dtype_name(q)}")
                            + " (the cache is q's dtype or float8_e4m3fn)")
    if fp8 and dt == "f32":
        raise TypeError("an fp8 cache needs float16 or bfloat16 q")
    named = {"q": q, "k": k, "v": v, **table.named, **scale_args}
    if varlen:
        named["cu_seqlens_q"] = cu_seqlens_q
    if p.get("mask") is not None:
        named["custom_mask"] = p["mask"]
    spec = AttentionSpec(dtype=dt, heads_q=p["hq"], heads_kv=p["hkv"], head_dim=d,
                         head_dim_v=v.shape[-1], varlen=varlen, masks=p["masks"],
                         score_mods=p["mods"], rope=p["rope"], scale=p["scale"],
                         lse=bool(return_lse), paged_kv=(table.page_size, layout.lower()),
                         kv_dtype="f8E4M3FN" if fp8 else None, kv_scales=fp8)
    return p["launches"].run(known, spec, named, workspace=workspace)
