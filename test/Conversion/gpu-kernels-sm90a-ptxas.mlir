// ptxas on the sm90a kernels' PTX: no wgmma may be serialized. ptxas reports
// that only as advisory info, not a warning, so the build's
// --warning-as-error does not catch it: C7513 (a non-wgmma instruction
// defines an input register of a wgmma inside the issue..wait window: P
// written while the previous P V is in flight), C7515 (other code writes
// the accumulators in that window), C7508 (setmaxnreg ignored).
// REQUIRES: ptxas

// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-opt %s --split-input-file --attn-lower-to-gpu="chip=sm_90a format=isa" | %python %S/Inputs/extract_ptx.py %t
// RUN: for f in %t/*.ptx; do %ptxas -arch=sm_90a -v $f -o $f.cubin 2>&1; done | FileCheck %s --implicit-check-not=C7513 --implicit-check-not=C7515 --implicit-check-not=C7508

// d128, causal: the loop's full-tile and masked branches both feed P V.
// CHECK: Compiling entry function 'd128_causal_kernel'
// CHECK: Used {{[0-9]+}} registers
func.func @d128_causal(%q: tensor<2x256x4x128xbf16>, %k: tensor<2x256x4x128xbf16>, %v: tensor<2x256x4x128xbf16>) -> tensor<2x256x4x128xbf16> {
  %o = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>]} : tensor<2x256x4x128xbf16>, tensor<2x256x4x128xbf16>, tensor<2x256x4x128xbf16> -> tensor<2x256x4x128xbf16>
  return %o : tensor<2x256x4x128xbf16>
}

// -----

// d64 with soft-capping (two CTAs per SM: 128 registers per thread).
// CHECK: Compiling entry function 'd64_softcap_kernel'
// CHECK: Used {{[0-9]+}} registers
func.func @d64_softcap(%q: tensor<1x512x2x64xf16>, %k: tensor<1x512x2x64xf16>, %v: tensor<1x512x2x64xf16>) -> tensor<1x512x2x64xf16> {
  %o = attn.attention %q, %k, %v {score_mods = [#attn.softcap<30.0>]} : tensor<1x512x2x64xf16>, tensor<1x512x2x64xf16>, tensor<1x512x2x64xf16> -> tensor<1x512x2x64xf16>
  return %o : tensor<1x512x2x64xf16>
}
