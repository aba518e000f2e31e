"""Times the same bench kernels built by two compilers (e.g. before and after
a refactor) in one run on the GPU, each side through its own runtime
library (artifact formats may differ), alternating A and B to cancel drift.

  here:        build/bin/attn-compile of both trees into DIR_A / DIR_B
               (from the .mlir files bench/gpu_bench.py --compile writes)
  GPU machine: python3 bench/ab_compare.py DIR_A LIB_A DIR_B LIB_B [rounds]
               (ATTN_AB_SEQLENS=512,1024,... for other grid seqlens)

Kernels are named d<D>_<dense|causal>.attn (gpu_bench's grid: bf16, 16k
tokens, hidden 2048, seqlen 4096 and 16384) or after one of gpu_bench's
variants (document6.attn, ...: its b4 h16 s4096 d128 problem).
"""
import json
import os
import subprocess
import sys

SEQLENS = tuple(int(x) for x in os.environ.get("ATTN_AB_SEQLENS", "4096,16384").split(","))


def time_side(kernel_dir, lib):
    """TFLOP/s of every kernel in kernel_dir, run through runtime `lib`."""
    import torch
    import triton.testing
    os.environ["ATTN_RUNTIME_LIB"] = lib
    from bench_kernels import grid_problem, variant_problem  # puts attn on sys.path
    from attn._runtime import Kernel
    from gpu_bench import VARIANTS
    rows = {}
    for name in sorted(os.listdir(kernel_dir)):
        if not name.endswith(".attn"):
            continue
        stem = name[:-5]
        if stem in VARIANTS:
            spec = VARIANTS[stem]
            kernel = Kernel(os.path.join(kernel_dir, name))
            args, out, flops, _, _ = variant_problem(torch, stem, spec.heads_q,
                                                     spec.heads_kv)
            ms = triton.testing.do_bench(lambda: kernel(*args, out),
                                         return_mode="median")
            rows[stem] = flops / (ms * 1e-3) / 1e12
            continue
        d = int(stem.split("_")[0][1:])
        causal = stem.endswith("causal")
        kernel = Kernel(os.path.join(kernel_dir, name))
        for seq in SEQLENS:
            q, k, v, out, lse, flops = grid_problem(torch, d, seq, causal)
            ms = triton.testing.do_bench(lambda: kernel(q, k, v, out, lse),
                                         return_mode="median")
            rows[f"{stem} {seq}"] = flops / (ms * 1e-3) / 1e12
    return rows


def main():
    if sys.argv[1] == "--side":
        print(json.dumps(time_side(sys.argv[2], sys.argv[3])))
        return
    dir_a, lib_a, dir_b, lib_b = sys.argv[1:5]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    results = {"A": [], "B": []}
    for _ in range(rounds):
        for side, (kdir, lib) in (("A", (dir_a, lib_a)), ("B", (dir_b, lib_b))):
            run = subprocess.run([sys.executable, __file__, "--side", kdir, lib],
                                 capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"side {side} failed:\n{run.stderr}")
            out = run.stdout
            results[side].append(json.loads(out.strip().splitlines()[-1]))
    best = {s: {k: max(r[k] for r in results[s]) for k in results[s][0]} for s in results}
    print("| kernel seqlen | A TFLOP/s | B TFLOP/s | B/A |")
    print("|---|---|---|---|")
    for key in best["A"]:
        a, b = best["A"][key], best["B"].get(key, float("nan"))
        print(f"| {key} | {a:.0f} | {b:.0f} | {b / a:.3f} |")


if __name__ == "__main__":
    main()
