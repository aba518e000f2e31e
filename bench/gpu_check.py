"""Checks and times Attn's GPU kernels on the device (not a CI test).

Run from the repository root on the GPU machine, with build/lib and
build/gpu_artifacts carried (artifacts made by `attn-compile` from
bench/gpu_cases/*.mlir):

    python3 bench/gpu_check.py

Correctness: fresh random inputs, NaN-poisoned outputs, every output element
compared with PyTorch in float64; prints ||out - ref|| / ||ref||, the max
error and the lse error. Timing: median of triton.testing.do_bench, side by
side with torch SDPA (flash and cuDNN backends) in the same run.
"""
import ctypes
import math
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lib = ctypes.CDLL(os.path.join(ROOT, "build/lib/libAttnRuntime.so"))

MAX_RANK = 8


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32), ("shape", ctypes.c_int64 * MAX_RANK),
                ("strides", ctypes.c_int64 * MAX_RANK)]


class Arg(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("tensor", Tensor),
                ("i64", ctypes.c_int64), ("f32", ctypes.c_float)]


lib.attn_kernel_load_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.attn_kernel_launch.argtypes = [ctypes.c_void_p, ctypes.POINTER(Arg), ctypes.c_size_t, ctypes.c_void_p]
lib.attn_last_error.restype = ctypes.c_char_p
DTYPES = {torch.float16: 0, torch.bfloat16: 1, torch.float32: 2}


def tensor_arg(t):
    a = Arg()
    a.kind = 0
    a.tensor.data = t.data_ptr()
    a.tensor.dtype = DTYPES[t.dtype]
    a.tensor.rank = t.dim()
    for d in range(t.dim()):
        a.tensor.shape[d] = t.shape[d]
        a.tensor.strides[d] = t.stride(d)
    return a


class Kernel:
    def __init__(self, name):
        self.handle = ctypes.c_void_p()
        path = os.path.join(ROOT, "build/gpu_artifacts", name + ".attn").encode()
        if lib.attn_kernel_load_file(path, ctypes.byref(self.handle)) != 0:
            raise RuntimeError(lib.attn_last_error().decode())

    def __call__(self, *tensors):
        args = (Arg * len(tensors))(*[tensor_arg(t) for t in tensors])
        stream = torch.cuda.current_stream().cuda_stream
        if lib.attn_kernel_launch(self.handle, args, len(tensors), ctypes.c_void_p(stream)) != 0:
            raise RuntimeError(lib.attn_last_error().decode())


# name -> (head_dim, hq, hkv, mask, softcap); mask: None, ("causal", align),
# ("window", left, right, align)
CASES = {
    "d64_f16_causal_br_gqa": (64, 8, 2, ("causal", "br"), None),
    "d128_f16_dense": (128, 4, 4, None, None),
    "d128_f16_causal_softcap": (128, 4, 2, ("causal", "tl"), 30.0),
    "d64_f16_window": (64, 4, 4, ("window", 100, 0, "tl"), None),
    "d128_f16_causal": (128, 16, 16, ("causal", "tl"), None),
    "d64_f16_dense": (64, 32, 32, None, None),
}


