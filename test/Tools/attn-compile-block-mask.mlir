// attn-compile writes attn.block_mask's artifact: one kernel, grid (NQ, H,
// B) from kv_num_blocks, the lengths as i64 scalars, then the captures and
// the four lists.

// RUN: attn-compile %s -o %t.attn --chip=sm_90a --describe | FileCheck %s

// CHECK: kernel block_mask_block_mask target sm_90a block 256x1x1 shared 0
// CHECK-NEXT: grid x = ceil(kv_num_blocks.shape[2] / 1)
// CHECK-NEXT: grid y = ceil(kv_num_blocks.shape[1] / 1)
// CHECK-NEXT: grid z = ceil(kv_num_blocks.shape[0] / 1)
// CHECK-NEXT: param q_len i64 scalar
// CHECK-NEXT: param kv_len i64 scalar
// CHECK-NEXT: param capture2 i32 shape ? strides 1 align 4
// CHECK-NEXT: param kv_num_blocks i32 shape 1x1x? strides ?x?x1 align 4
// CHECK-NEXT: param kv_indices i32 shape 1x1x?x? strides ?x?x?x1 align 4
// CHECK-NEXT: param full_kv_num_blocks i32 shape 1x1x? strides ?x?x1 align 4
// CHECK-NEXT: param full_kv_indices i32 shape 1x1x?x? strides ?x?x?x1 align 4

func.func @block_mask(%ql: index, %kl: index, %docs: tensor<?xi32>) -> (tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %ql, %kl {masks = [#attn.causal<top_left>, #attn.mask_mod], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kj: index):
    %dq = tensor.extract %docs[%qi] : tensor<?xi32>
    %dk = tensor.extract %docs[%kj] : tensor<?xi32>
    %same = arith.cmpi eq, %dq, %dk : i32
    attn.yield %same : i1
  }
  return %n, %i, %fn, %fi : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
}
