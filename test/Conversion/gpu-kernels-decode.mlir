// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_90 | FileCheck %s
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 strategy=sm80" | FileCheck %s --check-prefix=SM80
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 strategy=decode" 2>&1 | FileCheck %s --check-prefix=FORCED
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 strategy=wgmma" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 strategy=sm80 kv-warps=2" 2>&1 | FileCheck %s --check-prefix=KVSM80
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 strategy=decode kv-warps=4 block-k=32" 2>&1 | FileCheck %s --check-prefix=KVTILE
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 kv-warps=2" 2>&1 | FileCheck %s --check-prefix=KV2
// Forced kv warps: only the decode strategy takes them, each over whole
// 16-key steps; forced to 2, a plain decode kernel has 2 warps of 16 keys
// (and the prefill cases of this file fail, as KVSM80 says).
// KVSM80: kv_warps > 1 needs the decode strategy (got 2)
// KVTILE: kv_warps 4 needs block_k a multiple of 64, got 32
// KV2: block_q = 16, block_k = 32, warps = 2, kv_splits = 128, stages = 3, kv_warps = 2
// The sparse-softmax skip is decided per whole key tile, so one warp holds
// each row of a decode tile with sparse softmax (forcing more is an error).
// KVTILE: sparse softmax decides per whole key tile: kv_warps must be 1, got 4
// RUN: attn-opt %s --split-input-file --attn-lower-to-gpu="chip=sm_90 format=isa" | FileCheck %s --check-prefix=PTX

