"""Lowering-config sweep: TFLOP/s of the sm80 kernel per (head dim, causal,
block_q x block_k), all in one run, to pick the tile table by measurement.

  here:        /usr/bin/python3 bench/gpu_configs.py --compile
  GPU machine: python3 bench/gpu_configs.py        (carry
               build/lib/libAttnRuntime.so and build/gpu_configs)

bf16, batch x seqlen = 4 x 4096, hidden 2048 (heads = 2048 / d), bshd.
"""
import os
import sys

from bench_kernels import ROOT, compile_specs  # noqa: E402  (puts attn on sys.path)

from attn._ir import AttentionSpec, Causal  # noqa: E402

OUT_DIR = os.path.join(ROOT, "build", "gpu_configs")
HEAD_DIMS = (64, 96, 128, 192, 256)
CONFIGS = ((64, 64), (64, 32), (64, 16), (128, 64), (128, 32), (32, 64))


def name(d, causal, bq, bk):
    return f"d{d}_{'causal' if causal else 'dense'}_q{bq}_k{bk}"


def specs():
    for d in HEAD_DIMS:
        for causal in (False, True):
            spec = AttentionSpec(dtype="bf16", heads_q=2048 // d, heads_kv=2048 // d,
                                 head_dim=d, masks=(Causal(),) if causal else ())
            for bq, bk in CONFIGS:
                yield name(d, causal, bq, bk), spec, [f"--block-q={bq}", f"--block-k={bk}"]


def compile_all():
    import subprocess
    ok = 0
    for n, spec, flags in specs():
        try:
            compile_specs([(n, spec)], OUT_DIR, flags={n: flags})
            ok += 1
        except subprocess.CalledProcessError:
            print(f"{n}: no kernel (the config does not fit)")
    print(f"{ok} kernels in {OUT_DIR}")


def main():
    if "--compile" in sys.argv:
        compile_all()
        return
    import torch
    import triton.testing
    from attn._runtime import Kernel
    print(torch.cuda.get_device_name(), torch.__version__)
    b, s = 4, 4096
    rows = {}
    for n, spec, _ in specs():
        path = os.path.join(OUT_DIR, n + ".attn")
        if not os.path.exists(path):
            continue
        d, h = spec.head_dim, spec.heads_q
        causal = bool(spec.masks)
        kernel = Kernel(path)
        q, k, v = (torch.randn(b, s, h, d, device="cuda", dtype=torch.bfloat16)
                   for _ in range(3))
        out = torch.empty_like(q)
        ms = triton.testing.do_bench(lambda: kernel(q, k, v, out), return_mode="median")
        flops = 4 * b * h * s * s * d * (0.5 if causal else 1.0)
        rows.setdefault((d, causal), []).append((n.split("_", 2)[2], flops / ms * 1e-9))
    print("\n| d | causal | " + " | ".join(f"q{q}_k{k}" for q, k in CONFIGS) + " | best |")
    print("|---|---|" + "---|" * (len(CONFIGS) + 1))
    for (d, causal), results in rows.items():
        got = dict(results)
        cells = [f"{got[f'q{q}_k{k}']:.0f}" if f"q{q}_k{k}" in got else "-" for q, k in CONFIGS]
        best = max(results, key=lambda r: r[1])[0]
        print(f"| {d} | {'yes' if causal else 'no'} | " + " | ".join(cells) + f" | {best} |")


if __name__ == "__main__":
    main()
