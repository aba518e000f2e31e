#!/usr/bin/env bash
# Everything that needs a GPU, run on the device machine from the repository
# root after building and compiling the kernels here:
#   bash scripts/attn.sh test
#   /usr/bin/python3 test/GPU/gpu_suite.py --compile
#   /usr/bin/python3 bench/gpu_bench.py --compile
#   /usr/bin/python3 python/tests/gpu/prebuild.py build/python_kernels
# Carry: build/lib/libAttnRuntime.so build/test/GPU build/examples
#        build/gpu_suite build/gpu_bench build/gpu_bench_flex build/python_kernels
# `bash scripts/gpu-tests.sh` runs the tests; add `--bench [plot.png]` to
# time the kernels too. The C++ tests skip cleanly where there is no driver
# or GPU (as in CI).
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv
status=0
build/test/GPU/AttnGpuRuntimeTests --gtest_brief=1 || status=1
build/examples/attention-layer/attn-attention-layer || status=1
build/examples/serving/attn-serving || status=1
python3 test/GPU/gpu_suite.py || status=1
ATTN_KERNEL_DIR="$PWD/build/python_kernels" \
  python3 -m pytest -q -p no:cacheprovider python/tests/gpu || status=1
if [[ "${1:-}" == "--bench" ]]; then
  python3 bench/gpu_bench.py ${2:+--plot "$2"} || status=1
fi
exit $status
