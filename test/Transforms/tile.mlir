// RUN: attn-opt %s --split-input-file --attn-tile="q-tile=16 kv-tile=8" --canonicalize --cse | FileCheck %s

// Causal (top-left) self-attention, GQA 4/2. Per (b, h, q-tile): kv tiles
// [ktLo, fullLo) and [fullHi, ktHi) are partial (their element region holds
// the causal test j <= i), [fullLo, fullHi) are full (no element region:
// nothing to mask or modify). The kv head is h / 2.
// CHECK-LABEL: func @causal_gqa
// CHECK: %[[Q:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK: %[[OUT:.*]] = memref.alloc
// CHECK: scf.for %[[B:.*]] =
// CHECK: scf.for %[[H:.*]] =
// CHECK: %[[HK:.*]] = arith.divui %[[H]], %c2
// CHECK: scf.for %[[QT:.*]] =
// CHECK: attn.softmax_init
// CHECK: memref.subview %[[Q]][%[[B]], %{{.*}}, %[[H]], 0]
// CHECK: scf.for
// CHECK: attn.tile_update {{.*}} element {
// CHECK: arith.cmpi sle
// CHECK: attn.yield
// CHECK: scf.for
// CHECK: attn.tile_update
// CHECK-NOT: element
// CHECK: }
// CHECK: scf.for
// CHECK: attn.tile_update {{.*}} element {
// CHECK: attn.softmax_finalize
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
func.func @causal_gqa(%q: tensor<2x?x4x16xf32>, %k: tensor<2x?x2x16xf32>, %v: tensor<2x?x2x16xf32>) -> tensor<2x?x4x16xf32> {
  %o = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>]} : tensor<2x?x4x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32> -> tensor<2x?x4x16xf32>
  return %o : tensor<2x?x4x16xf32>
}

// -----

