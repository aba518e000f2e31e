#!/usr/bin/env bash
# The wheel on a GPU machine with torch and no LLVM: installs
# dist/attn-*.whl into a fresh target directory, shows what its compiler
# library links, runs the Python tests (CPU and GPU) against the installed
# package from an empty kernel cache with no prebuilt kernels, and times
# compile on first use. Make the wheel here first:
#   /usr/bin/python3 -m pip wheel --no-deps --no-build-isolation ./python -w dist
# and carry dist/.
set -uo pipefail
site="$(mktemp -d)"
python3 -m pip install -q --no-deps --target "$site" dist/attn-*.whl || exit 1
du -h "$site"/attn/lib/*.so
ldd "$site"/attn/lib/libAttnCompiler.so
unset ATTN_KERNEL_DIR ATTN_COMPILER_LIB ATTN_RUNTIME_LIB
export PYTHONPATH="$site" ATTN_TEST_INSTALLED=1
status=0
python3 -c "import attn; print('attn from', attn.__file__)" || status=1
python3 bench/compile_time.py || status=1
python3 -m pytest -q -p no:cacheprovider python/tests || status=1
exit $status
