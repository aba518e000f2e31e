"""The DIY FlashAttention API: flash_attention (BHSD), flash_attention_v2
(BSHD), reference_attention, validate_attention, GPU detection, the backend
selector (choosing among our compiled kernel configurations) and a small
benchmark runner."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Dict, Optional, Tuple

from ._backend import execute, is_torch, on_gpu
from ._checks import as_int32, check_qkv, check_scale, check_used
from ._ir import AttentionSpec, Causal


def _attention(q, k, v, causal, sm_scale, seq_lens, layout):
    if layout == "bhsd" and len(getattr(q, "shape", ())) == 3:
        # (batch * heads, seq_len, head_dim): one head per batch entry.
        out = _attention(q[:, None], k[:, None], v[:, None], causal, sm_scale, seq_lens,
                         layout)
        return out[:, 0]
    what = "(batch, heads, seq_len, head_dim)" if layout == "bhsd" else \
        "(batch, seq_len, heads, head_dim)"
    dt = check_qkv(q, k, v, 4, what)
    if tuple(k.shape) != tuple(q.shape) or tuple(v.shape) != tuple(q.shape):
        raise ValueError(f"k and v must match q's shape {tuple(q.shape)}, got "
                         f"{tuple(k.shape)} and {tuple(v.shape)}")
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be a bool, got {type(causal).__name__}")
    scale = check_scale(sm_scale, "sm_scale")
    heads = q.shape[1] if layout == "bhsd" else q.shape[2]
    seq = q.shape[2] if layout == "bhsd" else q.shape[1]
    masks = (Causal(),) if causal else ()
    named = {"q": q, "k": k, "v": v}
    if seq_lens is not None:
        # seqused_q = seqused_k = seq_lens: keys past a sample's length are
        # never read (its padding may hold anything) and its query rows there
        # come back 0.
        check_used("seq_lens", seq_lens, [seq] * q.shape[0], device_of=q)
        named.update(seqused_q=as_int32(seq_lens), seqused_k=as_int32(seq_lens))
    spec = AttentionSpec(dtype=dt, heads_q=heads, heads_kv=heads, head_dim=q.shape[-1],
                         layout=layout, masks=masks, scale=scale,
                         seqused=seq_lens is not None)
    out, _ = execute(spec, named)
    return out


def flash_attention(q, k, v, causal=False, sm_scale=None, seq_lens=None):
    """softmax(Q K^T * sm_scale) V on (batch, heads, seq_len, head_dim) or
    (batch * heads, seq_len, head_dim) tensors; seq_lens (int32 [batch])
    masks keys past each sample's length and zeroes those query rows."""
    return _attention(q, k, v, causal, sm_scale, seq_lens, "bhsd")


def flash_attention_v2(q, k, v, causal=False, sm_scale=None, seq_lens=None):
    """The same on (batch, seq_len, heads, head_dim) tensors."""
    return _attention(q, k, v, causal, sm_scale, seq_lens, "bshd")