// A score modification applies on every tile, full ones included: the full
// loop's tile_update has an element region with the softcap
// 30 * tanh(s / 30) and a constant-true keep.
// CHECK-LABEL: func @softcap
// CHECK: attn.tile_update {{.*}} element {
// CHECK: math.tanh
// CHECK: attn.yield %{{.*}}, %true
func.func @softcap(%q: tensor<1x?x2x16xf32>) -> tensor<1x?x2x16xf32> {
  %o = attn.attention %q, %q, %q {score_mods = [#attn.softcap<30.0>]} : tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32> -> tensor<1x?x2x16xf32>
  return %o : tensor<1x?x2x16xf32>
}

// -----

// Varlen: sequence b spans rows cu[b] .. cu[b+1] (read as i32, after
// canonicalization straight from the tensor); the lse slice is [Hq, Tq].
// CHECK-LABEL: func @varlen
// CHECK: scf.for %[[B:.*]] = %c0 to %c2
// CHECK: tensor.extract %arg1[%[[B]]] : tensor<3xi32>
// CHECK: attn.softmax_finalize {{.*}} lse(%{{.*}} : memref<?xf32, strided<[1], offset: ?>>)
func.func @varlen(%q: tensor<?x2x16xf32>, %cu: tensor<3xi32>) -> (tensor<?x2x16xf32>, tensor<2x?xf32>) {
  %o, %l = attn.attention %q, %q, %q cu_seqlens_q(%cu : tensor<3xi32>) cu_seqlens_k(%cu : tensor<3xi32>) : tensor<?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32> -> tensor<?x2x16xf32>, tensor<2x?xf32>
  return %o, %l : tensor<?x2x16xf32>, tensor<2x?xf32>
}

// -----

// Block sparse: tiles come from the lists, not from a range. For query block
// m, n runs over kv_num_blocks[b, h, m] entries of kv_indices (partial,
// masked), then the full lists (no mask code). Tile sizes are the
// attribute's 32 x 16, whatever the pass options say.
// CHECK-LABEL: func @block_sparse
// CHECK: arith.minsi %{{.*}}, %c32
// CHECK: tensor.extract %arg1[%c0, %c0, %{{.*}}] : tensor<1x1x2xi32>
// CHECK: scf.for
// CHECK: tensor.extract %arg2[%c0, %c0, %{{.*}}, %{{.*}}] : tensor<1x1x2x4xi32>
// CHECK: attn.tile_update {{.*}} element {
// CHECK: tensor.extract %arg3[%c0, %c0, %{{.*}}] : tensor<1x1x2xi32>
// CHECK: scf.for
// CHECK: tensor.extract %arg4
// CHECK: attn.tile_update
// CHECK-NOT: element
// CHECK: attn.softmax_finalize
func.func @block_sparse(%q: tensor<1x64x1x16xf32>, %n: tensor<1x1x2xi32>, %i: tensor<1x1x2x4xi32>, %fn: tensor<1x1x2xi32>, %fi: tensor<1x1x2x4xi32>) -> tensor<1x64x1x16xf32> {
  %o = attn.attention %q, %q, %q kv_num_blocks(%n : tensor<1x1x2xi32>) kv_indices(%i : tensor<1x1x2x4xi32>) full_kv_num_blocks(%fn : tensor<1x1x2xi32>) full_kv_indices(%fi : tensor<1x1x2x4xi32>) {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 16>, masks = [#attn.causal<top_left>]} : tensor<1x64x1x16xf32>, tensor<1x64x1x16xf32>, tensor<1x64x1x16xf32> -> tensor<1x64x1x16xf32>
  return %o : tensor<1x64x1x16xf32>
}

// -----

// Sparse softmax with the default threshold head_dim / Sk = 16 / Sk, passed
// to every tile_update.
// CHECK-LABEL: func @sparse_softmax
// CHECK: %[[SK:.*]] = arith.sitofp
// CHECK: %[[T:.*]] = arith.divf %cst{{.*}}, %[[SK]] : f32
// CHECK: attn.tile_update {{.*}} threshold(%[[T]])
func.func @sparse_softmax(%q: tensor<1x?x1x16xf32>) -> tensor<1x?x1x16xf32> {
  %o = attn.attention %q, %q, %q {sparse_softmax = #attn.sparse_softmax} : tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32> -> tensor<1x?x1x16xf32>
  return %o : tensor<1x?x1x16xf32>
}

// -----

// A paged KV cache, pages of 8 slots ([pages, 8, Hkv, D], nhd). Sequence b
// owns n = indptr[b + 1] - indptr[b] pages and Sk = (n - 1) * 8 +
// last_page_len[b] keys (0 without pages); each kv tile's keys are copied
// page by page into a stack tile: key j of the sequence is slot j % 8 of
// page indices[indptr[b] + j / 8], read with the kv head hk.
// CHECK-LABEL: func @paged
// CHECK: scf.for %[[B:.*]] =
// CHECK: scf.for %[[H:.*]] =
// CHECK: %[[HK:.*]] = arith.divui %[[H]], %c2
// CHECK: %[[TILE:.*]] = memref.alloca() : memref<8x32xf32>
// CHECK: scf.for %[[R:.*]] =
// CHECK: %[[KEY:.*]] = arith.addi %{{.*}}, %[[R]]
// CHECK: arith.divui %[[KEY]], %c8
// CHECK: %[[PAGE:.*]] = tensor.extract %arg3[
// CHECK: %[[SLOT:.*]] = arith.remui %[[KEY]], %c8
// CHECK: scf.for %[[C:.*]] =
// CHECK: %[[X:.*]] = tensor.extract %arg1[%{{.*}}, %[[SLOT]], %[[HK]], %[[C]]]
// CHECK: memref.store %[[X]], %[[TILE]][%[[R]], %[[C]]]
// CHECK: memref.subview %[[TILE]][0, 0] [%{{.*}}, 32] [1, 1]
// CHECK: attn.tile_update
func.func @paged(%q: tensor<?x2x4x32xf32>, %k: tensor<?x8x2x32xf32>, %indptr: tensor<?xi32>, %indices: tensor<?xi32>, %last: tensor<?xi32>) -> tensor<?x2x4x32xf32> {
  %o = attn.attention %q, %k, %k kv_page_indptr(%indptr : tensor<?xi32>) kv_page_indices(%indices : tensor<?xi32>) kv_last_page_len(%last : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 8>} : tensor<?x2x4x32xf32>, tensor<?x8x2x32xf32>, tensor<?x8x2x32xf32> -> tensor<?x2x4x32xf32>
  return %o : tensor<?x2x4x32xf32>
}

// -----

// Document ids with causal: per (b, h, q-tile) the tiling reads the ids
// (DocumentKeys.h, one lane): lo / hi = min / max of doc_q over the tile's
// rows, then over the keys causal keeps (an i32 loop; one key per step, so
// no checked last step) the first key with lo <= doc_kv[j] <= hi, the last,
// and their count; the kv tiles then span only those keys, full where
// lo == hi and the count fills them.
// CHECK-LABEL: func @document
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args(%{{.*}} = %c2147483647_i32, %{{.*}} = %c-2147483648_i32) -> (i32, i32)
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: %[[SCAN:.*]]:3 = scf.for %{{.*}} = %c0_i32 to %{{.*}} step %c1_i32 iter_args
// CHECK: arith.extui
// CHECK: %[[HI:.*]] = arith.addi %[[SCAN]]#1, %c1_i32
// CHECK: arith.subi %[[HI]], %[[SCAN]]#0
// CHECK: scf.for
// CHECK: attn.tile_update {{.*}} element {
func.func @document(%q: tensor<1x?x2x16xf32>, %dq: tensor<1x?xi32>, %dk: tensor<1x?xi32>) -> tensor<1x?x2x16xf32> {
  %o = attn.attention %q, %q, %q doc_ids_q(%dq : tensor<1x?xi32>) doc_ids_kv(%dk : tensor<1x?xi32>) {masks = [#attn.document, #attn.causal<top_left>]} : tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32> -> tensor<1x?x2x16xf32>
  return %o : tensor<1x?x2x16xf32>
}

// -----

// RoPE (bottom-right): each query tile is rotated once into an f32 stack
// tile, each kv tile before its update. Pair d of a row at position p:
// a = p * f_d with f_d = 10000^(-2d/16) / 2 (the constant table: f_0 = 0.5,
// f_1 = 10000^(-1/8) / 2 = 0.1581...), x'_d = x_d cos a - x_{d+8} sin a,
// x'_{d+8} = x_{d+8} cos a + x_d sin a; a query row i sits at i + Sk - Sq,
// a key j at j.
// CHECK-LABEL: func @rope
// CHECK: %[[F:.*]] = arith.constant dense<[5.000000e-01, 0.158113882, {{.*}}]> : tensor<8xf32>
// CHECK: attn.softmax_init
// CHECK: %[[QT:.*]] = memref.alloca() : memref<16x16xf32>
// CHECK: scf.for %[[R:.*]] = %c0 to
// CHECK: %[[ROW:.*]] = arith.addi %{{.*}}, %[[R]]
// CHECK: %[[OFF:.*]] = arith.subi %[[SK:.*]], %[[SQ:.*]] : index
// CHECK: %[[POS:.*]] = arith.addi %[[ROW]], %[[OFF]]
// CHECK: scf.for %[[D:.*]] = %c0 to %c8
// CHECK: %[[D2:.*]] = arith.addi %[[D]], %c8
// CHECK: %[[FD:.*]] = tensor.extract %[[F]][%[[D]]]
// CHECK: %[[Y:.*]] = arith.extf
// CHECK: %[[X:.*]] = arith.extf
// CHECK: %[[P:.*]] = arith.index_cast %[[POS]] : index to i32
// CHECK: %[[PF:.*]] = arith.sitofp %[[P]]
// CHECK: %[[A:.*]] = arith.mulf %[[PF]], %[[FD]]
// CHECK-DAG: %[[COS:.*]] = math.cos %[[A]]
// CHECK-DAG: %[[SIN:.*]] = math.sin %[[A]]
// CHECK: %[[YS:.*]] = arith.mulf %[[Y]], %[[SIN]]
// CHECK: %[[XC:.*]] = arith.mulf %[[X]], %[[COS]]
// CHECK: %[[RX:.*]] = arith.subf %[[XC]], %[[YS]]
// CHECK: %[[XS:.*]] = arith.mulf %[[X]], %[[SIN]]
// CHECK: %[[YC:.*]] = arith.mulf %[[Y]], %[[COS]]
// CHECK: %[[RY:.*]] = arith.addf %[[YC]], %[[XS]]
// CHECK: memref.store %[[RX]], %[[QT]][%[[R]], %[[D]]]
// CHECK: memref.store %[[RY]], %[[QT]][%[[R]], %[[D2]]]
// CHECK: %[[QV:.*]] = memref.subview %[[QT]][0, 0]
// CHECK: %[[KT:.*]] = memref.alloca() : memref<8x16xf32>
// CHECK: math.cos
// CHECK: %[[KV:.*]] = memref.subview %[[KT]][0, 0]
// CHECK: attn.tile_update %[[QV]], %[[KV]], %{{.*}} into
func.func @rope(%q: tensor<1x?x2x16xf16>, %k: tensor<1x?x1x16xf16>) -> tensor<1x?x2x16xf16> {
  %o = attn.attention %q, %k, %k {rope = #attn.rope<theta = 1.0e4, scale = 2.0, align = bottom_right>} : tensor<1x?x2x16xf16>, tensor<1x?x1x16xf16>, tensor<1x?x1x16xf16> -> tensor<1x?x2x16xf16>
  return %o : tensor<1x?x2x16xf16>
}

// -----

// An fp8 KV cache: each kv tile of k and v is dequantized into an f32 stack
// tile, x = k_scale * e4m3(bits) (v: scale 1 without v_scale), the e4m3
// value spelled out on the bits (normal: exponent + 120 into f32's
// exponent; subnormal m * 2^-9; 0x7F / 0xFF NaN).
// CHECK-LABEL: func @fp8
// CHECK: %[[KS:.*]] = tensor.extract %{{.*}}[%c0] : tensor<1xf32>
// CHECK: %[[KT:.*]] = memref.alloca() : memref<8x16xf32>
// CHECK: %[[X:.*]] = memref.load %{{.*}} : memref<?x16xf8E4M3FN
// CHECK: %[[B:.*]] = arith.bitcast %[[X]] : f8E4M3FN to i8
// CHECK: arith.extui %[[B]] : i8 to i32
// CHECK: arith.addi %{{.*}}, %c120_i32
// CHECK: %[[DQ:.*]] = arith.select %{{.*}}, %cst{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[SCALED:.*]] = arith.mulf %[[DQ]], %[[KS]]
// CHECK: memref.store %[[SCALED]], %[[KT]]
// CHECK: %[[KV:.*]] = memref.subview %[[KT]]
// CHECK: %[[VT:.*]] = memref.alloca() : memref<8x16xf32>
// CHECK: %[[VV:.*]] = memref.subview %[[VT]]
// CHECK: attn.tile_update %{{.*}}, %[[KV]], %[[VV]] into
func.func @fp8(%q: tensor<1x?x2x16xf16>, %k: tensor<1x?x1x16xf8E4M3FN>, %s: tensor<1xf32>) -> tensor<1x?x2x16xf16> {
  %o = attn.attention %q, %k, %k k_scale(%s : tensor<1xf32>) : tensor<1x?x2x16xf16>, tensor<1x?x1x16xf8E4M3FN>, tensor<1x?x1x16xf8E4M3FN> -> tensor<1x?x2x16xf16>
  return %o : tensor<1x?x2x16xf16>
}
