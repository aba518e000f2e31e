// The lowering config: chosen per op and chip, or forced; recorded on the
// kernel. Shared memory is Q (block_q rows) plus two stages of K and V
// (block_k rows each), rows of D + 8 / Dv + 8 halves:
//   (block_q + 2 block_k)(D + 8)2 + 2 block_k (Dv + 8)2 bytes.

// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_86 | FileCheck %s --check-prefix=SM86
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 block-q=128 block-k=32" 2>&1 | FileCheck %s --check-prefix=FORCED
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_86 block-k=64" 2>&1 | FileCheck %s --check-prefix=TOOBIG
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 block-q=40" 2>&1 | FileCheck %s --check-prefix=BADQ
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 block-q=128 block-k=16" 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 stages=4" 2>&1 | FileCheck %s --check-prefix=STAGES

// d256 takes the measured preference for wide heads (bench/gpu_configs.py
// on an H100): 128 query rows (8 warps) x 32 keys, (128 + 64)(264)2 +
// 64(264)2 = 135168 bytes on sm_90. On sm_86 (99 KiB) that does not fit and
// the 16-key tile does: (128 + 32)(264)2 + 32(264)2 = 101376. A forced
// 64-key tile on sm_86 fits with neither 128 nor 64 query rows.
// SM90-LABEL: gpu.func @d256_kernel
// SM90-SAME: attn.block = array<i64: 256, 1, 1>, attn.grid = array<i64: 0, 1, 128, -1, 0, 2, 0, 0, 1>
// SM90-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm80, block_q = 128, block_k = 32, warps = 8>
// SM90-SAME: attn.shared_bytes = 135168
// SM86-LABEL: gpu.func @d256_kernel
// SM86-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm80, block_q = 128, block_k = 16, warps = 8>
// SM86-SAME: attn.shared_bytes = 101376
// FORCED-LABEL: gpu.func @d256_kernel
// FORCED-SAME: attn.block = array<i64: 256, 1, 1>, attn.grid = array<i64: 0, 1, 128, -1, 0, 2, 0, 0, 1>
// FORCED-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm80, block_q = 128, block_k = 32, warps = 8>
// FORCED-SAME: attn.shared_bytes = 135168
// TOOBIG: error: attn-gpu-kernels: head dims 256/256 with block_q = 128, block_k = 64 need 202752 bytes of shared memory, more than sm_86 offers (101376)
// BADQ: error: attn-gpu-kernels: block_q must be a positive multiple of 16 (16 query rows per warp), got 40
// A 16 x 192 K/V tile is 384 16-byte copies: not a multiple of 256 threads.
// SPLIT: error: attn-gpu-kernels: block_q = 128, block_k = 16: a 16 x 192 K/V tile does not split over 256 threads
func.func @d256(%q: tensor<1x64x2x256xbf16>) -> tensor<1x64x2x256xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x64x2x256xbf16>, tensor<1x64x2x256xbf16>, tensor<1x64x2x256xbf16> -> tensor<1x64x2x256xbf16>
  return %o : tensor<1x64x2x256xbf16>
}

// -----

// DeepSeek's 192/128, 128 x 32 tiles: (128 + 64)(200)2 + 64(136)2 = 94208
// bytes, within both chips.
// SM90-LABEL: gpu.func @d192_dv128_kernel
// SM90-SAME: block_q = 128, block_k = 32
// SM90-SAME: attn.shared_bytes = 94208
// SM86-LABEL: gpu.func @d192_dv128_kernel
// SM86-SAME: attn.shared_bytes = 94208
func.func @d192_dv128(%q: tensor<1x64x2x192xf16>, %v: tensor<1x64x2x128xf16>) -> tensor<1x64x2x128xf16> {
  %o = attn.attention %q, %q, %v : tensor<1x64x2x192xf16>, tensor<1x64x2x192xf16>, tensor<1x64x2x128xf16> -> tensor<1x64x2x128xf16>
  return %o : tensor<1x64x2x128xf16>
}

// -----

// A block-sparse q_block of 32 rows takes 32-row query tiles (2 warps), and
// the key tile divides kv_block = 32.
// SM90-LABEL: gpu.func @blocks32_kernel
// SM90-SAME: attn.block = array<i64: 64, 1, 1>, attn.grid = array<i64: 0, 1, 32,
// SM90-SAME: #attn.lowering_config<strategy = sm80, block_q = 32, block_k = 32, warps = 2>
// Forced 128-row tiles do not fit inside 32-row blocks:
// FORCED: error: attn-gpu-kernels: block_sparse q_block and kv_block must be multiples of the GPU kernel's tiles (block_q = 128, block_k = 32)
func.func @blocks32(%q: tensor<1x64x2x64xf16>, %n: tensor<1x2x2xi32>, %i: tensor<1x2x2x2xi32>) -> tensor<1x64x2x64xf16> {
  %o = attn.attention %q, %q, %q kv_num_blocks(%n : tensor<1x2x2xi32>) kv_indices(%i : tensor<1x2x2x2xi32>) {block_sparse = #attn.block_sparse<q_block = 32, kv_block = 32>} : tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16> -> tensor<1x64x2x64xf16>
  return %o : tensor<1x64x2x64xf16>
}

// -----

// Forced stages: K/V tiles in flight. Four stages of 64 keys at d64:
// (64 + 4 * 64)(72)2 + 4 * 64 (72)2 = 82944 bytes.
// STAGES-LABEL: gpu.func @four_stages_kernel
// STAGES-SAME: #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4, stages = 4>
// STAGES-SAME: attn.shared_bytes = 82944
func.func @four_stages(%q: tensor<1x64x2x64xf16>) -> tensor<1x64x2x64xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16> -> tensor<1x64x2x64xf16>
  return %o : tensor<1x64x2x64xf16>
}

// -----

// A varlen custom mask holds the sequences' [Sq_b, Sk_b] matrices one after
// another: a CTA finds its sequence's matrix by summing the cells of the
// sequences before it (a loop over b' < b carrying the offset).
// SM90-LABEL: gpu.func @varlen_custom_mask_kernel
// SM90: %[[BASE:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (index)
// SM90: arith.muli
func.func @varlen_custom_mask(%q: tensor<?x2x64xf16>, %cu: tensor<3xi32>, %m: tensor<?xi1>) -> tensor<?x2x64xf16> {
  %o = attn.attention %q, %q, %q cu_seqlens_q(%cu : tensor<3xi32>) cu_seqlens_k(%cu : tensor<3xi32>) custom_mask(%m : tensor<?xi1>) {masks = [#attn.custom_mask]} : tensor<?x2x64xf16>, tensor<?x2x64xf16>, tensor<?x2x64xf16> -> tensor<?x2x64xf16>
  return %o : tensor<?x2x64xf16>
}
