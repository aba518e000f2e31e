// RUN: attn-opt %s --attn-gpu-kernels --canonicalize | FileCheck %s --check-prefix=KERNEL
// RUN: attn-opt %s --attn-lower-to-gpu="chip=sm_80 format=isa" | FileCheck %s --check-prefix=PTX

// Causal GQA attention, f16, head_dim 64, with lse: the function becomes a
// gpu.module whose kernel takes (q, k, v, out, lse) as memrefs. One CTA of
// 128 threads per (64-row query tile, head, batch): grid = (ceil(Sq/64) from
// q dim 1, 8 heads, B from q dim 0); Q tile + two K and V stages of 64 x 72
// halves = 46080 bytes of dynamic shared memory.
// KERNEL: gpu.module @causal_kernels
// Each parameter is named after its operand or result; q/k/v, read 16
// bytes at a time, and out, written 4, carry their alignment.
// KERNEL: gpu.func @causal_kernel(%{{.*}}: memref<?x?x8x64xf16> {attn.align = 16 : i64, attn.name = "q"}, %{{.*}}: memref<?x?x2x64xf16> {attn.align = 16 : i64, attn.name = "k"}, %{{.*}}: memref<?x?x2x64xf16> {attn.align = 16 : i64, attn.name = "v"}, %{{.*}}: memref<?x?x8x64xf16> {attn.align = 4 : i64, attn.name = "out"}, %{{.*}}: memref<?x8x?xf32> {attn.name = "lse"}) kernel
// KERNEL-SAME: attn.block = array<i64: 128, 1, 1>, attn.grid = array<i64: 0, 1, 64, -1, 0, 8, 0, 0, 1>, attn.lowering_config = #attn.lowering_config<strategy = sm80, block_q = 64, block_k = 64, warps = 4>, attn.shared_bytes = 46080
// K/V tiles stream global -> shared with 16-byte cp.async, zero-filled past Sk:
// KERNEL: gpu.dynamic_shared_memory
// KERNEL: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1}
// KERNEL: nvgpu.device_async_create_group
// Q fragments once, then S = Q K^T and O += P V on m16n8k16 tensor cores:
// KERNEL: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// KERNEL: scf.for
// KERNEL: nvgpu.device_async_wait
// KERNEL: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]}
// Row max across the 4 lanes of a row, exp2 in log2 units:
// KERNEL: gpu.shuffle  xor
// KERNEL: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// KERNEL: nvgpu.ldmatrix {{.*}} {numTiles = 2 : i32, transpose = true}
// KERNEL-NOT: func.func @causal

