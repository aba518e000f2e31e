"""Argument checks shared by the public functions: every bad input is a
ValueError or TypeError that names the argument, before anything runs."""
from __future__ import annotations

import math
import numbers
import operator

from ._backend import dtype_name, element_type, is_torch, on_gpu

FLT_MAX = 3.4028234663852886e38
FLT_TINY = 1.1754943508222875e-38  # smallest normal float32


def check_qkv(q, k, v, rank, layout_name, *, gqa=True, fp8_kv=False):
    """Checks q/k/v; returns the spec dtype. With `fp8_kv`, k and v may be
    a float8_e4m3fn cache under float16/bfloat16 q (on the GPU)."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not hasattr(t, "shape") or not hasattr(t, "dtype"):
            raise TypeError(f"{name} must be a tensor (torch or numpy), got {type(t).__name__}")
        if len(t.shape) != rank:
            raise ValueError(f"{name} must have {rank} dimensions {layout_name}, "
                             f"got shape {tuple(t.shape)}")
    dt = element_type(q)
    if dt is None:
        raise TypeError(f"q has dtype {dtype_name(q)}; supported: float16, bfloat16, float32")
    kv_fp8 = fp8_kv and dtype_name(k) == "float8_e4m3fn"
    for name, t in (("k", k), ("v", v)):
        if kv_fp8 and dtype_name(t) == "float8_e4m3fn":
            if dt == "f32":
                raise TypeError("a float8_e4m3fn KV cache needs float16 or bfloat16 q")
            continue
        if dtype_name(t) != dtype_name(q):
            raise TypeError(f"{name} has dtype {dtype_name(t)} but q has {dtype_name(q)}; "
                            f"q, k and v must share one dtype"
                            + (" (or k and v both float8_e4m3fn)" if fp8_kv else ""))
    gpu = [on_gpu(t) for t in (q, k, v)]
    if any(gpu) and not all(gpu):
        raise ValueError("q, k and v must all be CUDA tensors or all be host tensors")
    if all(gpu):
        devs = {str(t.device) for t in (q, k, v)}
        if len(devs) > 1:
            raise ValueError(f"q, k and v are on different devices: {sorted(devs)}")
        if dt == "f32":
            raise TypeError("the GPU kernels take float16 or bfloat16 tensors; "
                            "float32 runs on the CPU backend")
    d = q.shape[-1]
    if k.shape[-1] != d:
        raise ValueError(f"k head_dim {k.shape[-1]} != q head_dim {d}")
    if d % 8 or not 8 <= d <= 256 or v.shape[-1] % 8 or not 8 <= v.shape[-1] <= 256:
        raise ValueError(f"head_dim must be a multiple of 8 in [8, 256], got q/k {d}, "
                         f"v {v.shape[-1]}")
    return dt


def check_heads(hq, hkv, enable_gqa=True):
    if hkv <= 0 or hq % hkv:
        raise ValueError(f"the number of query heads ({hq}) must be a multiple of the "
                         f"number of kv heads ({hkv})")
    if hq != hkv and not enable_gqa:
        raise ValueError(f"q has {hq} heads and k/v {hkv}: pass enable_gqa=True for "
                         f"grouped-query attention")


def check_same(name, got, want):
    if tuple(got) != tuple(want):
        raise ValueError(f"{name} must have shape {tuple(want)}, got {tuple(got)}")


def _is_bool(x):
    return isinstance(x, bool) or type(x).__name__ in ("bool_", "bool") or \
        str(getattr(x, "dtype", "")) in ("bool", "torch.bool")


def _is_real(x):
    """A Python or numpy real number (not a bool)."""
    return isinstance(x, numbers.Real) and not _is_bool(x)


def check_scale(scale, name="scale"):
    """The scale as a float that is finite and positive in float32 (the
    kernels compute in it)."""
    if scale is None:
        return None
    if not _is_real(scale):
        raise TypeError(f"{name} must be a float, got {type(scale).__name__}")
    scale = float(scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"{name} must be a finite positive number, got {scale}")
    if not FLT_TINY <= scale <= FLT_MAX:
        raise ValueError(f"{name} = {scale} is outside float32's normal range "
                         f"[{FLT_TINY}, {FLT_MAX}]")
    return scale


def check_threshold(name, x, low=None, high=None):
    """An optional finite float threshold, in [low, high) where given."""
    if x is None:
        return None
    if not _is_real(x):
        raise TypeError(f"{name} must be a float, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x}")
    if (low is not None and x < low) or (high is not None and x >= high):
        raise ValueError(f"{name} must be in [{low}, {high}), got {x}")
    return x


def check_int(name, x, minimum=None):
    """A Python, numpy or torch integer scalar as an int (bools rejected)."""
    if _is_bool(x):
        raise TypeError(f"{name} must be an int, got a bool")
    try:
        x = operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(x).__name__}") from None
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {x}")
    return x


def check_int_tensor(name, t, length=None, device_of=None):
    if not hasattr(t, "shape") or dtype_name(t) not in ("int32", "int64"):
        raise TypeError(f"{name} must be an int32 tensor, got "
                        f"{dtype_name(t) if hasattr(t, 'dtype') else type(t).__name__}")
    if len(t.shape) != 1 or (length is not None and t.shape[0] != length):
        raise ValueError(f"{name} must have shape ({length if length is not None else 'n'},), "
                         f"got {tuple(t.shape)}")
    if device_of is not None and on_gpu(t) != on_gpu(device_of):
        raise ValueError(f"{name} must be on the same device as q")


def _host_ints(t):
    """The values of a host int tensor (numpy, CPU torch) as numpy int64;
    None for a CUDA tensor, whose values are not read (that would wait for
    the device)."""
    if on_gpu(t):
        return None
    import numpy as np
    if is_torch(t):
        t = t.detach().cpu().numpy()
    return np.asarray(t).astype(np.int64)


def _device_int32(name, t):
    if on_gpu(t) and dtype_name(t) != "int32":
        raise TypeError(f"{name} on the GPU must be int32, got {dtype_name(t)} (its values "
                        f"are not read on the host, so wider ones cannot be checked)")


def check_offsets(name, t, total, length=None, device_of=None):
    """cu_seqlens: int32 [B + 1] offsets that start at 0, do not decrease and
    end at `total` (the packed token count). Values are checked where they
    live on the host; on the GPU they are the caller's contract (the kernel
    clamps them, so a wrong one never reads or writes out of bounds)."""
    check_int_tensor(name, t, length=length, device_of=device_of)
    if t.shape[0] < 2:
        raise ValueError(f"{name} must hold batch + 1 >= 2 offsets, got {t.shape[0]}")
    _device_int32(name, t)
    values = _host_ints(t)
    if values is None:
        return
    if values[0] != 0:
        raise ValueError(f"{name} must start at 0, got {values[0]}")
    drops = (values[1:] < values[:-1]).nonzero()[0]
    if len(drops):
        i = int(drops[0])
        raise ValueError(f"{name} must not decrease, but {name}[{i}] = {values[i]} > "
                         f"{name}[{i + 1}] = {values[i + 1]}")
    if values[-1] != total:
        raise ValueError(f"{name} must end at the token count {total}, got {values[-1]}")


def check_used(name, t, lengths, device_of=None):
    """seqused / seq_lens: int32 [B] with 0 <= t[b] <= lengths[b] (checked on
    host tensors; a CUDA tensor's values are clamped by the kernel)."""
    check_int_tensor(name, t, length=len(lengths), device_of=device_of)
    _device_int32(name, t)
    values = _host_ints(t)
    if values is None:
        return
    for b, (used, n) in enumerate(zip(values.tolist(), lengths)):
        if not 0 <= used <= n:
            raise ValueError(f"{name}[{b}] = {used} must lie in [0, {n}] (the length of "
                             f"sequence {b})")


def sequence_lengths(cu, count):
    """Per-sequence lengths from host offsets, or `count` unknowns (the
    largest representable value) for device offsets."""
    values = _host_ints(cu)
    if values is None:
        return [2**31 - 1] * count
    return (values[1:] - values[:-1]).tolist()


def as_int32(t):
    if dtype_name(t) == "int32":
        return t
    if is_torch(t):
        import torch
        return t.to(torch.int32)
    return t.astype("int32")


def as_float32(t):
    if is_torch(t):
        import torch
        return t.to(torch.float32).contiguous()
    if not hasattr(t, "astype"):
        return t  # attn.meta_tensor (prebuild): nothing runs
    return t.astype("float32")
