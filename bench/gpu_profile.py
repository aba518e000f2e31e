"""One launch each of Attn's d128 bf16 kernel and SDPA-flash on the same
problem (b=4, h=16, s=4096), for Nsight Compute on the device:

  ncu --kernel-name regex:"d128_dense_kernel|flash_fwd" --launch-count 2 \
      --section SpeedOfLight --section Occupancy --section LaunchStats \
      --section WarpStateStats --section InstructionStats \
      python3 bench/gpu_profile.py

(kernels from `/usr/bin/python3 bench/gpu_bench.py --compile`, carried in
build/gpu_bench with build/lib/libAttnRuntime.so).
"""
import os

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from bench_kernels import ROOT  # noqa: E402  (puts attn on sys.path)
from attn._runtime import Kernel  # noqa: E402

b, s, h, d = 4, 4096, 16, 128
kernel = Kernel(os.path.join(ROOT, "build", "gpu_bench", "d128_dense.attn"))
q, k, v = (torch.randn(b, s, h, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
out = torch.empty_like(q)
lse = torch.empty(b, h, s, device="cuda")
qt, kt, vt = (x.transpose(1, 2).contiguous() for x in (q, k, v))
for _ in range(2):
    kernel(q, k, v, out, lse)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        F.scaled_dot_product_attention(qt, kt, vt)
torch.cuda.synchronize()
print("done")