// The decode strategy: one query token, 32 query heads over 8 kv heads
// (G = 4). The 4 query rows of each kv head are packed into one 16-row
// tile (1 warp): row r = s * G + g is query s of head hk * G + g, so each
// K/V tile is read once per kv head. The keys are split over CTAs: grid
// (splits, Hkv, B), splits chosen at launch (-2 in attn.grid). Keys in
// tiles of 32, three stages in flight; shared memory: (16 + 3 * 32)(128 +
// 8)2 + 3 * 32 (128 + 8)2 = 56576 bytes, so 232448 / (56576 + 1024) = 4
// CTAs per SM.
// CHECK-LABEL: gpu.module @decode_kernels
// The launch order, and the split rule: at most 128 splits of at least 2
// tiles of ceil(k.shape[1] / 32) keys, 4 CTAs per SM, a workspace of
// rows(q) x (128 + 1) floats per split.
// CHECK-SAME: attn.kernels = [@decode_kernel, @decode_merge]
// CHECK-SAME: attn.split_rule = array<i64: 128, 2, 4, 1, 1, 32, 0, 129>
// Every kernel takes the workspace last.
// CHECK: gpu.func @decode_kernel({{.*}}%[[WS:.*]]: memref<?xf32> {attn.name = "workspace"}) kernel
// CHECK-SAME: attn.block = array<i64: 32, 1, 1>, attn.grid = array<i64: -2, 0, 1, -1, 0, 8, 0, 0, 1>
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = decode, block_q = 16, block_k = 32, warps = 1, kv_splits = 128, stages = 3>
// CHECK-SAME: attn.shared_bytes = 56576
// The CTA's split and the split count, from the grid:
// CHECK-DAG: gpu.block_id x
// CHECK-DAG: gpu.grid_dim x
// One split writes out itself; several write partial rows to the workspace.
// CHECK: memref.store {{.*}}, %[[WS]]
// The merge kernel, grid (Sq, Hq, B), launched only when the keys are split;
// shared memory: 128 split weights, 4 warps x 128 column sums, 4 reduction
// slots: 4 (128 + 512 + 4) = 2576 bytes.
// CHECK: gpu.func @decode_merge
// CHECK-SAME: attn.block = array<i64: 128, 1, 1>, attn.grid = array<i64: 0, 1, 1, -1, 0, 32, 0, 0, 1>
// CHECK-SAME: attn.only_when_split
// CHECK-SAME: attn.shared_bytes = 2576
// Told to use sm80, the same op gets one CTA per (64-row tile, query head).
// SM80-LABEL: gpu.func @decode_kernel
// SM80-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 32, warps = 4>
// SM80-NOT: gpu.func @decode_merge
// PTX: .entry decode_kernel(
// PTX: .entry decode_merge(
func.func @decode(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> (tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>) {
  %o, %lse = attn.attention %q, %k, %v {masks = [#attn.causal<bottom_right>]} : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
  return %o, %lse : tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
}

// -----

// Decode with document ids (keep doc_q[i] == doc_kv[j], causal): each split
// narrows only its own share of the key tiles [t0 + lo, t0 + lo + n) (lo =
// min(split * ceil(T / splits), T), n = min(ceil(T / splits), T - lo), T
// the tiles of the keys causal keeps), so the CTA's id scan reads those
// keys alone, and the schedule is not split again. The CTA is one warp: its
// combines are shuffles alone, no barrier.
// CHECK-LABEL: gpu.func @decode_document_kernel
// CHECK-NOT: barrier.sync
// CHECK: arith.ceildivui %{{.*}}, %c32
// CHECK-NEXT: %[[T:.*]] = arith.subi
// CHECK: %[[SPLIT:.*]] = gpu.block_id  x
// CHECK: %[[SPLITS:.*]] = gpu.grid_dim  x
// CHECK: %[[PER:.*]] = arith.ceildivui %[[T]], %[[SPLITS]]
// CHECK: arith.muli %[[SPLIT]], %[[PER]]
// CHECK: scf.for %{{.*}} to %{{.*}} step %c256_i32{{.*}} iter_args
// CHECK-NOT: arith.ceildivui %{{.*}}, %grid_dim_x
// CHECK-NOT: barrier.sync
// CHECK: gpu.func @decode_document_merge
func.func @decode_document(%q: tensor<?x2x16x128xbf16>, %k: tensor<?x?x4x128xbf16>, %dq: tensor<?x?xi32>, %dk: tensor<?x?xi32>) -> tensor<?x2x16x128xbf16> {
  %o = attn.attention %q, %k, %k doc_ids_q(%dq : tensor<?x?xi32>) doc_ids_kv(%dk : tensor<?x?xi32>) {masks = [#attn.document, #attn.causal<bottom_right>]} : tensor<?x2x16x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16> -> tensor<?x2x16x128xbf16>
  return %o : tensor<?x2x16x128xbf16>
}

// -----

// Four query tokens (speculative decoding) of MQA 8/1: 32 packed rows, two
// warps.
// CHECK-LABEL: gpu.func @spec_kernel
// CHECK-SAME: attn.block = array<i64: 64, 1, 1>, attn.grid = array<i64: -2, 0, 1, -1, 0, 1, 0, 0, 1>
// CHECK-SAME: strategy = decode, block_q = 32, block_k = 32, warps = 2, kv_splits = 128, stages = 3
func.func @spec(%q: tensor<?x4x8x64xf16>, %k: tensor<?x?x1x64xf16>) -> tensor<?x4x8x64xf16> {
  %o = attn.attention %q, %k, %k : tensor<?x4x8x64xf16>, tensor<?x?x1x64xf16>, tensor<?x?x1x64xf16> -> tensor<?x4x8x64xf16>
  return %o : tensor<?x4x8x64xf16>
}

// -----

// 16 tokens x 8 heads per kv head = 128 rows: more than a decode tile
// holds, so sm80 builds it (and a forced decode says why).
// CHECK-LABEL: gpu.func @wide_kernel
// CHECK-SAME: strategy = sm80
// FORCED: error: attn-gpu-kernels: the decode strategy packs at most 64 query rows per kv head (Hq / Hkv x Sq), got 128
func.func @wide(%q: tensor<?x16x8x64xf16>, %k: tensor<?x?x1x64xf16>) -> tensor<?x16x8x64xf16> {
  %o = attn.attention %q, %k, %k : tensor<?x16x8x64xf16>, tensor<?x?x1x64xf16>, tensor<?x?x1x64xf16> -> tensor<?x16x8x64xf16>
  return %o : tensor<?x16x8x64xf16>
}

// -----

// A dynamic query length is a prefill: sm80.
// CHECK-LABEL: gpu.func @prefill_kernel
// CHECK-SAME: strategy = sm80
// FORCED: error: attn-gpu-kernels: the decode strategy needs a static query length of at most 16
// UNKNOWN: error: attn-gpu-kernels: unknown strategy 'wgmma' (sm80, sm90a or decode)
func.func @prefill(%q: tensor<?x?x4x64xf16>) -> tensor<?x?x4x64xf16> {
  %o = attn.attention %q, %q, %q : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16>
  return %o : tensor<?x?x4x64xf16>
}

// -----

// A paged KV cache (pages of 16): K and V are read with the caller's page
// stride (dynamic in the parameter's layout), and the split rule counts the
// pool's pages (k dimension 0, one "tile" per page, at least 2 x 32 / 16 = 4
// pages per split). Each K/V tile of 32 keys spans 2 pages: 2 page-table
// lookups per tile.
// CHECK-LABEL: gpu.module @paged_kernels
// CHECK-SAME: attn.split_rule = array<i64: 128, 4, 4, 1, 0, 1, 0, 129>
// CHECK: gpu.func @paged_kernel({{.*}}: memref<?x16x8x128xbf16, strided<[?, 1024, 128, 1]>> {attn.align = 16 : i64, attn.name = "k"}
// CHECK-SAME: attn.name = "kv_page_indices"
// PTX: .entry paged_kernel(
func.func @paged(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x128xbf16>, %indptr: tensor<?xi32>, %indices: tensor<?xi32>, %last: tensor<?xi32>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %v kv_page_indptr(%indptr : tensor<?xi32>) kv_page_indices(%indices : tensor<?xi32>) kv_last_page_len(%last : tensor<?xi32>) {paged_kv = #attn.paged_kv<page_size = 16>} : tensor<?x1x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}

// -----

// RoPE (bottom-right) in the decode kernel: the frequency table f_d =
// 10000^(-2d/128) is one constant global of the module (f_0 = 1, f_1 =
// 10000^(-1/64) = 0.866). Once the Q tile lands, every thread rotates its
// share in shared memory (packed row r = s * 4 + g is query s, at position
// s + Sk - Sq) and the CTA waits before the fragments are loaded; each K
// tile (stage of 32 keys, key j = kt * 32 + r at position j) likewise after
// its copy and before S = Q K^T. A unit is two adjacent columns and their
// partners 64 apart; sines and cosines come from a range reduction by 2 pi
// and the SFU's sin/cos.approx. In a K tile the positions are consecutive:
// each lane keeps its column pair, takes sin/cos of its first row's angle
// and of one row's step (f_d), and turns (cos, sin) by the step from row to
// row (a loop carrying 4 values).
// CHECK-LABEL: gpu.module @rope_kernels
// CHECK: memref.global "private" constant @attn_rope_frequencies : memref<64xf32> = dense<[1.000000e+00, 0.865964353,
// CHECK: gpu.func @rope_kernel
// CHECK: nvgpu.device_async_wait
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[F:.*]] = memref.get_global @attn_rope_frequencies
// CHECK: scf.for
// CHECK: %[[S:.*]] = arith.divui %{{.*}}, %c4
// CHECK: %[[OFF:.*]] = arith.subi
// CHECK: %[[POS:.*]] = arith.addi %[[S]], %[[OFF]]
// CHECK: arith.index_cast %[[POS]]
// CHECK: llvm.intr.rint
// CHECK: llvm.call_intrinsic "llvm.nvvm.sin.approx.ftz.f"
// CHECK: llvm.call_intrinsic "llvm.nvvm.cos.approx.ftz.f"
// CHECK: vector.load %{{.*}} : memref<16x136xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK: vector.store
// CHECK: }
// CHECK-NEXT: gpu.barrier
// CHECK: nvgpu.ldmatrix
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait
// CHECK-NEXT: gpu.barrier
// CHECK: %[[ROW0:.*]] = arith.muli %{{.*}}, %c32
// CHECK: arith.addi %[[ROW0]],
// CHECK: llvm.call_intrinsic "llvm.nvvm.sin.approx.ftz.f"
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (f32, f32, f32, f32)
// CHECK-NOT: sin.approx
// CHECK: vector.load %{{.*}} : memref<3x32x136xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NOT: sin.approx
// CHECK: vector.store
// CHECK: scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK: nvgpu.ldmatrix
// SM80: gpu.func @rope_kernel
// PTX: .global .align 4 .b8 attn_rope_frequencies[256]
// PTX: sin.approx.ftz.f32
func.func @rope(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %v {rope = #attn.rope<theta = 1.0e4, scale = 1.0, align = bottom_right>} : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}

// -----

// An fp8 (e4m3) KV cache with its scales: the K/V copies move 16 fp8
// values per cp.async into 2 byte stages of 128-key tiles with rows of
// 128 + 16 bytes (the padding spreads a fragment load's 8 rows over 8 bank
// pairs). The MMAs' B fragments come straight from the bytes: K's two
// adjacent values of a register as one 16-bit load, V's (two keys, one
// column) as two byte loads, each pair through cvt.rn.f16x2.e4m3x2 (then
// f32 -> bf16, exact). k_scale multiplies S, v_scale the output rows. No
// f16 K/V tile: shared memory is Q (16 x 136 x 2) + 2 x 2 x 128 x 144 =
// 78080 bytes. Four kv warps (128 threads) hold the same 16 rows, each over
// 32 keys of every tile (its rows of the stage from 32 x kv warp on); after
// the loop the last copies are waited for, kv warps 1..3 store their
// (m, l, O) — 4 + 4 x 128 / 8 = 68 floats per lane — slot-major into the
// idle tiles, and kv warp 0 merges them (M = max m, each scaled by
// 2^(m - M)) and alone writes the rows.
// CHECK-LABEL: gpu.func @fp8_kernel
// CHECK-SAME: attn.name = "k_scale"
// CHECK-SAME: attn.block = array<i64: 128, 1, 1>
// CHECK-SAME: block_k = 128, warps = 4, kv_splits = 128, kv_warps = 4
// CHECK-SAME: attn.shared_bytes = 78080
// CHECK: %[[WARP:.*]] = arith.divui %thread_id_x, %c32
// CHECK: %[[KVW:.*]] = arith.divui %[[WARP]], %c1
// CHECK: %[[KEY0:.*]] = arith.muli %[[KVW]], %c32
// CHECK: %[[KB:.*]] = memref.view {{.*}} to memref<2x128x144xf8E4M3FN, #gpu.address_space<workgroup>>
// CHECK: %[[KH:.*]] = memref.view {{.*}} to memref<2x128x72xi16, #gpu.address_space<workgroup>>
// CHECK: %[[VB:.*]] = memref.view {{.*}} to memref<2x128x144xi8, #gpu.address_space<workgroup>>
// CHECK: %[[KS:.*]] = memref.load %arg3[%{{.*}}] : memref<1xf32>
// CHECK: %[[VS:.*]] = memref.load %arg4[%{{.*}}] : memref<1xf32>
// CHECK: nvgpu.device_async_copy %arg1[{{.*}}], %[[KB]][{{.*}}], 16, %{{.*}} {bypassL1} : memref<?x?x8x128xf8E4M3FN> to memref<2x128x144xf8E4M3FN
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: %[[KSV:.*]] = vector.broadcast %[[KS]] : f32 to vector<2x2xf32>
// CHECK: memref.load %[[KH]][{{.*}}] : memref<2x128x72xi16, #gpu.address_space<workgroup>>
// CHECK-NEXT: llvm.inline_asm asm_dialect = att "cvt.rn.f16x2.e4m3x2 $0, $1;", "=r,h" %{{.*}} : (i16) -> i32
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK: nvvm.mma.sync
// CHECK: arith.mulf %{{.*}}, %[[KSV]] : vector<2x2xf32>
// CHECK: memref.load %[[VB]][{{.*}}] : memref<2x128x144xi8, #gpu.address_space<workgroup>>
// CHECK: arith.shli
// CHECK: llvm.inline_asm asm_dialect = att "cvt.rn.f16x2.e4m3x2 $0, $1;"
// CHECK: nvvm.mma.sync
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK: %[[SCR:.*]] = memref.view {{.*}} to memref<3x1x68x32xf32, #gpu.address_space<workgroup>>
// CHECK: arith.cmpi ne, %[[KVW]], %c0
// CHECK: memref.store %{{.*}}, %[[SCR]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SCR]]
// CHECK: arith.maximumf
// CHECK: arith.cmpi eq, %[[KVW]], %c0
// CHECK: arith.mulf %{{.*}}, %[[VS]] : f32
// PTX: cvt.rn.f16x2.e4m3x2
func.func @fp8(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xf8E4M3FN>, %v: tensor<?x?x8x128xf8E4M3FN>, %ks: tensor<1xf32>, %vs: tensor<1xf32>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %v k_scale(%ks : tensor<1xf32>) v_scale(%vs : tensor<1xf32>) : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xf8E4M3FN>, tensor<?x?x8x128xf8E4M3FN> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}

// -----

// An fp8 cache with rope: the K tile is rewritten after it lands, so the
// CTA first converts each landed byte stage (16-byte units: 4 words, two
// cvt.rn.f16x2.e4m3x2 each) into one bf16 K and V tile, waits, rotates K,
// waits, and the MMAs read the tiles with ldmatrix.
// CHECK-LABEL: gpu.func @fp8_rope_kernel
// CHECK: %[[KT:.*]] = memref.view {{.*}} to memref<1x32x136xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[KW:.*]] = memref.view {{.*}} to memref<3x32x36xi32, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait
// CHECK-NEXT: gpu.barrier
// CHECK: vector.load %[[KW]][{{.*}}] : memref<3x32x36xi32, #gpu.address_space<workgroup>>, vector<4xi32>
// CHECK: llvm.inline_asm asm_dialect = att "cvt.rn.f16x2.e4m3x2 $0, $1;"
// CHECK: vector.store %{{.*}}, %[[KT]][%c0{{.*}}] : memref<1x32x136xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// CHECK: gpu.barrier
// CHECK: llvm.call_intrinsic "llvm.nvvm.sin.approx.ftz.f"
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix %[[KT]]
func.func @fp8_rope(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xf8E4M3FN>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %k {rope = #attn.rope<theta = 1.0e4, scale = 1.0, align = bottom_right>} : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xf8E4M3FN>, tensor<?x?x8x128xf8E4M3FN> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}

// -----

// Decode with sparse softmax (kv_block 32, the key tile): one warp per row.
// CHECK-LABEL: gpu.func @sparse_decode_kernel
// CHECK-SAME: block_k = 32, warps = 1, kv_splits = 128, stages = 3>
func.func @sparse_decode(%q: tensor<?x1x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> tensor<?x1x32x128xbf16> {
  %o = attn.attention %q, %k, %v {sparse_softmax = #attn.sparse_softmax<threshold = 0.01, kv_block = 32>} : tensor<?x1x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x1x32x128xbf16>
  return %o : tensor<?x1x32x128xbf16>
}
