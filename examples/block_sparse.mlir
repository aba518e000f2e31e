// FlexAttention BlockMask: 128x128 blocks over a 4096-token sequence; only
// the listed kv blocks of each query block are visited, and the blocks in
// full_kv_* run without evaluating the mask_mod (here: a causal mask).
func.func @block_sparse(%q: tensor<4x4096x16x128xbf16>, %k: tensor<4x4096x16x128xbf16>,
                        %v: tensor<4x4096x16x128xbf16>,
                        %num: tensor<4x16x32xi32>, %idx: tensor<4x16x32x32xi32>,
                        %full_num: tensor<4x16x32xi32>, %full_idx: tensor<4x16x32x32xi32>)
    -> tensor<4x4096x16x128xbf16> {
  %out = attn.attention %q, %k, %v
      kv_num_blocks(%num : tensor<4x16x32xi32>) kv_indices(%idx : tensor<4x16x32x32xi32>)
      full_kv_num_blocks(%full_num : tensor<4x16x32xi32>)
      full_kv_indices(%full_idx : tensor<4x16x32x32xi32>)
      {block_sparse = #attn.block_sparse<q_block = 128, kv_block = 128>,
       masks = [#attn.mask_mod]}
      : tensor<4x4096x16x128xbf16>, tensor<4x4096x16x128xbf16>, tensor<4x4096x16x128xbf16>
      -> tensor<4x4096x16x128xbf16>
      mask_mod {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %keep = arith.cmpi ule, %j, %i : index
        attn.yield %keep : i1
      }
  return %out : tensor<4x4096x16x128xbf16>
}