// In the PTX, the tensor-core instructions are there and nothing calls out
// PTX: gpu.binary @causal_kernels
// PTX-DAG: cp.async.cg.shared.global
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-DAG: ex2.approx
// PTX-DAG: shfl.sync.bfly
// PTX-NOT: .extern .func
func.func @causal(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) -> (tensor<?x?x8x64xf16>, tensor<?x8x?xf32>) {
  %o, %l = attn.attention %q, %k, %v {masks = [#attn.causal<bottom_right>]} : tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16> -> tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
  return %o, %l : tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
}

// bf16 in, f32 accumulate: nvgpu.mma.sync cannot type bf16 operands, so the
// same register fragments (two bf16 per i32) feed nvvm.mma.sync directly;
// P is rounded to bf16 before P V, as FlashAttention does.
// KERNEL: gpu.module @dense_bf16_kernels
// KERNEL: nvgpu.ldmatrix {{.*}} -> vector<4x2xbf16>
// KERNEL: llvm.bitcast {{.*}} : vector<2xbf16> to i32
// KERNEL: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
// KERNEL: arith.truncf {{.*}} : vector<2xf32> to vector<2xbf16>
// PTX: gpu.binary @dense_bf16_kernels
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-NOT: .extern .func
func.func @dense_bf16(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x4x128xbf16>) -> tensor<?x?x4x128xbf16> {
  %o = attn.attention %q, %k, %v : tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16> -> tensor<?x?x4x128xbf16>
  return %o : tensor<?x?x4x128xbf16>
}

// Varlen: q/k/v packed as [T, H, D] with cu_seqlens. The grid covers every
// packed row for each of the B + 1 slots of cu_seqlens_q (parameter 3, dim
// 0): grid = (ceil(T / 64), 2, len(cu_seqlens_q)); a CTA past the batch or
// past its sequence's rows returns before touching memory.
// KERNEL: gpu.func @varlen_kernel
// KERNEL-SAME: attn.grid = array<i64: 0, 0, 64, -1, 0, 2, 3, 0, 1>
// KERNEL: %[[B:.*]] = gpu.block_id  z
// KERNEL: %[[INBATCH:.*]] = arith.cmpi slt, %[[B]], %{{.*}} : index
// KERNEL: scf.if %[[INBATCH]] {
// KERNEL: memref.load %arg3
// KERNEL: scf.if
// KERNEL: nvgpu.device_async_copy
func.func @varlen(%q: tensor<?x2x64xf16>, %k: tensor<?x2x64xf16>, %v: tensor<?x2x64xf16>, %cu_q: tensor<?xi32>, %cu_k: tensor<?xi32>) -> tensor<?x2x64xf16> {
  %o = attn.attention %q, %k, %v cu_seqlens_q(%cu_q : tensor<?xi32>) cu_seqlens_k(%cu_k : tensor<?xi32>) {masks = [#attn.causal<bottom_right>]} : tensor<?x2x64xf16>, tensor<?x2x64xf16>, tensor<?x2x64xf16> -> tensor<?x2x64xf16>
  return %o : tensor<?x2x64xf16>
}

// Block-sparse (FlexAttention BlockMask, 128 x 128 blocks): the kv steps
// come from the lists of this tile's query block qb = q0 / 128, partial
// blocks (kv_indices) first, then full ones (full_kv_indices); each block is
// two 64-key tiles. Steps past the lists never read them. One head's query
// tiles launch together (grid (tiles, H, B) read as is: neighbouring query
// blocks of windows and documents list the same key blocks).
// KERNEL: gpu.func @sparse_kernel
// KERNEL-NOT: gpu.grid_dim  z
// KERNEL: %[[QB:.*]] = arith.divui %{{.*}}, %c128 : index
// KERNEL: memref.load %arg1[%block_id_z, %block_id_y, %[[QB]]] : memref<2x4x8xi32>
// KERNEL: memref.load %arg3[%{{.*}}, %{{.*}}, %[[QB]]] : memref<2x4x8xi32>
// KERNEL: scf.if %{{.*}} -> (index)
// KERNEL: memref.load %arg2[%{{.*}}, %{{.*}}, %[[QB]], %{{.*}}] : memref<2x4x8x8xi32>
// KERNEL: memref.load %arg4[%{{.*}}, %{{.*}}, %[[QB]], %{{.*}}] : memref<2x4x8x8xi32>
func.func @sparse(%q: tensor<2x1024x4x64xf16>, %num: tensor<2x4x8xi32>, %idx: tensor<2x4x8x8xi32>,
                  %fnum: tensor<2x4x8xi32>, %fidx: tensor<2x4x8x8xi32>) -> tensor<2x1024x4x64xf16> {
  %o = attn.attention %q, %q, %q kv_num_blocks(%num : tensor<2x4x8xi32>) kv_indices(%idx : tensor<2x4x8x8xi32>)
      full_kv_num_blocks(%fnum : tensor<2x4x8xi32>) full_kv_indices(%fidx : tensor<2x4x8x8xi32>)
      {block_sparse = #attn.block_sparse<q_block = 128, kv_block = 128>}
      : tensor<2x1024x4x64xf16>, tensor<2x1024x4x64xf16>, tensor<2x1024x4x64xf16> -> tensor<2x1024x4x64xf16>
  return %o : tensor<2x1024x4x64xf16>
}

// A score_mod region that captures a tensor (FlexAttention's ALiBi-style
// s + slope[h] * (j - i)): the capture is kernel parameter 3 and
// tensor.extract becomes a load from it, guarded by h < 4 (a read out of
// range yields 0 and touches no memory); h is the flat CTA index's head
// (the launch order, L mod H).
// KERNEL: gpu.func @captured_kernel(%{{.*}}, %{{.*}}, %{{.*}}, %[[SLOPES:.*]]: memref<4xf32> {attn.name = "capture3"}, %{{.*}}: memref<?x?x4x64xf16> {attn.align = 4 : i64, attn.name = "out"})
// KERNEL: %[[H:.*]] = arith.remui %{{.*}}, %grid_dim_y : index
// KERNEL: %[[IN:.*]] = arith.cmpi ult, %[[H]], %c4 : index
// KERNEL-NEXT: scf.if %[[IN]] -> (f32) {
// KERNEL-NEXT: memref.load %[[SLOPES]][%[[H]]] : memref<4xf32>
// KERNEL-NOT: tensor.extract
// The region's float j - i, for the pair's column j = base + c: sitofp(base
// - i) + c, its conversion the same ops for each column of a row (one per
// row and tile after CSE), one float add per pair.
// KERNEL: arith.subi %[[BASE:.*]], %[[ROW:.*]] : index
// KERNEL-NEXT: arith.index_cast
// KERNEL-NEXT: arith.sitofp
// KERNEL: arith.subi %[[BASE]], %[[ROW]] : index
// KERNEL-NEXT: arith.index_cast
// KERNEL-NEXT: %[[F:.*]] = arith.sitofp
// KERNEL-NEXT: arith.addf %[[F]], %cst
func.func @captured(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>, %slopes: tensor<4xf32>) -> tensor<?x?x4x64xf16> {
  %o = attn.attention %q, %k, %v {score_mods = [#attn.score_mod]} : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16> score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %slopes[%h] : tensor<4xf32>
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %t = arith.mulf %w, %df : f32
    %r = arith.addf %s, %t : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x4x64xf16>
}

// BHSD (FlexAttention's layout): rows are q dim 2, so grid.x = ceil(Sq / 64)
// reads dimension 2 of parameter 0, and tiles are read at [b, h, row, col];
// the launch order's head groups size K and V by dimension 2 of k, and the
// flat CTA index's (head, batch) pair p gives h = p mod H, b = p / H.
// KERNEL: gpu.func @bhsd_kernel
// KERNEL-SAME: attn.grid = array<i64: 0, 2, 64, -1, 0, 4, 0, 0, 1>
// KERNEL: memref.dim %arg1, %c2
// KERNEL: %[[H:.*]] = arith.remui %[[P:.*]], %grid_dim_y
// KERNEL: %[[B:.*]] = arith.divui %[[P]], %grid_dim_y
// KERNEL: nvgpu.device_async_copy %arg0[%[[B]], %[[H]], %{{.*}}, %{{.*}}]
func.func @bhsd(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>) -> tensor<?x4x?x64xbf16> {
  %o = attn.attention %q, %k, %v {layout = #attn<layout bhsd>, masks = [#attn.causal<top_left>]} : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// A document conjunct (keep doc_q[i] == doc_kv[j], and causal j <= i): the
// analysis cannot bound it, so the CTA's 128 threads read the ids together
// (DocumentKeys.cpp; Sm80Schedule.cpp's ctaScanLanes). Rows [q0, q1): lo =
// min doc_q, hi = max doc_q (thread t reads rows q0 + t, q0 + t + 128,
// ...; a butterfly of shuffles per warp, lane 0 stores the warp's min and
// max in slots 0 and 1 of the scratch after the tiles (46080 bytes), one
// barrier, every thread reduces the 4 warps' slots). Keys [0, kHi) that
// causal keeps (none when lo > hi), in i32, 1024 per step (8 loads in
// flight per thread, whole steps unchecked, the last partial one in an
// scf.if): key j is live when doc_kv[j] - lo <=u hi - lo; per thread the
// first live key, the last and their count, then min / max / sum over the
// CTA the same way (slots 2, 3, 4). Live keys [first, last + 1); all full
// when lo == hi and count == last + 1 - first.
// KERNEL-LABEL: gpu.func @doc_kernel
// KERNEL-SAME: %[[DQ:[^:]*]]: memref<1x512xi32> {attn.name = "doc_ids_q"}, %[[DK:[^:]*]]: memref<1x512xi32> {attn.name = "doc_ids_kv"}
// KERNEL-SAME: attn.shared_bytes = 46160
// KERNEL: %[[TID:.*]] = gpu.thread_id  x
// KERNEL: %[[SLOTS:.*]] = memref.view %{{.*}}[%c46080][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<5x4xi32, #gpu.address_space<workgroup>>
// KERNEL: %[[WARP:.*]] = arith.divui %[[TID]], %c32 : index
// KERNEL: %[[LANE:.*]] = arith.remui %[[TID]], %c32 : index
// KERNEL: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c128 iter_args(%{{.*}} = %c2147483647_i32, %{{.*}} = %c-2147483648_i32)
// KERNEL: memref.load %[[DQ]]
// KERNEL: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : i32
// KERNEL: %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
// KERNEL-NEXT: scf.if %[[FIRST]] {
// KERNEL-NEXT: memref.store %{{.*}}, %[[SLOTS]][%c0, %[[WARP]]]
// KERNEL-NEXT: memref.store %{{.*}}, %[[SLOTS]][%c1, %[[WARP]]]
// KERNEL-NEXT: }
// KERNEL-NEXT: llvm.inline_asm has_side_effects asm_dialect = att "barrier.sync 1, 128;", ""
// KERNEL-COUNT-4: memref.load %[[SLOTS]][%c0, %c{{[0-3]}}]
// KERNEL-COUNT-4: memref.load %[[SLOTS]][%c1, %c{{[0-3]}}]
// KERNEL: %[[NONEMPTY:.*]] = arith.cmpi sle, %[[LO:.*]], %[[HI:.*]] : i32
// KERNEL: %[[END:.*]] = arith.select %[[NONEMPTY]], %{{.*}}, %c0_i32 : i32
// KERNEL: %[[SPAN:.*]] = arith.subi %[[HI]], %[[LO]] : i32
// KERNEL: %[[WHOLE:.*]] = arith.muli %{{.*}}, %c1024_i32 : i32
// KERNEL: %[[SCAN:.*]]:3 = scf.for %{{.*}} = %c0_i32 to %[[WHOLE]] step %c1024_i32 iter_args(%{{.*}} = %[[END]], %{{.*}} = %c-1_i32, %{{.*}} = %c0_i32) -> (i32, i32, i32)
// KERNEL-COUNT-8: memref.load %[[DK]]
// KERNEL: %[[D:.*]] = arith.subi %{{.*}}, %[[LO]] : i32
// KERNEL-NEXT: arith.cmpi ule, %[[D]], %[[SPAN]] : i32
// KERNEL: arith.extui
// KERNEL: scf.yield
// KERNEL: %[[TAIL:.*]]:3 = scf.if %{{.*}} -> (i32, i32, i32)
// KERNEL: arith.minsi %{{.*}}, %{{.*}} : i32
// KERNEL: memref.load %[[DK]]
// KERNEL: } else {
// KERNEL-NEXT: scf.yield %[[SCAN]]#0, %[[SCAN]]#1, %[[SCAN]]#2
// KERNEL: gpu.shuffle  xor %[[TAIL]]#0, %c16_i32
// KERNEL: arith.minsi
// KERNEL: gpu.shuffle  xor %[[TAIL]]#1, %c16_i32
// KERNEL: arith.maxsi
// KERNEL: gpu.shuffle  xor %[[TAIL]]#2, %c16_i32
// KERNEL: arith.addi
// KERNEL: memref.store %{{.*}}, %[[SLOTS]][%c2, %[[WARP]]]
// KERNEL-NEXT: memref.store %{{.*}}, %[[SLOTS]][%c3, %[[WARP]]]
// KERNEL-NEXT: memref.store %{{.*}}, %[[SLOTS]][%c4, %[[WARP]]]
// KERNEL: llvm.inline_asm has_side_effects asm_dialect = att "barrier.sync 1, 128;", ""
// KERNEL-COUNT-4: memref.load %[[SLOTS]][%c2, %c{{[0-3]}}]
func.func @doc(%q: tensor<1x512x4x64xf16>, %dq: tensor<1x512xi32>, %dk: tensor<1x512xi32>) -> tensor<1x512x4x64xf16> {
  %o = attn.attention %q, %q, %q doc_ids_q(%dq : tensor<1x512xi32>) doc_ids_kv(%dk : tensor<1x512xi32>) {masks = [#attn.document, #attn.causal<top_left>]} : tensor<1x512x4x64xf16>, tensor<1x512x4x64xf16>, tensor<1x512x4x64xf16> -> tensor<1x512x4x64xf16>
  return %o : tensor<1x512x4x64xf16>
}

// Ids wider than 32 bits (i64) are not scanned: the kernel visits the keys
// causal keeps and masks them per element.
// KERNEL-LABEL: gpu.func @doc64_kernel
// KERNEL-NOT: nvvm.vote.sync  ballot
// KERNEL: gpu.return
func.func @doc64(%q: tensor<1x512x4x64xf16>, %dq: tensor<1x512xi64>, %dk: tensor<1x512xi64>) -> tensor<1x512x4x64xf16> {
  %o = attn.attention %q, %q, %q doc_ids_q(%dq : tensor<1x512xi64>) doc_ids_kv(%dk : tensor<1x512xi64>) {masks = [#attn.document, #attn.causal<top_left>]} : tensor<1x512x4x64xf16>, tensor<1x512x4x64xf16>, tensor<1x512x4x64xf16> -> tensor<1x512x4x64xf16>
  return %o : tensor<1x512x4x64xf16>
}

// ALiBi, s - slope[h] * |i + Sk - Sq - j|: a fragment's column is j = base +
// c with c a constant (8 n + y), so the distance is (row - base) - c: the
// integer (row - base) and its conversion are the same ops for every column
// of a row (folded to one per row and tile by CSE), and each pair pays one
// float add (of -c) instead of an i64 -> f32 conversion. |d| becomes
// max(d, -d) (math.absf would call libdevice's fabsf: the PTX check above
// finds no extern function).
// (floatDistance in ElementCodegen.cpp, as for the region above.)
// KERNEL-LABEL: gpu.func @alibi_kernel
// KERNEL: memref.load %{{.*}} : memref<4xf32>
// KERNEL: %[[OFF:.*]] = arith.subi %dim{{.*}}, %dim{{.*}} : index
// KERNEL-NEXT: %[[ROW:.*]] = arith.addi %{{.*}}, %[[OFF]] : index
// KERNEL-NEXT: %[[D0:.*]] = arith.subi %[[ROW]], %[[BASE:.*]] : index
// KERNEL-NEXT: arith.index_cast %[[D0]] : index to i64
// KERNEL-NEXT: arith.sitofp
// KERNEL-NEXT: arith.negf
// KERNEL-NEXT: arith.maximumf
// KERNEL: arith.subi %{{.*}}, %[[BASE]] : index
// KERNEL-NEXT: arith.index_cast
// KERNEL-NEXT: %[[F:.*]] = arith.sitofp
// KERNEL-NEXT: %[[D1:.*]] = arith.addf %[[F]], %cst
// KERNEL-NEXT: %[[N1:.*]] = arith.negf %[[D1]]
// KERNEL-NEXT: arith.maximumf %[[D1]], %[[N1]]
func.func @alibi(%q: tensor<?x?x4x64xf16>, %slopes: tensor<4xf32>) -> tensor<?x?x4x64xf16> {
  %o = attn.attention %q, %q, %q alibi_slopes(%slopes : tensor<4xf32>) {masks = [#attn.causal<top_left>], score_mods = [#attn.alibi]} : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16>
  return %o : tensor<?x?x4x64xf16>
}
