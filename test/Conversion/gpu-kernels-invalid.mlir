// RUN: attn-opt %s --split-input-file --attn-gpu-kernels --verify-diagnostics

// What the GPU kernel does not cover yet is said, not miscompiled.
func.func @f32(%q: tensor<1x64x2x64xf32>) -> tensor<1x64x2x64xf32> {
  // expected-error @+1 {{attn-gpu-kernels: the GPU kernel needs f16 or bf16 q/k/v}}
  %o = attn.attention %q, %q, %q : tensor<1x64x2x64xf32>, tensor<1x64x2x64xf32>, tensor<1x64x2x64xf32> -> tensor<1x64x2x64xf32>
  return %o : tensor<1x64x2x64xf32>
}

// -----

// m16n8k16 steps over D and Dv, and the tile copy's 16-byte chunks split
// over 128 threads: head dims are multiples of 16 in [32, 256].
func.func @head_dim(%q: tensor<1x64x2x40xf16>) -> tensor<1x64x2x40xf16> {
  // expected-error @+1 {{attn-gpu-kernels: the GPU kernel supports head dims (q/k and v) that are multiples of 16 in [32, 256], got 40 and 40}}
  %o = attn.attention %q, %q, %q : tensor<1x64x2x40xf16>, tensor<1x64x2x40xf16>, tensor<1x64x2x40xf16> -> tensor<1x64x2x40xf16>
  return %o : tensor<1x64x2x40xf16>
}

// -----

func.func @value_head_dim(%q: tensor<1x64x2x64xf16>, %v: tensor<1x64x2x24xf16>) -> tensor<1x64x2x24xf16> {
  // expected-error @+1 {{attn-gpu-kernels: the GPU kernel supports head dims (q/k and v) that are multiples of 16 in [32, 256], got 64 and 24}}
  %o = attn.attention %q, %q, %v : tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16>, tensor<1x64x2x24xf16> -> tensor<1x64x2x24xf16>
  return %o : tensor<1x64x2x24xf16>
}

// -----

// A query tile must lie inside one query block of the BlockMask: a q_block
// that is no multiple of 16 rows (one warp) has no tile.
func.func @small_blocks(%q: tensor<1x64x2x64xf16>, %n: tensor<1x2x8xi32>, %i: tensor<1x2x8x2xi32>) -> tensor<1x64x2x64xf16> {
  // expected-error @+1 {{attn-gpu-kernels: block_q must be a positive multiple of 16 (16 query rows per warp), got 8 (from block_sparse q_block 8)}}
  %o = attn.attention %q, %q, %q kv_num_blocks(%n : tensor<1x2x8xi32>) kv_indices(%i : tensor<1x2x8x2xi32>) {block_sparse = #attn.block_sparse<q_block = 8, kv_block = 32>} : tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16> -> tensor<1x64x2x64xf16>
  return %o : tensor<1x64x2x64xf16>
}

// -----

// The sparse-softmax skip is decided per kv_block keys: the kernel's key
// tile must be that block, so a multiple of 16.
func.func @sparse_softmax(%q: tensor<1x64x2x64xf16>) -> tensor<1x64x2x64xf16> {
  // expected-error @+1 {{attn-gpu-kernels: the key tile (block_k, or a sparse_softmax kv_block) must be a positive multiple of 16, got 24}}
  %o = attn.attention %q, %q, %q {sparse_softmax = #attn.sparse_softmax<threshold = 0.01, kv_block = 24>} : tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16> -> tensor<1x64x2x64xf16>
  return %o : tensor<1x64x2x64xf16>
}

// -----

// Captured tensors are read element by element; a region that hands one to
// another op (here tensor.dim) cannot become kernel code.
func.func @capture_not_extract(%q: tensor<1x64x2x64xf16>, %t: tensor<?xf32>) -> tensor<1x64x2x64xf16> {
  // expected-error @+1 {{attn-gpu-kernels: a captured tensor may only be read with tensor.extract in a region compiled for the GPU ('tensor.dim' uses one)}}
  %o = attn.attention %q, %q, %q {score_mods = [#attn.score_mod]} : tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16>, tensor<1x64x2x64xf16> -> tensor<1x64x2x64xf16> score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %t, %c0 : tensor<?xf32>
    %ni = arith.index_cast %n : index to i64
    %nf = arith.sitofp %ni : i64 to f32
    %r = arith.addf %s, %nf : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x64x2x64xf16>
}

// -----

// attn.block_mask's lengths are kernel parameters: function arguments.
func.func @block_mask_lengths(%ql: index) -> (tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>) {
  %c = arith.constant 4096 : index
  // expected-error @+1 {{attn-gpu-kernels: q_len and kv_len must be arguments of the function}}
  %n, %i, %fn, %fi = attn.block_mask %ql, %c {blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  return %n, %i, %fn, %fi : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
}

// -----

// A mask_mod region reads captured tensors with tensor.extract only.
func.func @block_mask_capture(%l: index, %docs: tensor<?xi32>) -> (tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %l, %l {masks = [#attn.mask_mod], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kj: index):
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{attn-gpu-kernels: a mask_mod region may use from outside only tensors that are arguments of the function, read with tensor.extract}}
    %len = tensor.dim %docs, %c0 : tensor<?xi32>
    %keep = arith.cmpi slt, %kj, %len : index
    attn.yield %keep : i1
  }
  return %n, %i, %fn, %fi : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
}
