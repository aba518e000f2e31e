// The sm90a strategy (Hopper, chip sm_90a): the tiled kernel with both GEMMs
// on warpgroup MMAs (wgmma.mma_async m64nNk16) from 128-byte-swizzled
// shared memory. Shared memory is Q (block_q rows) plus S stages of K and
// V (block_k rows each; two, or three with a producer warpgroup where they
// fit), unpadded, plus 1024 bytes to align the base, plus 8 bytes per
// mbarrier (2 S with a producer warpgroup):
//   (block_q D + S block_k (D + Dv)) 2 + 8 x mbarriers + 1024 bytes.

// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_90a | FileCheck %s
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a tma=0" | FileCheck %s --check-prefix=CPASYNC
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a strategy=sm90a tma=1" 2>&1 | FileCheck %s --check-prefix=NOTMA
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a producer-warps=0" | FileCheck %s --check-prefix=NOPRODUCER
// RUN: attn-opt %s --split-input-file --attn-gpu-kernels=chip=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 strategy=sm90a" 2>&1 | FileCheck %s --check-prefix=NOWGMMA
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a strategy=sm90a block-q=32" 2>&1 | FileCheck %s --check-prefix=BADQ
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a strategy=sm90a" 2>&1 | FileCheck %s --check-prefix=NOFP8
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a strategy=sm90a producer-warps=4 tma=0" 2>&1 | FileCheck %s --check-prefix=ROPEPRODUCER
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90a strategy=sm90a producer-warps=2" 2>&1 | FileCheck %s --check-prefix=BADPRODUCER
// RUN: not attn-opt %s --split-input-file --attn-gpu-kernels="chip=sm_90 producer-warps=4" 2>&1 | FileCheck %s --check-prefix=SM80PRODUCER

