"""Launches one gpu_bench grid kernel a few times, for a profiler to attach
to (Nsight Compute on the GPU machine):

  ncu --clock-control none --launch-skip 2 --launch-count 1 --section ... \
      python3 bench/profile_kernel.py build/gpu_bench/d128_dense.attn 4096

The problem is gpu_bench's (bf16, 16k tokens, hidden 2048) at the kernel's
head dim and the given sequence length; causal when the name says so.
"""
import os
import sys

from bench_kernels import grid_problem  # noqa: E402  (puts attn on sys.path)


def main():
    import torch
    from attn._runtime import Kernel
    path, seq = sys.argv[1], int(sys.argv[2])
    stem = os.path.basename(path)[:-len(".attn")]
    d = int(stem.split("_")[0][1:])
    kernel = Kernel(path)
    q, k, v, out, lse, _ = grid_problem(torch, d, seq, stem.endswith("causal"))
    for _ in range(4):
        kernel(q, k, v, out, lse)
    torch.cuda.synchronize()
    print(f"{stem} seq {seq}: ran")


if __name__ == "__main__":
    main()
