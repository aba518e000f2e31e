// RUN: attn-opt %s --split-input-file --attn-tile --verify-diagnostics

// attn.block_mask is lowered by attn-gpu-kernels only: the CPU pipeline
// says so instead of failing later in bufferization.
func.func @block_mask(%l: index) -> (tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>) {
  // expected-error @+1 {{attn-tile: attn.block_mask has no CPU lowering; attn-gpu-kernels builds its kernel}}
  %n, %i, %fn, %fi = attn.block_mask %l, %l {masks = [#attn.causal<top_left>], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  return %n, %i, %fn, %fi : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
}