// d128: 128 query rows (two consumer warpgroups) x 128 keys, and a producer
// warpgroup (384 threads) with three K/V stages (it publishes a step
// without waiting for its copies, so a third stage keeps two in flight):
// (128 x 128 + 3 x 128 x 256) x 2 + 6 mbarriers x 8 + 1024 = 230448 bytes.
// S = Q K^T is m64n128k16 (N = the 128 keys) over 8 k-steps of the head
// dim, A and B from shared memory (K-major, imm-trans-b 0); O += P V is
// m64n128k16 (N = Dv) over 8 k-steps of 16 keys, P from registers and V
// N-major (imm-trans-b 1).
// Thread 0 initialises full[0..2] (one arrival: the TMA thread's) and
// empty[0..2] (8 consumer warps), a CTA barrier publishes them; then the
// roles split on the thread index (>= 256: producer). The producer gives
// registers away (setmaxnreg 24) and its first thread copies with TMA,
// through tensor maps of q, k and v the runtime encodes (arguments after
// the others, 128-byte grid_constant parameters at lowered positions 44-46:
// q, k, v and out take 11 words each), each copy one 64-column panel
// (128 bytes, 128-byte swizzle) of 128 rows of one head: step 0 expects
// Q + K_0 + the zero V slot = 3 x 128 x 128 x 2 = 98304 bytes on full[0]
// and issues 6 copies (the V slot from row -128: outside the tensor,
// zero-filled); each step j after the consumers released stage j mod 3
// expects 65536 bytes (K_j, V_{j-1}) and issues 4. The consumers take
// registers (setmaxnreg 240), wait on full (TMA writes through the async
// proxy, as wgmma reads: no fence), issue
// S_t and P_{t-1} V_{t-1}, wait for S_t alone (wait_group 1), run the
// softmax while P V runs, wait for it (wait_group 0) and release the stage
// (one arrival per warp); the last P V follows the loop.
// Lazy rescaling: a row keeps its reference maximum m while the tile's
// maximum exceeds it by at most 8 (log2 domain: weights up to 2^8), so
// c = 2^(m - m') = 1, and O *= c runs only where a lane of the warp has
// c != 1 (vote.sync any). Query tiles run in reverse launch order
// (gridDim.x - 1 - blockIdx.x: under a causal mask the longest first).
// The epilogue stages O in the Q tile (each warp its own rows, 4-byte
// writes into the swizzled layout), then after a warp barrier copies it
// out 16 bytes per lane (out is therefore 16-byte aligned in the ABI).
// CHECK-LABEL: gpu.func @d128_kernel
// CHECK-SAME: {attn.align = 16 : i64, attn.name = "out"}
// CHECK-SAME: %arg4: !llvm.ptr {attn.name = "q_map", attn.tensor_map = #attn.tensor_map<source = 0, box = [1, 128, 1, 64], swizzle = 128>, llvm.align = 64 : i64}
// CHECK-SAME: %arg5: !llvm.ptr {attn.name = "k_map", attn.tensor_map = #attn.tensor_map<source = 1, box = [1, 128, 1, 64], swizzle = 128>, llvm.align = 64 : i64}
// CHECK-SAME: %arg6: !llvm.ptr {attn.name = "v_map", attn.tensor_map = #attn.tensor_map<source = 2, box = [1, 128, 1, 64], swizzle = 128>, llvm.align = 64 : i64}
// CHECK-SAME: attn.block = array<i64: 384, 1, 1>
// CHECK-SAME: attn.grid_constants = array<i64: 44, 45, 46>
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, stages = 3, producer_warps = 4, tma = true>
// CHECK-SAME: attn.shared_bytes = 230448
// CHECK-SAME: nvvm.minctasm = 1
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.*}}, %c1_i32
// CHECK: gpu.barrier
// CHECK: %[[PRODUCER:.*]] = arith.cmpi uge, %{{.*}}, %c256
// CHECK: scf.if %[[PRODUCER]]
// CHECK-NEXT: nvvm.setmaxregister  decrease 24
// Launch order: CTA L = x + X (y + H z) of the grid (X tiles, H, B); heads
// in groups of G = min(max(8 MiB / (S_k * 512 bytes of K and V), 1), H B)
// (d128 bf16), inside a group the tile slowest: tile X-1 - (L mod G X) / Gs.
// CHECK: %[[L:.*]] = arith.addi %block_id_x, %{{.*}} : index
// CHECK: %[[SK:.*]] = memref.dim %arg1, %c1
// CHECK: %[[KV:.*]] = arith.muli %[[SK]], %c512
// CHECK: arith.divui %c8388608
// CHECK: %[[SPAN:.*]] = arith.muli %[[G:.*]], %grid_dim_x
// CHECK: %[[GROUP:.*]] = arith.divui %[[L]], %[[SPAN]]
// CHECK: %[[IN:.*]] = arith.remui %[[L]]
// CHECK: %[[FROMLAST:.*]] = arith.divui %[[IN]], %[[GS:.*]] : index
// CHECK: %[[LAST:.*]] = arith.subi %grid_dim_x, %c1
// CHECK: arith.subi %[[LAST]], %[[FROMLAST]]
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %{{.*}}, %c256
// CHECK: scf.if %[[ONE]]
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[FULL0:.*]], %c98304_i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg4, %[[FULL0]], box[
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg5, %[[FULL0]], box[
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg6, %[[FULL0]], box[
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[FULL:.*]], %c65536_i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg5, %[[FULL]], box[
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg6, %[[FULL]], box[
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: } else {
// CHECK-NEXT: nvvm.setmaxregister  increase 240
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK-NOT: nvvm.fence.proxy
// CHECK-NOT: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects {{.*}}wgmma.fence.sync.aligned;{{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, zd, 1, 1, 0, 0;{{.*}}wgmma.commit_group.sync.aligned;\0A}"
// CHECK: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, {$64, $65, $66, $67}, {{.*}}, od, 1, 1, 1;{{.*}}wgmma.commit_group.sync.aligned;\0A}"
// CHECK: llvm.inline_asm has_side_effects {{.*}}"wgmma.wait_group.sync.aligned 1;"
// CHECK: arith.cmpf ole, %{{.*}}, %{{.*}} : f32
// CHECK: llvm.inline_asm has_side_effects {{.*}}"wgmma.wait_group.sync.aligned 0;"
// CHECK: nvvm.mbarrier.arrive
// CHECK: %[[ANY:.*]] = nvvm.vote.sync  any %{{.*}}, %{{.*}} -> i1
// CHECK-NEXT: scf.if %[[ANY]]
// CHECK: scf.yield
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: llvm.inline_asm has_side_effects {{.*}}od, 1, 1, 1;{{.*}}wgmma.wait_group.sync.aligned 0;
// CHECK: vector.store {{.*}} {alignment = 4 : i64} : memref<16384xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: nvvm.bar.warp.sync
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<16384xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<?x?x4x128xbf16>, vector<8xbf16>
// Without TMA (forced: tma=0), the producer's 128 threads copy with
// cp.async (each thread's copies cover whole rows, so their addresses are
// a few adds) and publish each step with cp.async.mbarrier.arrive.noinc on
// full (128 arrivals, each counted once the thread's copies landed),
// waiting for its copies only before retiring; each consumer thread
// fences the async proxy after its wait (cp.async wrote through the
// generic proxy, wgmma reads through the async one).
// CPASYNC-LABEL: gpu.func @d128_kernel
// CPASYNC-NOT: attn.tensor_map
// CPASYNC-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, stages = 3, producer_warps = 4>
// CPASYNC-COUNT-3: nvvm.mbarrier.init %{{.*}}, %c128_i32
// CPASYNC: nvvm.setmaxregister  decrease 40
// CPASYNC: nvgpu.device_async_copy
// CPASYNC-NOT: nvgpu.device_async_wait
// CPASYNC: nvvm.cp.async.mbarrier.arrive %{{.*}} {noinc = true}
// CPASYNC: scf.for
// CPASYNC: nvvm.mbarrier.try_wait.parity
// CPASYNC: nvgpu.device_async_copy
// CPASYNC-NOT: nvgpu.device_async_wait
// CPASYNC: nvvm.cp.async.mbarrier.arrive %{{.*}} {noinc = true}
// CPASYNC: }
// CPASYNC-NEXT: nvgpu.device_async_create_group
// CPASYNC-NEXT: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CPASYNC: } else {
// CPASYNC-NEXT: nvvm.setmaxregister  increase 232
// CPASYNC: scf.for
// CPASYNC: nvvm.mbarrier.try_wait.parity
// CPASYNC-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// Without the producer (forced), every thread copies: cp.async writes
// reach wgmma through fence.proxy.async and a CTA barrier per step; step
// 0's P V multiplies P = 0 by a zero-filled V stage.
// NOPRODUCER-LABEL: gpu.func @d128_kernel
// NOPRODUCER-SAME: attn.block = array<i64: 256, 1, 1>
// NOPRODUCER-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8>
// NOPRODUCER-SAME: attn.shared_bytes = 164864
// NOPRODUCER: scf.for
// NOPRODUCER: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// NOPRODUCER-NEXT: gpu.barrier
// NOPRODUCER: "wgmma.wait_group.sync.aligned 1;"
// NOPRODUCER: "wgmma.wait_group.sync.aligned 0;"
// NOPRODUCER: scf.yield
// NOPRODUCER: gpu.barrier
// NOPRODUCER: od, 1, 1, 1;{{.*}}wgmma.wait_group.sync.aligned 0;
// On sm_90 (no wgmma) the same op is an sm80 kernel.
// SM90-LABEL: gpu.func @d128_kernel
// SM90-SAME: strategy = sm80
// NOWGMMA: error: attn-gpu-kernels: the sm90a strategy needs wgmma (chip sm_90a), not sm_90
// BADQ: error: attn-gpu-kernels: the sm90a strategy's block_q must be 64 or 128 (one or two warpgroups of 64 rows), or 192 with a producer warpgroup at head dims up to 64, got 32
// BADPRODUCER: error: attn-gpu-kernels: the sm90a strategy's producer warps must be 0 or 4 (one warpgroup), got 2
// SM80PRODUCER: error: attn-gpu-kernels: {{.*}}a producer warpgroup (producer_warps) needs the sm90a strategy
func.func @d128(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x4x128xbf16>) -> tensor<?x?x4x128xbf16> {
  %o = attn.attention %q, %k, %v {masks = [#attn.causal<top_left>]} : tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16> -> tensor<?x?x4x128xbf16>
  return %o : tensor<?x?x4x128xbf16>
}

// -----

// d256: 64-key tiles, (128 x 256 + 2 x 64 x 512) x 2 + 32 + 1024 = 197664
// bytes; P V is m64n256k16 (N = Dv = 256).
// CHECK-LABEL: gpu.func @d256_kernel
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 64, warps = 8, producer_warps = 4, tma = true>
// CHECK-SAME: attn.shared_bytes = 197664
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
func.func @d256(%q: tensor<?x?x2x256xf16>, %k: tensor<?x?x2x256xf16>, %v: tensor<?x?x2x256xf16>) -> tensor<?x?x2x256xf16> {
  %o = attn.attention %q, %k, %v : tensor<?x?x2x256xf16>, tensor<?x?x2x256xf16>, tensor<?x?x2x256xf16> -> tensor<?x?x2x256xf16>
  return %o : tensor<?x?x2x256xf16>
}

// -----

// d64: three consumer warpgroups (192 query rows) over 64-key tiles with a
// producer and four stages: (192 x 64 + 4 x 64 x 128) x 2 + 8 mbarriers x 8
// + 1024 = 91200 bytes; 384 consumer threads take 160 registers each and
// the producer keeps 24 (128 x 24 + 384 x 160 = 64512). Full barriers
// count the TMA thread's arrival, empty ones the 12 consumer warps. The Q
// tile's tensor map copies 192 rows (a box holds up to 256).
// CHECK-LABEL: gpu.func @d64_kernel
// CHECK-SAME: %arg2: !llvm.ptr {attn.name = "v_map", attn.tensor_map = #attn.tensor_map<source = 0, box = [1, 192, 1, 64], swizzle = 128>
// CHECK-SAME: attn.block = array<i64: 512, 1, 1>
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 192, block_k = 64, warps = 12, stages = 4, producer_warps = 4, tma = true>
// CHECK-SAME: attn.shared_bytes = 91200
// CHECK-COUNT-4: nvvm.mbarrier.init %{{.*}}, %c1_i32
// CHECK: %[[PRODUCER:.*]] = arith.cmpi uge, %{{.*}}, %c384
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvvm.setmaxregister  increase 160
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
func.func @d64(%q: tensor<1x256x2x64xf16>) -> tensor<1x256x2x64xf16> {
  %o = attn.attention %q, %q, %q {masks = [#attn.causal<top_left>]} : tensor<1x256x2x64xf16>, tensor<1x256x2x64xf16>, tensor<1x256x2x64xf16> -> tensor<1x256x2x64xf16>
  return %o : tensor<1x256x2x64xf16>
}

// -----

// A block-sparse q_block of 64 caps the query tile at one warpgroup. At
// d64 with 64-key tiles two CTAs share an SM: no producer warpgroup, and
// registers capped for two CTAs.
// CHECK-LABEL: gpu.func @sparse64_kernel
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 64, block_k = 64, warps = 4>
// CHECK-SAME: nvvm.minctasm = 2
// Without a producer there is no thread to issue TMA copies.
// NOTMA: error: attn-gpu-kernels: the sm90a strategy cannot copy with TMA: TMA copies need a producer warpgroup
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
// Three stages: (128 x 96 + 3 x 128 x 192) x 2 + 48 + 1024 = 173104 bytes.
// The TMA thread needs few registers: the producer keeps 24, the consumers
// get 240. (With cp.async, rows of 12 chunks do not split evenly over the
// 128 producer threads: the producer kept 72, its copies divided per chunk.)
// CHECK-LABEL: gpu.func @d96_kernel
// CHECK-SAME: attn.lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, stages = 3, producer_warps = 4, tma = true>
// CHECK-SAME: attn.shared_bytes = 173104
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: arith.constant -9223371899415756800 : i64
func.func @d96(%q: tensor<?x?x4x96xbf16>) -> tensor<?x?x4x96xbf16> {
  %o = attn.attention %q, %q, %q : tensor<?x?x4x96xbf16>, tensor<?x?x4x96xbf16>, tensor<?x?x4x96xbf16> -> tensor<?x?x4x96xbf16>
  return %o : tensor<?x?x4x96xbf16>
}

// -----

// RoPE rotates the Q and K tiles in shared memory between copy and MMA.
// With TMA copies the producer warpgroup's 128 threads do it (72 registers
// each, the consumers 216): the TMA thread's copies complete on a third
// barrier per stage, landed (count 1); the producer's threads wait for it,
// rotate Q (step 0) and K_j, fence the generic-proxy writes for wgmma and
// arrive on full (count 128); the TMA thread issues step j + 2 once step j
// is published. The consumers' loop is the one without rope.
// CHECK-LABEL: gpu.func @rope_kernel
// CHECK-SAME: lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8, stages = 3, producer_warps = 4, tma = true>
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32
// CHECK: nvvm.mbarrier.init %{{.*}}, %c128_i32
// CHECK: nvvm.setmaxregister  decrease 72
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c98304_i32
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c65536_i32
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: llvm.call_intrinsic "llvm.nvvm.sin.approx.ftz.f"
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: llvm.call_intrinsic "llvm.nvvm.sin.approx.ftz.f"
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>
// CHECK-NOT: scf.if
// CHECK: nvvm.mbarrier.arrive %
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c65536_i32
// CHECK: nvvm.setmaxregister  increase 216
// Without a producer (forced), every thread rotates a share: Q once it
// landed (its group waited for with the steps' groups in flight); each
// step's K stage after its wait, then the generic-proxy writes are fenced
// for wgmma and the CTA waits.
// NOPRODUCER-LABEL: gpu.func @rope_kernel
// NOPRODUCER-SAME: lowering_config = #attn.lowering_config<strategy = sm90a, block_q = 128, block_k = 128, warps = 8>
// NOPRODUCER: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// NOPRODUCER-NEXT: gpu.barrier
// NOPRODUCER: llvm.call_intrinsic "llvm.nvvm.sin.approx.ftz.f"
// NOPRODUCER: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>
// NOPRODUCER-NEXT: gpu.barrier
// NOPRODUCER: scf.for
// NOPRODUCER: nvgpu.device_async_wait
// NOPRODUCER-NEXT: gpu.barrier
// NOPRODUCER: llvm.call_intrinsic "llvm.nvvm.sin.approx.ftz.f"
// NOPRODUCER: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>
// NOPRODUCER-NEXT: gpu.barrier
// NOPRODUCER: wgmma.mma_async
// ROPEPRODUCER: error: attn-gpu-kernels: the sm90a strategy rotates q/k (#attn.rope) with a producer warpgroup only when it copies with TMA (dense q/k/v, tma not 0)
func.func @rope(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x2x128xbf16>) -> tensor<1x?x8x128xbf16> {
  %o = attn.attention %q, %k, %k {rope = #attn.rope<theta = 1.0e4, scale = 1.0, align = bottom_right>} : tensor<1x?x8x128xbf16>, tensor<1x?x2x128xbf16>, tensor<1x?x2x128xbf16> -> tensor<1x?x8x128xbf16>
  return %o : tensor<1x?x8x128xbf16>
}

// -----

// An fp8 KV cache is converted between copy and MMA, and wgmma reads its
// operands straight from shared memory: the sm90a strategy declines it.
// CHECK-LABEL: gpu.func @fp8_kernel
// CHECK-SAME: strategy = sm80
// NOFP8: error: attn-gpu-kernels: the sm90a strategy does not read f8E4M3FN k/v yet
func.func @fp8(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x2x128xf8E4M3FN>) -> tensor<1x?x8x128xbf16> {
  %o = attn.attention %q, %k, %k : tensor<1x?x8x128xbf16>, tensor<1x?x2x128xf8E4M3FN>, tensor<1x?x2x128xf8E4M3FN> -> tensor<1x?x8x128xbf16>
  return %o : tensor<1x?x8x128xbf16>
}

// -----

// A per-batch document mask as a mask_mod that reads its captured [B, S] ids
// at kv_idx: keep(i, j) = docs[b, i] == docs[b, j]. A partial tile's keep
// flags (this mask, causal, and j < Sk) are formed between issuing
// S = Q K^T (and the previous P V) and waiting for S, so the id reads run
// while the tensor cores work: packed as bit c = 2 n + y of word c / 32 per
// fragment row (fragment n, column y; 2 x 32 pairs per thread at block_k
// 128), and the softmax after the wait tests each bit (c = 29: 2^29) and
// reads no id.
// CHECK-LABEL: gpu.func @docs_per_batch_kernel
// CHECK-SAME: %[[DOCS:[a-z0-9]+]]: memref<?x?xi32> {attn.name = "capture3"}
// CHECK: wgmma.commit_group
// CHECK: wgmma.commit_group
// CHECK: memref.load %[[DOCS]]
// CHECK: arith.ori
// CHECK: wgmma.wait_group.sync.aligned 1;
// CHECK-NOT: memref.load %[[DOCS]]
// CHECK: arith.andi %{{.*}}, %c536870912_i32 : i32
// CHECK-NOT: memref.load %[[DOCS]]
// CHECK: gpu.return
func.func @docs_per_batch(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>, %docs: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  %out = attn.attention %q, %k, %v {layout = #attn<layout bhsd>, masks = [#attn.causal<top_left>, #attn.mask_mod]} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %di = tensor.extract %docs[%b, %i] : tensor<?x?xi32>
    %dj = tensor.extract %docs[%b, %j] : tensor<?x?xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    attn.yield %same : i1
  }
  return %out : tensor<?x8x?x128xbf16>
}

// -----

// A per-head window as a mask_mod: keep(i, j) = i - j < window[h] reads its
// capture once per head, not per key, so the mask stays in the partial
// tile's softmax after the S wait (packing bits costs more than it hides).
// CHECK-LABEL: gpu.func @window_per_head_kernel
// CHECK-SAME: %[[WIN:[a-z0-9]+]]: memref<?xi32> {attn.name = "capture3"}
// CHECK: wgmma.wait_group.sync.aligned 1;
// CHECK: memref.load %[[WIN]]
func.func @window_per_head(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>, %win: tensor<?xi32>) -> tensor<?x8x?x128xbf16> {
  %out = attn.attention %q, %k, %v {layout = #attn<layout bhsd>, masks = [#attn.causal<top_left>, #attn.mask_mod]} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %win[%h] : tensor<?xi32>
    %wi = arith.index_cast %w : i32 to index
    %d = arith.subi %i, %j : index
    %in = arith.cmpi slt, %d, %wi : index
    attn.yield %in : i1
  }
  return %out : tensor<?x8x?x128xbf16>
}

// -----

// Varlen: TMA zero-fills outside the tensor, not past a sequence, whose
// last key tile runs into the next sequence's rows (cp.async zero-fills
// them): the producer copies with cp.async, and forcing TMA is an error.
// CHECK-LABEL: gpu.func @varlen_kernel
// CHECK-NOT: attn.tensor_map
// CHECK-SAME: stages = 3, producer_warps = 4>
// NOTMA: error: attn-gpu-kernels: the sm90a strategy cannot copy with TMA: a varlen tensor's tiles run into the next sequence (cp.async zero-fills them)
func.func @varlen(%q: tensor<?x4x128xbf16>, %cu: tensor<3xi32>) -> tensor<?x4x128xbf16> {
  %o = attn.attention %q, %q, %q cu_seqlens_q(%cu : tensor<3xi32>) cu_seqlens_k(%cu : tensor<3xi32>) {masks = [#attn.causal<top_left>]} : tensor<?x4x128xbf16>, tensor<?x4x128xbf16>, tensor<?x4x128xbf16> -> tensor<?x4x128xbf16>
  return %o : tensor<?x4x128xbf16>
}

// -----

// A document conjunct keeps rows short, so the strategy takes 64 x 64 tiles,
// two stages and a TMA producer (83136 bytes, 256 threads) that fit two
// CTAs per SM: minctasm 2, and setmaxnreg budgets sharing half the
// register file, 128 x 24 + 128 x 232 = 32768. The producer (after giving
// up registers) and the consumers (after taking them) each set their tile
// up, so both scan the ids, together: thread t of the 256 reads keys t,
// t + 256, ...; each combine stages the 8 warps' results in 5 x 8 i32
// slots after the tiles (82976 bytes) and meets at `barrier.sync 1, 256`,
// reached from the two roles' code (unaligned): rows' id min / max, then
// the keys' first / last / count.
// CHECK-LABEL: gpu.func @document_kernel
// CHECK-SAME: attn.block = array<i64: 256, 1, 1>
// CHECK-SAME: block_q = 64, block_k = 64, warps = 4, producer_warps = 4, tma = true
// CHECK-SAME: attn.shared_bytes = 83136
// CHECK-SAME: nvvm.minctasm = 2
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: memref.view %{{.*}}[%c82976][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<5x8xi32, #gpu.address_space<workgroup>>
// CHECK: scf.for %{{.*}} step %c256 iter_args
// CHECK: "barrier.sync 1, 256;"
// CHECK: step %c2048_i32
// CHECK: "barrier.sync 1, 256;"
// CHECK: nvvm.setmaxregister  increase 232
// CHECK: memref.view %{{.*}}[%c82976][]
// CHECK: "barrier.sync 1, 256;"
// CHECK: "barrier.sync 1, 256;"
func.func @document(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>, %v: tensor<?x?x16x128xbf16>, %dq: tensor<?x?xi32>, %dk: tensor<?x?xi32>) -> tensor<?x?x16x128xbf16> {
  %out = attn.attention %q, %k, %v doc_ids_q(%dq : tensor<?x?xi32>) doc_ids_kv(%dk : tensor<?x?xi32>) {masks = [#attn.document, #attn.causal<top_left>]} : tensor<?x?x16x128xbf16>, tensor<?x?x16x128xbf16>, tensor<?x?x16x128xbf16> -> tensor<?x?x16x128xbf16>
  return %out : tensor<?x?x16x128xbf16>
}