def reference_attention(q, k, v, causal=False, sm_scale=None):
    """Attention by definition in float64 on (batch, heads, seq, dim)
    tensors; returns q's type and dtype (torch or numpy)."""
    if is_torch(q):
        import torch
        s = (q.double() @ k.double().transpose(-1, -2)) * (
            sm_scale if sm_scale is not None else 1.0 / math.sqrt(q.shape[-1]))
        if causal:
            sq, sk = s.shape[-2:]
            keep = torch.ones(sq, sk, dtype=torch.bool, device=s.device).tril()
            s = s.masked_fill(~keep, float("-inf"))
        p = torch.softmax(s, dim=-1).nan_to_num(0.0)
        return (p @ v.double()).to(q.dtype)
    import numpy as np
    s = (q.astype(np.float64) @ np.swapaxes(k.astype(np.float64), -1, -2)) * (
        sm_scale if sm_scale is not None else 1.0 / math.sqrt(q.shape[-1]))
    if causal:
        sq, sk = s.shape[-2:]
        s = np.where(np.tri(sq, sk, dtype=bool), s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    p = np.exp(s - m)
    l = p.sum(axis=-1, keepdims=True)
    return ((p / np.where(l > 0, l, 1)) @ v.astype(np.float64)).astype(q.dtype)


def validate_attention(fn=None, batch=2, heads=8, seq_len=512, head_dim=64, causal=True,
                       dtype="float16", device=None, atol=None, seed=0):
    """(is_valid, max_diff) of fn (default flash_attention) against
    reference_attention on fresh random (batch, heads, seq_len, head_dim)
    inputs; CUDA when torch sees a GPU, else numpy on the CPU backend."""
    fn = fn or flash_attention
    try:
        import torch
        use_torch = True
    except ImportError:
        use_torch = False
    if use_torch and (device == "cuda" or (device is None and torch.cuda.is_available())):
        g = torch.Generator(device="cuda").manual_seed(seed)
        dt = getattr(torch, dtype)
        q, k, v = (torch.randn(batch, heads, seq_len, head_dim, device="cuda", dtype=dt,
                               generator=g) for _ in range(3))
        out = fn(q, k, v, causal=causal).double()
        ref = reference_attention(q, k, v, causal=causal).double()
        diff = (out - ref).abs().max().item()
    else:
        import numpy as np
        rng = np.random.default_rng(seed)
        q, k, v = (rng.standard_normal((batch, heads, seq_len, head_dim)).astype(dtype)
                   for _ in range(3))
        out = fn(q, k, v, causal=causal).astype(np.float64)
        ref = reference_attention(q.astype(np.float64), k.astype(np.float64),
                                  v.astype(np.float64), causal=causal)
        diff = float(np.abs(out - ref).max())
    tol = atol if atol is not None else {"float16": 4e-3, "bfloat16": 3e-2,
                                         "float32": 1e-4}.get(dtype, 1e-2)
    return diff <= tol, diff


class GPUArch(Enum):
    VOLTA = "sm_70"
    TURING = "sm_75"
    AMPERE = "sm_80"
    ADA = "sm_89"
    HOPPER = "sm_90"
    BLACKWELL = "sm_100"
    UNKNOWN = "unknown"


@dataclass
class GPUCapabilities:
    name: str
    arch: GPUArch
    compute_capability: tuple
    has_tma: bool
    has_fp8: bool
    has_warpgroup_mma: bool
    sram_per_sm: int
    num_sms: int
    total_memory_gb: float


def detect_gpu(device_id: int = 0) -> GPUCapabilities:
    """Capabilities of CUDA device `device_id` (RuntimeError without one)."""
    try:
        import torch
    except ImportError:
        raise RuntimeError("detect_gpu needs torch with CUDA") from None
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA GPU is visible")
    if not 0 <= device_id < torch.cuda.device_count():
        raise ValueError(f"device_id {device_id} out of range "
                         f"[0, {torch.cuda.device_count()})")
    p = torch.cuda.get_device_properties(device_id)
    cc = (p.major, p.minor)
    sm = f"sm_{p.major}{p.minor}"
    arch = next((a for a in GPUArch if a.value == sm), None)
    if arch is None:
        arch = GPUArch.BLACKWELL if p.major >= 10 else GPUArch.UNKNOWN
    hopper = p.major >= 9
    return GPUCapabilities(p.name, arch, cc, hopper, cc >= (8, 9), hopper,
                           getattr(p, "shared_memory_per_multiprocessor", 0),
                           p.multi_processor_count, p.total_memory / 2**30)


class KernelVariant(str, Enum):
    V1 = "v1"
    V2 = "v2"
    PERSISTENT = "persistent"
    AUTO = "auto"


class BackendSelector:
    """Chooses among Attn's compiled configurations. v1 = BHSD entry
    (flash_attention), v2 = BSHD entry (flash_attention_v2); both run the
    same tensor-core kernel (64-row query tiles, 64-key tiles, 4 warps, sm_80
    mma.sync path); 'persistent' is not a configuration we compile and is
    rejected."""

    @staticmethod
    def select_attention(variant=KernelVariant.AUTO, q_shape=None, gpu_capability=None):
        variant = KernelVariant(variant)
        if variant is KernelVariant.PERSISTENT:
            raise ValueError("Attn has no persistent-kernel configuration; use 'v1', 'v2' "
                             "or 'auto'")
        if gpu_capability is not None and gpu_capability < 8:
            raise ValueError(f"Attn's GPU kernels need sm_80 or newer, got capability "
                             f"{gpu_capability}")
        if variant is KernelVariant.V1:
            return flash_attention
        if variant is KernelVariant.V2:
            return flash_attention_v2
        # AUTO (shape given as (batch, seq_len, heads, head_dim)): large
        # problems on Ampere+ take the BSHD entry, the rest BHSD.
        if q_shape is not None and len(q_shape) == 4:
            b, s = q_shape[0], q_shape[1]
            if (gpu_capability is None or gpu_capability >= 8) and b >= 4 and s >= 4096:
                return flash_attention_v2
        return flash_attention


def select_attention_kernel(variant="auto", q_shape=None, gpu_capability=None):
    try:
        v = KernelVariant(variant)
    except ValueError:
        raise ValueError(f"unknown variant {variant!r}; expected one of "
                         f"{[x.value for x in KernelVariant]}") from None
    return BackendSelector.select_attention(v, q_shape, gpu_capability)


class BenchmarkRunner:
    """Times attention functions on CUDA (CUDA events) and prints tables."""

    def __init__(self, warmup=10, rep=50):
        self.warmup, self.rep = warmup, rep

    def _time(self, fn):
        import torch
        for _ in range(self.warmup):
            fn()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(self.rep):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / self.rep

    def benchmark_attention(self, fn, seq_lengths=(512, 1024, 2048), batch=4, heads=16,
                            head_dim=64, causal=False, dtype="float16"):
        import torch
        results = []
        for s in seq_lengths:
            q, k, v = (torch.randn(batch, heads, s, head_dim, device="cuda",
                                   dtype=getattr(torch, dtype)) for _ in range(3))
            ms = self._time(lambda: fn(q, k, v, causal=causal))
            flops = 4 * batch * heads * s * s * head_dim * (0.5 if causal else 1)
            results.append({"name": getattr(fn, "__name__", "fn"), "seq_len": s, "ms": ms,
                            "tflops": flops / ms * 1e-9})
        return results

    def benchmark_matmul(self, fn, sizes=((1024, 1024, 1024),), dtype="float16"):
        import torch
        results = []
        for m, n, k in sizes:
            a = torch.randn(m, k, device="cuda", dtype=getattr(torch, dtype))
            b = torch.randn(k, n, device="cuda", dtype=getattr(torch, dtype))
            ms = self._time(lambda: fn(a, b))
            results.append({"name": getattr(fn, "__name__", "fn"), "size": (m, n, k),
                            "ms": ms, "tflops": 2 * m * n * k / ms * 1e-9})
        return results

    @staticmethod
    def print_comparison_table(results):
        keys = [k for k in results[0] if k != "name"] if results else []
        print("| name | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for r in results:
            print(f"| {r['name']} | " + " | ".join(
                f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in keys) + " |")
