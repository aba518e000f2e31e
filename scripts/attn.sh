#!/usr/bin/env bash
# Attn's entry point on a fresh Debian 12 machine (CUDA toolkit optional, in
# /usr/local/cuda):
#   bash scripts/attn.sh run    install what is missing, build, run the main job
#                               (attn-run on an example: what each level did,
#                               and a run against the reference; --print-ir
#                               adds the CPU pipeline's LLVM-dialect IR)
#   bash scripts/attn.sh test   install what is missing, build, run every test
# ATTN_BUILD_DIR (default: build) and ATTN_JOBS (default: 2) may be set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${ATTN_BUILD_DIR:-$ROOT/build}"
JOBS="${ATTN_JOBS:-2}"
LLVM_PREFIX=/usr/lib/llvm-22
PACKAGES=(cmake ninja-build g++ ccache libmlir-22-dev mlir-22-tools llvm-22-dev
          llvm-22-tools libgtest-dev zlib1g-dev libzstd-dev lld python3-numpy python3-pytest)

log() { printf '==> %s\n' "$*"; }

install_missing() {
  local missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  if [ ! -f "$BUILD/build.ninja" ]; then
    log "configuring $BUILD"
    cmake -G Ninja -S "$ROOT" -B "$BUILD" \
      -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
      -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" >/dev/null
  fi
  log "building"
  ninja -C "$BUILD" -j "$JOBS"
}

case "${1:-}" in
run)
  # run [--print-ir] [example.mlir] [more attn-run options]
  install_missing
  build
  args=()
  example="$ROOT/examples/causal_gqa.mlir"
  for arg in "${@:2}"; do
    case "$arg" in
    *.mlir) example="$arg" ;;
    *) args+=("$arg") ;;
    esac
  done
  log "attn-run $example ${args[*]}"
  "$BUILD/bin/attn-run" "$example" "${args[@]}"
  ;;
test)
  install_missing
  build
  log "lit: check-attn"
  ninja -C "$BUILD" -j "$JOBS" check-attn
  log "ctest: unit tests"
  ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS"
  # Debian's python3 (with python3-numpy / python3-pytest), not a pyenv one.
  log "pytest: python package (CPU backend)"
  ATTN_COMPILER_LIB="$BUILD/lib/libAttnCompiler.so" \
    ATTN_RUNTIME_LIB="$BUILD/lib/libAttnRuntime.so" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider "$ROOT/python/tests"
  ;;
*)
  echo "usage: bash scripts/attn.sh run [--print-ir] [example.mlir] | test" >&2
  exit 2
  ;;
esac
