// The sm90a strategy (Hopper, chip sm_90a): the tiled kernel with both GEMMs
// on warpgroup MMAs (wgmma.mma_async m64nNk16) from 128-byte-swizzled
// shared memory. Shared memory is Q (block_q rows) plus two stages of K and
// V (block_k rows each), unpadded, plus 1024 bytes to align the base:
//   (block_q D + 2 block_k (D + Dv)) 2 + 1024 bytes.

// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_90a | FileCheck %s
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 strategy=sm90a" 2>&1 | FileCheck %s --check-prefix=NOWGMMA
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a strategy=sm90a block-q=32" 2>&1 | FileCheck %s --check-prefix=BADQ

// d128: 128 query rows (two warpgroups) x 128 keys:
// (128 x 128 + 2 x 128 x 256) x 2 + 1024 = 164864 bytes. S = Q K^T is
// m64n128k16 (N = the 128 keys) over 8 k-steps of the head dim, A and B from
// shared memory (K-major, imm-trans-b 0); O += P V is m64n128k16 (N = Dv)
// over 8 k-steps of 16 keys, P from registers and V N-major (imm-trans-b 1).
// cp.async writes reach wgmma (the async proxy) through fence.proxy.async.
// Each step issues S_t and P_{t-1} V_{t-1} (no wait), waits for S_t alone
// (wait_group 1), runs the softmax while P V runs, then waits for it
// (wait_group 0); step 0's P V multiplies P = 0 by a zero-filled V stage.
// The last P V follows the loop.
// On sm_90 (no wgmma) the same op is an sm80 kernel.
// CHECK-LABEL: gpu.func @d128_kernel
// CHECK-SAME: attn.block = array<i64: 256, 1, 1>
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8>
// CHECK-SAME: attn.shared_bytes = 164864
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK: scf.for
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects {{.*}}wgmma.fence.sync.aligned;{{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, zd, 1, 1, 0, 0;{{.*}}wgmma.commit_group.sync.aligned;\0A}"
// CHECK: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, {$64, $65, $66, $67}, {{.*}}, od, 1, 1, 1;{{.*}}wgmma.commit_group.sync.aligned;\0A}"
// CHECK: llvm.inline_asm has_side_effects {{.*}}"wgmma.wait_group.sync.aligned 1;"
// CHECK: llvm.inline_asm has_side_effects {{.*}}"wgmma.wait_group.sync.aligned 0;"
// CHECK: scf.yield
// CHECK: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects {{.*}}od, 1, 1, 1;{{.*}}wgmma.wait_group.sync.aligned 0;
// SM90-LABEL: gpu.func @d128_kernel
// SM90-SAME: strategy = sm80
// NOWGMMA: error: attn-gpu-kernels: the sm90a strategy needs wgmma (chip sm_90a), not sm_90
// BADQ: error: attn-gpu-kernels: the sm90a strategy's block_q must be 64 or 128 (one or two warpgroups of 64 rows), got 32
func.func @d128(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x4x128xbf16>) -> tensor<?x?x4x128xbf16> {
  %o = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>]} : tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16> -> tensor<?x?x4x128xbf16>
  return %o : tensor<?x?x4x128xbf16>
}

// -----

// d256: 64-key tiles, (128 x 256 + 2 x 64 x 512) x 2 + 1024 = 197632 bytes;
// P V is m64n256k16 (N = Dv = 256).
// CHECK-LABEL: gpu.func @d256_kernel
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 64, warps = 8>
// CHECK-SAME: attn.shared_bytes = 197632
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
func.func @d256(%q: tensor<?x?x2x256xf16>, %k: tensor<?x?x2x256xf16>, %v: tensor<?x?x2x256xf16>) -> tensor<?x?x2x256xf16> {
  %o = attn.attention %q, %k, %v : tensor<?x?x2x256xf16>, tensor<?x?x2x256xf16>, tensor<?x?x2x256xf16> -> tensor<?x?x2x256xf16>
  return %o : tensor<?x?x2x256xf16>
}

// -----

// A block-sparse q_block of 64 caps the query tile at one warpgroup.
// CHECK-LABEL: gpu.func @sparse64_kernel
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 64, block_k = 64, warps = 4>
func.func @sparse64(%q: tensor<1x256x2x64xf16>, %n: tensor<1x2x4xi32>, %i: tensor<1x2x4x4xi32>) -> tensor<1x256x2x64xf16> {
  %o = attn.attention %q, %q, %q kv_num_blocks(%n : tensor<1x2x4xi32>) kv_indices(%i : tensor<1x2x4x4xi32>) {block_sparse = #attn.block_sparse<q_block = 64, kv_block = 64>} : tensor<1x256x2x64xf16>, tensor<1x256x2x64xf16>, tensor<1x256x2x64xf16> -> tensor<1x256x2x64xf16>
  return %o : tensor<1x256x2x64xf16>
}

// -----

// Head dim 96 is not a multiple of the 128-byte swizzle's 64 columns: its
// tiles are three 32-column panels with the 64-byte swizzle: each
// descriptor's fixed part is swizzle mode 2 (bits 62-63), stride byte offset
// 8 rows x 64 bytes = 512 (field 32 at bit 32) and leading byte offset 16
// (field 1 at bit 16): 0x8000002000010000.
// (128 x 96 + 2 x 128 x 192) x 2 + 1024 = 123904 bytes.
// CHECK-LABEL: gpu.func @d96_kernel
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8>
// CHECK-SAME: attn.shared_bytes = 123904
// CHECK: arith.constant -9223371899415756800 : i64
func.func @d96(%q: tensor<?x?x4x96xbf16>) -> tensor<?x?x4x96xbf16> {
  %o = attn.attention %q, %q, %q : tensor<?x?x4x96xbf16>, tensor<?x?x4x96xbf16>, tensor<?x?x4x96xbf16> -> tensor<?x?x4x96xbf16>
  return %o : tensor<?x?x4x96xbf16>
}
