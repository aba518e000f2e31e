// RUN: attn-opt %s --split-input-file --attn-gpu-kernels | FileCheck %s
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels | FileCheck %s --check-prefix=CMP

// A document mask as a mask_mod: keep(i, j) = docs[i] == docs[j]. On sm80 a
// thread's accumulators of one 64-key tile hold 2 rows x 16 columns = 32
// pairs, and each pair's code needs docs[i] and docs[j]. The element code of
// a tile shares what its pairs share: one read per row and one per column,
// 2 + 16 = 18 bounds-checked reads in the partial tiles' code (not 64, one
// per pair and index), and none in the full tiles' code (no mask there).
// CHECK: gpu.func @doc_kernel({{.*}}, %[[DOCS:.*]]: memref<?xi32> {attn.name = "capture3"}
// CHECK-COUNT-18: memref.load %[[DOCS]][
// CHECK-NOT: memref.load %[[DOCS]][
// The ids are compared as the i32 they are (the traced index_casts to index
// dropped: one 32-bit compare per pair, not a 64-bit pair of them), and a
// dropped pair's scaled score becomes -inf (2^(-inf - m) = 0).
// CMP-COUNT-32: arith.cmpi eq, %{{.*}}, %{{.*}} : i32
// CMP-NOT: arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CMP: arith.constant 0xFF800000 : f32
func.func @doc(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>, %docs: tensor<?xi32>) -> tensor<?x?x4x64xf16> {
  %out = attn.attention %q, %k, %v {masks = [#attn.mask_mod]} : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %di = tensor.extract %docs[%i] : tensor<?xi32>
    %dj = tensor.extract %docs[%j] : tensor<?xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    attn.yield %same : i1
  }
  return %out : tensor<?x?x4x64xf16>
}

// -----

// A score_mod reading a per-head table: score + bias[h] reads bias[h] once
// per row of the tile (its head), shared by the row's 16 columns: 2 reads.
// CHECK: gpu.func @headbias_kernel({{.*}}, %[[BIAS:.*]]: memref<?xf32> {attn.name = "capture3"}
// CHECK-COUNT-2: memref.load %[[BIAS]][
// CHECK-NOT: memref.load %[[BIAS]][
func.func @headbias(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>, %bias: tensor<?xf32>) -> tensor<?x?x4x64xf16> {
  %out = attn.attention %q, %k, %v {score_mods = [#attn.score_mod]} : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %bh = tensor.extract %bias[%h] : tensor<?xf32>
    %r = arith.addf %s, %bh : f32
    attn.yield %r : f32
  }
  return %out : tensor<?x?x4x64xf16>
}
