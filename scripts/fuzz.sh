#!/usr/bin/env bash
# Mutation fuzzing of every entry point, about a minute each by default:
#   bash scripts/fuzz.sh [seconds per entry point]
# Needs a build (bash scripts/attn.sh test, or ninja -C build). Inputs that
# crash, hang or (Python) misbehave are saved under fuzz-findings/ (one file
# each; replay with `attn-fuzz <target> --replay=FILE`, `attn-fuzz-artifact
# --replay=FILE`, or `python3 FILE` for the Python ones). Exit status 1 if
# anything was found.
#   opt       MLIR text -> the attn-opt path (parser, verifier, CPU pipeline,
#             GPU kernel generator), seeded with test/ and examples/
#   capi      libAttnCompiler's C API (CPU JIT and PTX), same seeds
#   artifact  kernel artifacts -> libAttnRuntime's loader and argument checks
#             (ASan + UBSan), seeded with kernels compiled from examples/
#             for sm_90 and sm_90a (tensor maps)
#   python    the Python package's argument validation (CPU backend)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${ATTN_BUILD_DIR:-$ROOT/build}"
SECONDS_EACH="${1:-60}"
FINDINGS="$ROOT/fuzz-findings"
SEED="${ATTN_FUZZ_SEED:-1}"
status=0

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for example in "$ROOT"/examples/*.mlir; do
  for chip in sm_90 sm_90a; do # sm_90a: TMA kernels, artifacts with tensor maps
    "$BUILD/bin/attn-compile" "$example" --chip=$chip --format=isa \
      -o "$corpus/$(basename "$example" .mlir).$chip.attn" >/dev/null 2>&1 || true
  done
done

run() {
  echo "==> fuzz $1 (${SECONDS_EACH} s)"
  shift
  "$@" || status=1
}
run opt "$BUILD/bin/attn-fuzz" opt --seconds="$SECONDS_EACH" --seed="$SEED" \
  --findings="$FINDINGS" "$ROOT/test" "$ROOT/examples"
run capi "$BUILD/bin/attn-fuzz" capi --seconds="$SECONDS_EACH" --seed="$SEED" \
  --findings="$FINDINGS" "$ROOT/test" "$ROOT/examples"
run artifact "$BUILD/bin/attn-fuzz-artifact" --seconds="$SECONDS_EACH" \
  --seed="$SEED" --findings="$FINDINGS" "$corpus"
run python env ATTN_COMPILER_LIB="$BUILD/lib/libAttnCompiler.so" \
  ATTN_RUNTIME_LIB="$BUILD/lib/libAttnRuntime.so" PYTHONPATH="$ROOT/python" \
  /usr/bin/python3 "$ROOT/test/Fuzz/fuzz_python.py" --seconds "$SECONDS_EACH" \
  --seed "$SEED" --findings "$FINDINGS"
exit $status
