"""Lowering-config sweep: TFLOP/s of a kernel strategy per (head dim,
causal, block_q x block_k x stages), all in one run, to pick the tile table
by measurement.

  here:        /usr/bin/python3 bench/gpu_configs.py --compile [--strategy sm90a]
  GPU machine: python3 bench/gpu_configs.py [--strategy sm90a]   (carry
               build/lib/libAttnRuntime.so and build/gpu_configs)

bf16, batch x seqlen = 4 x 4096, hidden 2048 (heads = 2048 / d), bshd.
sm80 kernels are compiled for sm_90, sm90a ones for sm_90a.
"""
import os
import sys

from bench_kernels import ROOT, compile_specs  # noqa: E402  (puts attn on sys.path)

from attn._ir import AttentionSpec, Causal  # noqa: E402

OUT_DIR = os.path.join(ROOT, "build", "gpu_configs")
# Per strategy: the chip, the head dims and the (block_q, block_k, stages)
# candidates.
STRATEGIES = {
    "sm80": ("sm_90", (64, 96, 128, 192, 256),
             ((64, 64, 2), (64, 32, 2), (64, 16, 2), (128, 64, 2), (128, 32, 2),
              (32, 64, 2))),
    "sm90a": ("sm_90a", (64, 128, 192, 256),
              ((128, 128, 2), (128, 64, 2), (128, 64, 3), (128, 32, 2),
               (64, 128, 2), (64, 64, 2), (128, 176, 2), (128, 96, 2))),
}


def strategy():
    if "--strategy" in sys.argv:
        return sys.argv[sys.argv.index("--strategy") + 1]
    return "sm80"


def config_name(bq, bk, st):
    return f"q{bq}_k{bk}_s{st}"


def name(d, causal, bq, bk, st):
    return f"d{d}_{'causal' if causal else 'dense'}_{config_name(bq, bk, st)}"


def specs():
    _, dims, configs = STRATEGIES[strategy()]
    for d in dims:
        for causal in (False, True):
            spec = AttentionSpec(dtype="bf16", heads_q=2048 // d, heads_kv=2048 // d,
                                 head_dim=d, masks=(Causal(),) if causal else ())
            for bq, bk, st in configs:
                yield name(d, causal, bq, bk, st), spec, [
                    f"--block-q={bq}", f"--block-k={bk}", f"--stages={st}",
                    f"--strategy={strategy()}"]


def compile_all():
    import subprocess
    ok = 0
    chip = STRATEGIES[strategy()][0]
    for n, spec, flags in specs():
        try:
            compile_specs([(n, spec)], OUT_DIR, chip=chip, flags={n: flags})
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
    configs = [config_name(*c) for c in STRATEGIES[strategy()][2]]
    print(f"\nstrategy {strategy()}")
    print("\n| d | causal | " + " | ".join(configs) + " | best |")
    print("|---|---|" + "---|" * (len(configs) + 1))
    for (d, causal), results in rows.items():
        got = dict(results)
        cells = [f"{got[c]:.0f}" if c in got else "-" for c in configs]
        best = max(results, key=lambda r: r[1])[0]
        print(f"| {d} | {'yes' if causal else 'no'} | " + " | ".join(cells) + f" | {best} |")


if __name__ == "__main__":
    main()
