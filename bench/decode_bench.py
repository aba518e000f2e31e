"""Decode benchmark: one query token per sequence against a long KV cache,
bf16, 32 query / 8 kv heads, d128 (issue "Serving"), GB/s of K + V read,
side by side in the same run with torch SDPA (flash, cuDNN) and a
device-to-device copy of the same bytes (read + written).

  here:        /usr/bin/python3 bench/decode_bench.py --compile
  GPU machine: python3 bench/decode_bench.py        (carry build/lib/libAttnRuntime.so
                                                     and build/decode_bench)

Every timed kernel is first checked against float64 on the first shape
(max relative error printed). Variants force other key tiles (block_k) of
the decode strategy, to choose its default by measurement.
"""
import os
import sys

from bench_kernels import ROOT, compile_specs

from attn._ir import AttentionSpec, Rope

OUT_DIR = os.path.join(ROOT, "build", "decode_bench")
SHAPES = [(1, 131072), (8, 16384), (64, 4096), (128, 2048)]
HQ, HKV, D = 32, 8, 128
SPEC = AttentionSpec(dtype="bf16", heads_q=HQ, heads_kv=HKV, head_dim=D, seq_q=1)
VARIANTS = {"decode": [], "decode_s2": ["--stages=2"], "decode_s4": ["--stages=4"],
            "decode_w2": ["--kv-warps=2"]}
PAGE = 16
PAGED_SPEC = AttentionSpec(dtype="bf16", heads_q=HQ, heads_kv=HKV, head_dim=D, seq_q=1,
                           paged_kv=(PAGE, "nhd"))
# FlashInfer's ROPE_LLAMA in the kernel: each K tile rotated in shared memory.
ROPE_SPEC = AttentionSpec(dtype="bf16", heads_q=HQ, heads_kv=HKV, head_dim=D, seq_q=1,
                          rope=Rope())
# An fp8 (e4m3) cache with k_scale / v_scale: half the bytes of bf16.
FP8_SPEC = AttentionSpec(dtype="bf16", heads_q=HQ, heads_kv=HKV, head_dim=D, seq_q=1,
                         kv_dtype="f8E4M3FN", kv_scales=True)
# fp8 variants: one warp on 32-key tiles (the default before kv warps),
# 64-key tiles over the 4 kv warps, 3 stages of 128-key tiles.
FP8_VARIANTS = {"decode_fp8_w1": ["--kv-warps=1", "--block-k=32", "--stages=3"],
                "decode_fp8_k64": ["--block-k=64"], "decode_fp8_s3": ["--stages=3"]}


