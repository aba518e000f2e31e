// RUN: attn-opt %s --split-input-file --attn-materialize-defaults | FileCheck %s

// An absent scale becomes explicit: 1/sqrt(head_dim) = 1/sqrt(64) = 0.125.
// CHECK-LABEL: func @default_scale
// CHECK: attn.attention {{.*}}{scale = 1.250000e-01 : f32}
func.func @default_scale(%q: tensor<1x16x2x64xf16>, %k: tensor<1x16x2x64xf16>, %v: tensor<1x16x2x64xf16>) -> tensor<1x16x2x64xf16> {
  %o = attn.attention %q, %k, %v : tensor<1x16x2x64xf16>, tensor<1x16x2x64xf16>, tensor<1x16x2x64xf16> -> tensor<1x16x2x64xf16>
  return %o : tensor<1x16x2x64xf16>
}

// -----

// 1/sqrt(128) = 0.0883883...; the head dim is the q/k one, not Dv = 64.
// CHECK-LABEL: func @default_scale_dv
// CHECK: scale = 0.0883883461 : f32
func.func @default_scale_dv(%q: tensor<1x16x2x128xf32>, %k: tensor<1x16x2x128xf32>, %v: tensor<1x16x2x64xf32>) -> tensor<1x16x2x64xf32> {
  %o = attn.attention %q, %k, %v : tensor<1x16x2x128xf32>, tensor<1x16x2x128xf32>, tensor<1x16x2x64xf32> -> tensor<1x16x2x64xf32>
  return %o : tensor<1x16x2x64xf32>
}

// -----

// An explicit scale is kept; empty masks / score_mods arrays (no mask, no
// modification) are dropped.
// CHECK-LABEL: func @explicit_scale
// CHECK: attn.attention {{.*}} {scale = 5.000000e-01 : f32} :
// CHECK-NOT: masks
func.func @explicit_scale(%q: tensor<1x16x2x64xf16>, %k: tensor<1x16x2x64xf16>, %v: tensor<1x16x2x64xf16>) -> tensor<1x16x2x64xf16> {
  %o = attn.attention %q, %k, %v {scale = 0.5 : f32, masks = [], score_mods = []} : tensor<1x16x2x64xf16>, tensor<1x16x2x64xf16>, tensor<1x16x2x64xf16> -> tensor<1x16x2x64xf16>
  return %o : tensor<1x16x2x64xf16>
}
