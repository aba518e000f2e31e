// RUN: attn-opt %s --split-input-file --attn-online-softmax --canonicalize | FileCheck %s

// Init: m = lowest finite f32 (-3.40282347E+38, not -inf, so that m - m'
// stays finite), l = 0, acc = 0.
// CHECK-LABEL: func @init
// CHECK-DAG: %[[LOWEST:.*]] = arith.constant -3.40282347E+38 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: memref.store %[[LOWEST]], %arg0
// CHECK: memref.store %[[ZERO]], %arg1
// CHECK: memref.store %[[ZERO]], %arg2
func.func @init(%m: memref<16xf32>, %l: memref<16xf32>, %acc: memref<16x8xf32>) {
  attn.softmax_init %m, %l, %acc : memref<16xf32>, memref<16xf32>, memref<16x8xf32>
  return
}

// -----

// One tile: t = (scale * q.k) * log2(e) with scale 0.5; the row max over
// kept keys; m' = max(m, rowmax); p = keep ? exp2(t - m') : 0;
// l = l * exp2(m - m') + sum p; acc = acc * exp2(m - m') + sum p v.
// The element region is inlined per (r, c): here keep = c < 3.
// CHECK-LABEL: func @update
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[LOG2E:.*]] = arith.constant 1.44269502 : f32
// CHECK: memref.alloca(%{{.*}}) : memref<?xf32>
// CHECK: arith.extf
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: arith.cmpi ult
// CHECK: arith.mulf %{{.*}}, %[[LOG2E]]
// CHECK: arith.maximumf
// CHECK: arith.select
// CHECK: math.exp2
// CHECK: math.exp2
// CHECK: arith.select
func.func @update(%q: memref<?x8xf16>, %k: memref<?x8xf16>, %v: memref<?x8xf16>, %m: memref<16xf32>, %l: memref<16xf32>, %acc: memref<16x8xf32>) {
  attn.tile_update %q, %k, %v into %m, %l, %acc {scale = 0.5 : f32} : memref<?x8xf16>, memref<?x8xf16>, memref<?x8xf16>, memref<16xf32>, memref<16xf32>, memref<16x8xf32> element {
  ^bb0(%s: f32, %r: index, %c: index):
    %c3 = arith.constant 3 : index
    %keep = arith.cmpi ult, %c, %c3 : index
    attn.yield %s, %keep : f32, i1
  }
  return
}

// -----

// Sparse softmax: the tile is folded in only if exp2(rowmax - m') >= threshold.
// CHECK-LABEL: func @threshold
// CHECK: %[[W:.*]] = math.exp2
// CHECK: %[[APPLY:.*]] = arith.cmpf oge, %[[W]], %arg6
// CHECK: scf.if %[[APPLY]]
func.func @threshold(%q: memref<?x8xf32>, %k: memref<?x8xf32>, %v: memref<?x8xf32>, %m: memref<16xf32>, %l: memref<16xf32>, %acc: memref<16x8xf32>, %t: f32) {
  attn.tile_update %q, %k, %v into %m, %l, %acc threshold(%t) {scale = 1.0 : f32} : memref<?x8xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<16xf32>, memref<16xf32>, memref<16x8xf32>
  return
}

// -----

// Finalize (emitRowFinalize, the GPU epilogue's math too): out = acc / l, 0
// where l = 0 (never NaN); lse = (m + log2 l) * ln 2, -inf (0xFF800000)
// where l = 0.
// CHECK-LABEL: func @finalize
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[LN2:.*]] = arith.constant 0.693147182 : f32
// CHECK: %[[ANY:.*]] = arith.cmpf ogt
// CHECK: %[[INV:.*]] = arith.select %[[ANY]]
// CHECK: math.log2
// CHECK: %[[LSE2:.*]] = arith.select %[[ANY]], %{{.*}}, %[[NEGINF]]
// CHECK: %[[LSE:.*]] = arith.mulf %[[LSE2]], %[[LN2]]
// CHECK: arith.mulf %{{.*}}, %[[INV]]
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: memref.store %[[LSE]]
func.func @finalize(%m: memref<16xf32>, %l: memref<16xf32>, %acc: memref<16x8xf32>, %out: memref<?x8xbf16>, %lse: memref<?xf32>) {
  attn.softmax_finalize %m, %l, %acc into %out lse(%lse : memref<?xf32>) : memref<16xf32>, memref<16xf32>, memref<16x8xf32>, memref<?x8xbf16>
  return
}

// -----

// A sink logit joins the denominator: m' = max(m, sink * log2 e),
// l' = l * exp2(m - m') + exp2(sink * log2 e - m').
// CHECK-LABEL: func @sink
// CHECK: arith.mulf %arg4, %{{.*}} : f32
// CHECK: arith.maximumf
// CHECK: math.exp2
// CHECK: math.exp2
func.func @sink(%m: memref<16xf32>, %l: memref<16xf32>, %acc: memref<16x8xf32>, %out: memref<?x8xf32>, %sink: f32) {
  attn.softmax_finalize %m, %l, %acc into %out sink(%sink) : memref<16xf32>, memref<16xf32>, memref<16x8xf32>, memref<?x8xf32>
  return
}
