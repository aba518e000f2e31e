"""Compiles, on a machine with the compiler (no GPU needed), every kernel the
GPU API tests ask for, into a directory the GPU machine reads through
ATTN_KERNEL_DIR:

    /usr/bin/python3 python/tests/gpu/prebuild.py build/python_kernels
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import attn  # noqa: E402
import cases  # noqa: E402


class MetaEnv:
    prebuild = True
    attn = attn
    F = attn
    torch = None

    def randn(self, *shape):
        *dims, dtype = shape
        return attn.meta_tensor(dims, dtype)

    # Captured 1-D tensors only need their dtype and rank to be traced.
    def rand(self, n, dtype):
        return np.zeros(n, np.float32)

    def table(self, shape):
        return np.zeros(shape, np.float32)

    def doc_ids(self, n, docs):
        return np.zeros(n, np.int32)

    def ints(self, values):
        return np.asarray(values, np.int32)

    def cumsum(self, lens):
        return np.cumsum([0] + list(lens)).astype(np.int32)


if __name__ == "__main__":
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "build/python_kernels"
    with attn.prebuild(out_dir, chip=os.environ.get("ATTN_CHIP", "sm_90a")):
        for index, case in enumerate(cases.CASES, 1):
            start = time.perf_counter()
            case(MetaEnv())
            print(f"[{index}/{len(cases.CASES)}] {case.__name__} "
                  f"({time.perf_counter() - start:.2f} s)", flush=True)
        # The copyable example (python/examples/flex_attention_example.py).
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples"))
        import flex_attention_example as example
        q = attn.meta_tensor((2, example.HEADS, 1024, example.HEAD_DIM), "bfloat16")
        example.my_attention(q, q, q, np.zeros(example.HEADS, np.float32))
    print(f"{len(os.listdir(out_dir))} kernels in {out_dir}")