def reference(q, k, v, mask, softcap):
    """Attention by definition in float64; q/k/v are [B, S, H, D]."""
    b, sq, hq, d = q.shape
    sk, hkv = k.shape[1], k.shape[2]
    q, k, v = (x.double().transpose(1, 2) for x in (q, k, v))
    k = k.repeat_interleave(hq // hkv, dim=1)
    v = v.repeat_interleave(hq // hkv, dim=1)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(d)
    if softcap:
        s = softcap * torch.tanh(s / softcap)
    i = torch.arange(sq, device=q.device)[:, None]
    j = torch.arange(sk, device=q.device)[None, :]
    keep = torch.ones(sq, sk, dtype=torch.bool, device=q.device)
    if mask and mask[0] == "causal":
        off = sk - sq if mask[1] == "br" else 0
        keep = j <= i + off
    elif mask and mask[0] == "window":
        off = sk - sq if mask[3] == "br" else 0
        keep = (j >= i + off - mask[1]) & (j <= i + off + mask[2])
    s = s.masked_fill(~keep, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    p = torch.softmax(s, dim=-1).nan_to_num(0.0)
    out = (p @ v).transpose(1, 2)
    return out, lse


def check(name, batch, sq, sk):
    d, hq, hkv, mask, softcap = CASES[name]
    kernel = Kernel(name)
    dt = torch.float16
    q = torch.randn(batch, sq, hq, d, device="cuda", dtype=dt)
    k = torch.randn(batch, sk, hkv, d, device="cuda", dtype=dt)
    v = torch.randn(batch, sk, hkv, d, device="cuda", dtype=dt)
    out = torch.full((batch, sq, hq, d), float("nan"), device="cuda", dtype=dt)
    lse = torch.full((batch, hq, sq), float("nan"), device="cuda", dtype=torch.float32)
    kernel(q, k, v, out, lse)
    torch.cuda.synchronize()
    ref, ref_lse = reference(q, k, v, mask, softcap)
    rel = ((out.double() - ref).norm() / ref.norm()).item()
    max_err = (out.double() - ref).abs().max().item()
    finite = torch.isfinite(ref_lse)
    lse_err = (lse.double()[finite] - ref_lse[finite]).abs().max().item()
    masked_ok = bool(torch.all(torch.isinf(lse[~finite]))) if (~finite).any() else True
    written = not torch.isnan(out).any().item() and not torch.isnan(lse).any().item()
    ok = rel < 2e-3 and written and masked_ok and lse_err < 1e-2
    print(f"{'PASS' if ok else 'FAIL'} {name} B={batch} Sq={sq} Sk={sk}: "
          f"rel {rel:.2e}, max abs {max_err:.2e}, lse {lse_err:.2e}, "
          f"all written {written}")
    return ok


def bench():
    import triton.testing
    from torch.nn.attention import SDPBackend, sdpa_kernel
    rows = []
    for name, d, causal in [("d128_f16_dense16", 128, False), ("d128_f16_causal", 128, True),
                            ("d64_f16_dense", 64, False), ("d64_f16_causal32", 64, True)]:
        h = 2048 // d
        kernel = Kernel(name)
        for seq in (1024, 4096, 16384):
            batch = 16384 // seq
            q = torch.randn(batch, seq, h, d, device="cuda", dtype=torch.float16)
            k = torch.randn_like(q)
            v = torch.randn_like(q)
            out = torch.empty_like(q)
            lse = torch.empty(batch, h, seq, device="cuda", dtype=torch.float32)
            flops = 4 * batch * h * seq * seq * d * (0.5 if causal else 1.0)
            ours = triton.testing.do_bench(lambda: kernel(q, k, v, out, lse), return_mode="median")
            qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))
            res = {}
            for label, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                try:
                    with sdpa_kernel(backend):
                        res[label] = triton.testing.do_bench(
                            lambda: F.scaled_dot_product_attention(qt, kt, vt, is_causal=causal),
                            return_mode="median")
                except Exception as e:  # backend unavailable
                    res[label] = float("nan")
            tf = lambda ms: flops / ms * 1e-9
            rows.append((d, seq, causal, tf(ours), tf(res["flash"]), tf(res["cudnn"])))
    print("\n| d | seqlen | causal | attn TFLOP/s | flash TFLOP/s | cudnn TFLOP/s | attn/flash |")
    print("|---|---|---|---|---|---|---|")
    for d, seq, causal, a, fl, cu in rows:
        print(f"| {d} | {seq} | {'yes' if causal else 'no'} | {a:.0f} | {fl:.0f} | {cu:.0f} | {a / fl:.2f} |")


if __name__ == "__main__":
    torch.manual_seed(0)
    print(torch.cuda.get_device_name(), torch.__version__)
    results = [check("d64_f16_causal_br_gqa", 2, 300, 700),
               check("d64_f16_causal_br_gqa", 1, 700, 300),
               check("d128_f16_dense", 2, 1000, 1000),
               check("d128_f16_dense", 1, 17, 33),
               check("d128_f16_causal_softcap", 2, 1000, 1000),
               check("d64_f16_window", 2, 1000, 1000),
               check("d128_f16_causal", 1, 4096, 4096)]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    if "--bench" in sys.argv:
        bench()
