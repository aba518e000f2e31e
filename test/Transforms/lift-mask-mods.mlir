// RUN: attn-opt %s --split-input-file --attn-lift-mask-mods | FileCheck %s

// FlexAttention's causal mask_mod, q_idx >= kv_idx: i - j >= 0 is
// j - i <= 0, #attn.causal<top_left>; the region held nothing else and is
// removed with its atom.
// CHECK-LABEL: func @causal
// CHECK: attn.attention %arg0, %arg0, %arg0 {masks = [#attn.causal<top_left>]}
// CHECK-NOT: mask_mod
// CHECK: return
func.func @causal(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.mask_mod]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi sge, %i, %j : index
    attn.yield %c : i1
  }
  return %o : tensor<1x16x1x8xf32>
}

// -----

// A causal sliding window, (q >= kv) & (q - kv <= 256): j - i <= 0 is
// causal and i - j <= 256 is j >= i - 256, a window of 256 keys to the
// left, unbounded to the right (the causal atom bounds it).
// CHECK-LABEL: func @window
// CHECK: masks = [#attn.causal<top_left>, #attn.sliding_window<left = 256, right = -1, align = top_left>]}
// CHECK-NOT: mask_mod
func.func @window(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.mask_mod]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi sge, %i, %j : index
    %d = arith.subi %i, %j : index
    %w = arith.constant 256 : index
    %n = arith.cmpi sle, %d, %w : index
    %both = arith.andi %c, %n : i1
    attn.yield %both : i1
  }
  return %o : tensor<1x16x1x8xf32>
}

// -----

// Prefix-LM, (kv < 100) | (q >= kv): j < 100 or j <= i is
// #attn.prefix_lm<prefix = 100>. kv <= q + 5 is j - i <= 5: a window
// unbounded to the left, 5 keys to the right.
// CHECK-LABEL: func @prefix
// CHECK: masks = [#attn.prefix_lm<prefix = 100, align = top_left>, #attn.sliding_window<left = -1, right = 5, align = top_left>]}
// CHECK-NOT: mask_mod
func.func @prefix(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.mask_mod]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %p = arith.constant 100 : index
    %in = arith.cmpi slt, %j, %p : index
    %c = arith.cmpi sge, %i, %j : index
    %either = arith.ori %in, %c : i1
    %five = arith.constant 5 : index
    %r = arith.addi %i, %five : index
    %near = arith.cmpi sle, %j, %r : index
    %both = arith.andi %either, %near : i1
    attn.yield %both : i1
  }
  return %o : tensor<1x16x1x8xf32>
}

// -----

// A document mask, causal & (docs[q] == docs[kv]): the causal conjunct is
// lifted; the ids' comparison stays in the region, which now yields it
// alone. The closed-form atoms from before stay first.
// CHECK-LABEL: func @document
// CHECK: masks = [#attn.chunked<size = 64, align = top_left>, #attn.mask_mod, #attn.causal<top_left>]}
// CHECK: mask_mod
// CHECK-NEXT: ^bb0(%{{.*}}: index, %{{.*}}: index, %[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT: %[[DI:.*]] = tensor.extract %{{.*}}[%[[I]]]
// CHECK-NEXT: %[[DJ:.*]] = tensor.extract %{{.*}}[%[[J]]]
// CHECK-NEXT: %[[SAME:.*]] = arith.cmpi eq, %[[DI]], %[[DJ]] : i32
// CHECK-NEXT: attn.yield %[[SAME]] : i1
func.func @document(%q: tensor<1x16x1x8xf32>, %docs: tensor<16xi32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.chunked<size = 64, align = top_left>, #attn.mask_mod]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi sge, %i, %j : index
    %di = tensor.extract %docs[%i] : tensor<16xi32>
    %dj = tensor.extract %docs[%j] : tensor<16xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    %both = arith.andi %c, %same : i1
    attn.yield %both : i1
  }
  return %o : tensor<1x16x1x8xf32>
}

// -----

// Not closed forms, left as they are: q > kv (j <= i - 1: a window's right
// extent cannot be -1, which means unbounded), j >= i + 1 (left extent -1),
// and a mask_mod inside an #attn.or (its conjuncts are not the mask's).
// CHECK-LABEL: func @strict
// CHECK: masks = [#attn.mask_mod]}
// CHECK: arith.cmpi sgt
// CHECK-LABEL: func @above
// CHECK: masks = [#attn.mask_mod]}
// CHECK: arith.cmpi sge
// CHECK-LABEL: func @inside_or
// CHECK: masks = [#attn.or<[#attn.chunked<size = 4, align = top_left>, #attn.mask_mod]>]}
// CHECK: arith.cmpi sge
func.func @strict(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.mask_mod]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi sgt, %i, %j : index
    attn.yield %c : i1
  }
  return %o : tensor<1x16x1x8xf32>
}
func.func @above(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.mask_mod]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %one = arith.constant 1 : index
    %r = arith.addi %i, %one : index
    %c = arith.cmpi sge, %j, %r : index
    attn.yield %c : i1
  }
  return %o : tensor<1x16x1x8xf32>
}
func.func @inside_or(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.or<[#attn.chunked<size = 4, align = top_left>, #attn.mask_mod]>]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi sge, %i, %j : index
    attn.yield %c : i1
  }
  return %o : tensor<1x16x1x8xf32>
}

// -----

// attn.block_mask too: q == kv is j - i <= 0 and i - j <= 0, the diagonal
// (a window of no key to the left, and causal).
// CHECK-LABEL: func @block_mask_diagonal
// CHECK: attn.block_mask %arg0, %arg1 {blocks = #attn.block_sparse<q_block = 128, kv_block = 128>, masks = [#attn.sliding_window<left = 0, right = -1, align = top_left>, #attn.causal<top_left>]}
// CHECK-NOT: mask_mod
func.func @block_mask_diagonal(%ql: index, %kl: index) -> (tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>) {
  %n, %i, %fn, %fi = attn.block_mask %ql, %kl {masks = [#attn.mask_mod], blocks = #attn.block_sparse<q_block = 128, kv_block = 128>} : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
  mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kj: index):
    %same = arith.cmpi eq, %qi, %kj : index
    attn.yield %same : i1
  }
  return %n, %i, %fn, %fi : tensor<1x1x?xi32>, tensor<1x1x?x?xi32>, tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
}
