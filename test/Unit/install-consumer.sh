#!/usr/bin/env bash
# Installs Attn into a fresh prefix, builds examples/runtime-consumer against
# it with find_package(Attn), and checks that it runs and reports a missing
# artifact as an error.
set -euo pipefail
build="$1"; src="$2"; work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" --component Unspecified >/dev/null
cmake -S "$src/examples/runtime-consumer" -B "$work/b" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/b" >/dev/null
if "$work/b/attn-runtime-consumer" "$work/missing.attn" >"$work/out" 2>&1; then
  echo "a missing artifact loaded"; exit 1
fi
grep -q "cannot open" "$work/out"
echo "install + find_package(Attn) consumer: ok"
