// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_86 --verify-diagnostics
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_90 | FileCheck %s

// Shared memory: Q (64 rows) and two stages of K (64 rows) at D + 8 halves
// per row, two stages of V at Dv + 8: (64 + 128)(D + 8)2 + 128(Dv + 8)2
// bytes. d256: 168960 bytes, within sm_90's 227 KiB but not sm_86's 99 KiB.

// CHECK-LABEL: gpu.func @d256_kernel
// CHECK-SAME: attn.shared_bytes = 168960
func.func @d256(%q: tensor<1x64x2x256xbf16>) -> tensor<1x64x2x256xbf16> {
  // expected-error @+1 {{attn-gpu-kernels: head dims 256/256 need 168960 bytes of shared memory, more than sm_86 offers (101376)}}
  %o = attn.attention %q, %q, %q : tensor<1x64x2x256xbf16>, tensor<1x64x2x256xbf16>, tensor<1x64x2x256xbf16> -> tensor<1x64x2x256xbf16>
  return %o : tensor<1x64x2x256xbf16>
}

// -----

// DeepSeek's 192/128 fits both: (192)(200)(2) + (128)(136)(2) = 111616
// bytes on sm_90; on sm_86 also too much (> 101376).
// CHECK-LABEL: gpu.func @d192_dv128_kernel
// CHECK-SAME: attn.shared_bytes = 111616
func.func @d192_dv128(%q: tensor<1x64x2x192xf16>, %v: tensor<1x64x2x128xf16>) -> tensor<1x64x2x128xf16> {
  // expected-error @+1 {{attn-gpu-kernels: head dims 192/128 need 111616 bytes of shared memory, more than sm_86 offers (101376)}}
  %o = attn.attention %q, %q, %v : tensor<1x64x2x192xf16>, tensor<1x64x2x192xf16>, tensor<1x64x2x128xf16> -> tensor<1x64x2x128xf16>
  return %o : tensor<1x64x2x128xf16>
}

// -----

// d32: (192)(40)(2) + (128)(40)(2) = 25600 bytes; fits every chip.
// CHECK-LABEL: gpu.func @d32_kernel
// CHECK-SAME: attn.shared_bytes = 25600
func.func @d32(%q: tensor<1x64x2x32xf16>) -> tensor<1x64x2x32xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x64x2x32xf16>, tensor<1x64x2x32xf16>, tensor<1x64x2x32xf16> -> tensor<1x64x2x32xf16>
  return %o : tensor<1x64x2x32xf16>
}
