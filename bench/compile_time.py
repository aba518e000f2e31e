"""Compile-on-first-use timings, on the GPU machine, of the installed `attn`
package (e.g. the wheel in a fresh target directory: no prebuilt kernels,
an empty cache):

  cold     compile one kernel (IR -> cubin, ptxas included) in this process:
           the first one also pays the compiler's one-time set-up;
  disk     a kernel already in the on-disk cache, in a fresh in-memory cache
           (read the artifact, load the module);
  memory   the kernel of a call seen before (the per-call lookup);
  call     a whole small flash_dense_attn_func call after that (host time
           of tracing the arguments, the lookup and the launch).

  python3 bench/compile_time.py
"""
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("ATTN_CACHE_DIR", tempfile.mkdtemp(prefix="attn-cache-"))

import torch  # noqa: E402

import attn  # noqa: E402
from attn import _backend, _compiler  # noqa: E402
from attn._ir import AttentionSpec, Causal, Softcap  # noqa: E402


def ms(seconds):
    return f"{seconds * 1e3:8.3f} ms"


def main():
    print(f"attn from {os.path.dirname(attn.__file__)}; cache {_backend.cache_dir()}")
    print(f"compiler library: {_compiler.library()._name}")
    chip = _backend._chip(0)
    specs = [
        AttentionSpec(dtype="bf16", heads_q=16, heads_kv=16, head_dim=128,
                      masks=(Causal(),), lse=True),
        AttentionSpec(dtype="bf16", heads_q=32, heads_kv=8, head_dim=64, masks=(Causal(),)),
        AttentionSpec(dtype="f16", heads_q=16, heads_kv=16, head_dim=128,
                      masks=(Causal(),), score_mods=(Softcap(30.0),)),
        AttentionSpec(dtype="bf16", heads_q=8, heads_kv=8, head_dim=256),
    ]
    print(f"| kernel ({chip}) | cold compile | disk hit | memory hit |")
    print("|---|---|---|---|")
    for spec in specs:
        start = time.perf_counter()
        _backend.gpu_kernel(spec, chip)
        cold = time.perf_counter() - start
        _backend._gpu_kernels.clear()
        start = time.perf_counter()
        _backend.gpu_kernel(spec, chip)
        disk = time.perf_counter() - start
        hits = []
        for _ in range(1000):
            start = time.perf_counter()
            _backend.gpu_kernel(spec, chip)
            hits.append(time.perf_counter() - start)
        print(f"| {spec.summary()} | {ms(cold)} | {ms(disk)} | {ms(statistics.median(hits))} |")
    q = torch.randn(1, 128, 16, 128, device="cuda", dtype=torch.bfloat16)
    attn.flash_dense_attn_func(q, q, q, is_causal=True)
    torch.cuda.synchronize()
    calls = []
    for _ in range(200):
        start = time.perf_counter()
        attn.flash_dense_attn_func(q, q, q, is_causal=True)
        calls.append(time.perf_counter() - start)
    torch.cuda.synchronize()
    print(f"\nwhole call (1x128x16x128 causal, host time, median of 200): "
          f"{ms(statistics.median(calls))}")
    print(f"stats: {_backend.stats}")


if __name__ == "__main__":
    sys.exit(main())
