#!/usr/bin/env bash
# The tests that need a GPU, run on the device machine from the repository
# root after building here (bash scripts/attn.sh test). Carry:
#   build/test/GPU  build/lib/libAttnRuntime.so
# They skip cleanly where there is no driver or GPU (as in CI).
set -euo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv
build/test/GPU/AttnGpuRuntimeTests