def rope_rows(x, first):
    """x [B, H, S, D] (float64) rotated by ROPE_LLAMA (theta 1e4) to positions
    first, first + 1, ..."""
    import torch
    freq = 1e4 ** (-2.0 * torch.arange(D // 2, device=x.device, dtype=torch.float64) / D)
    pos = torch.arange(first, first + x.shape[2], device=x.device, dtype=torch.float64)
    ang = pos[:, None] * freq
    lo, hi = x[..., :D // 2], x[..., D // 2:]
    return torch.cat([lo * ang.cos() - hi * ang.sin(), hi * ang.cos() + lo * ang.sin()], -1)


def compile_all():
    compile_specs([(name, SPEC) for name in VARIANTS] + [("decode_paged", PAGED_SPEC),
                                                         ("decode_rope", ROPE_SPEC),
                                                         ("decode_fp8", FP8_SPEC)]
                  + [(name, FP8_SPEC) for name in FP8_VARIANTS],
                  OUT_DIR, flags={**VARIANTS, **FP8_VARIANTS})


def main():
    if "--compile" in sys.argv:
        compile_all()
        return
    import torch
    import torch.nn.functional as F
    import triton.testing
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from attn._runtime import Kernel

    bench = lambda fn: triton.testing.do_bench(fn, warmup=50, rep=200, return_mode="median")
    print(torch.cuda.get_device_name(), torch.__version__)
    kernels = {n: Kernel(os.path.join(OUT_DIR, n + ".attn")) for n in VARIANTS}
    paged = Kernel(os.path.join(OUT_DIR, "decode_paged.attn"))
    rope = Kernel(os.path.join(OUT_DIR, "decode_rope.attn"))
    fp8 = Kernel(os.path.join(OUT_DIR, "decode_fp8.attn"))
    scales = (torch.tensor([0.5], device="cuda"), torch.tensor([2.0], device="cuda"))

    def sdpa(backend, q, k, v):
        try:
            with sdpa_kernel(backend):
                F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                return bench(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
        except Exception as e:  # noqa: BLE001
            print(f"  ({backend.name}: {type(e).__name__})")
            return float("nan")

    rows = []
    for index, (b, s) in enumerate(SHAPES):
        q = torch.randn(b, 1, HQ, D, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(b, s, HKV, D, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(b, s, HKV, D, device="cuda", dtype=torch.bfloat16)
        out = torch.full_like(q, float("nan"))
        kv_bytes = 2 * k.numel() * k.element_size()
        gbs = lambda ms: kv_bytes / (ms * 1e-3) / 1e9
        if index == 0 or b == 128:
            # float64 check of every variant on fresh inputs, outputs poisoned.
            qd, kd, vd = (x.double().transpose(1, 2) for x in (q, k, v))
            kd = kd.repeat_interleave(HQ // HKV, 1)
            vd = vd.repeat_interleave(HQ // HKV, 1)
            ref = torch.softmax(qd @ kd.transpose(-1, -2) / D ** 0.5, -1) @ vd
            ref = ref.transpose(1, 2)
            for name, kernel in kernels.items():
                out.fill_(float("nan"))
                kernel(q, k, v, out)
                torch.cuda.synchronize()
                err = ((out.double() - ref).norm() / ref.norm()).item()
                print(f"check {name} b={b} s={s}: rel error {err:.2e}")
            rq, rk = rope_rows(qd, s - 1), rope_rows(kd, 0)
            ref = (torch.softmax(rq @ rk.transpose(-1, -2) / D ** 0.5, -1) @ vd).transpose(1, 2)
            out.fill_(float("nan"))
            rope(q, k, v, out)
            torch.cuda.synchronize()
            err = ((out.double() - ref).norm() / ref.norm()).item()
            print(f"check decode_rope b={b} s={s}: rel error {err:.2e}")
            k8, v8 = k.to(torch.float8_e4m3fn), v.to(torch.float8_e4m3fn)
            kq = k8.double().transpose(1, 2).repeat_interleave(HQ // HKV, 1) * 0.5
            vq = v8.double().transpose(1, 2).repeat_interleave(HQ // HKV, 1) * 2.0
            ref = (torch.softmax(qd @ kq.transpose(-1, -2) / D ** 0.5, -1) @ vq).transpose(1, 2)
            out.fill_(float("nan"))
            fp8(q, k8, v8, *scales, out)
            torch.cuda.synchronize()
            err = ((out.double() - ref).norm() / ref.norm()).item()
            print(f"check decode_fp8 b={b} s={s}: rel error {err:.2e}")
        times = {n: bench(lambda kern=kern: kern(q, k, v, out)) for n, kern in kernels.items()}
        times["rope"] = bench(lambda: rope(q, k, v, out))
        k8, v8 = k.to(torch.float8_e4m3fn), v.to(torch.float8_e4m3fn)
        # fp8 GB/s on the bf16 bytes' scale (the same K/V, half the bytes
        # read): above the bf16 kernels' means faster.
        times["fp8"] = bench(lambda: fp8(q, k8, v8, *scales, out))
        for name in FP8_VARIANTS:
            kern = Kernel(os.path.join(OUT_DIR, name + ".attn"))
            times[name] = bench(lambda kern=kern: kern(q, k8, v8, *scales, out))
        # The same cache in pages of 16 shuffled through a pool: pool page
        # order[b * n + p] holds page p of sequence b.
        n_pages = s // PAGE
        order = torch.randperm(b * n_pages, device="cuda")
        pool_k = torch.empty(b * n_pages, PAGE, HKV, D, device="cuda", dtype=torch.bfloat16)
        pool_v = torch.empty_like(pool_k)
        pool_k[order] = k.reshape(b * n_pages, PAGE, HKV, D)
        pool_v[order] = v.reshape(b * n_pages, PAGE, HKV, D)
        indptr = torch.arange(0, b * n_pages + 1, n_pages, device="cuda", dtype=torch.int32)
        indices = order.to(torch.int32)
        last = torch.full((b,), PAGE, device="cuda", dtype=torch.int32)
        paged_out = torch.full_like(out, float("nan"))
        paged(q, pool_k, pool_v, indptr, indices, last, paged_out)
        kernels["decode"](q, k, v, out)
        torch.cuda.synchronize()
        diff = ((paged_out.double() - out.double()).norm() / out.double().norm()).item()
        print(f"check decode_paged b={b} s={s}: rel difference to contiguous {diff:.2e}")
        times["paged"] = bench(lambda: paged(q, pool_k, pool_v, indptr, indices, last,
                                             paged_out))
        qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))
        t_flash = sdpa(SDPBackend.FLASH_ATTENTION, qt, kt, vt)
        t_cudnn = sdpa(SDPBackend.CUDNN_ATTENTION, qt, kt, vt)
        src = torch.empty(kv_bytes, dtype=torch.uint8, device="cuda")
        dst = torch.empty_like(src)
        t_copy = bench(lambda: dst.copy_(src))
        copy_gbs = 2 * kv_bytes / (t_copy * 1e-3) / 1e9
        rows.append((b, s, {n: gbs(t) for n, t in times.items()}, gbs(t_flash),
                     gbs(t_cudnn), copy_gbs, times["decode"] * 1e3))
    if "--profile" in sys.argv:
        # Per-kernel times (CUPTI sees the runtime's driver launches too).
        from torch.profiler import ProfilerActivity, profile
        b, s = SHAPES[0]
        q = torch.randn(b, 1, HQ, D, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(b, s, HKV, D, device="cuda", dtype=torch.bfloat16)
        out = torch.empty_like(q)
        kernels["decode"](q, k, k, out)
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(20):
                kernels["decode"](q, k, k, out)
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=6))
    names = list(VARIANTS) + ["paged", "rope", "fp8"] + list(FP8_VARIANTS)
    print("\n| batch x kv length | " + " | ".join(names) +
          " | SDPA flash | cuDNN | copy (r+w) | attn/cuDNN | attn/copy | attn us |")
    print("|---" * (len(names) + 7) + "|")
    for b, s, ours, fl, cu, cp, us in rows:
        best = ours["decode"]
        print(f"| {b} x {s} | " + " | ".join(f"{ours[n]:.0f}" for n in names) +
              f" | {fl:.0f} | {cu:.0f} | {cp:.0f} | {best / cu:.2f} | {best / cp:.2f} | {us:.1f} |"
              f" paged/contiguous {ours['paged'] / best:.2f}, rope/plain {ours['rope'] / best:.2f},"
              f" fp8 time/bf16 {best / ours['fp8']:.2f} ({ours['fp8'] / 2:.0f} GB/s of fp8"
              f" bytes, {ours['fp8'] / 2 / cp:.2f} of copy)")


if __name__ == "__main__":
    main()
