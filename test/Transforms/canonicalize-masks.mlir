// RUN: attn-opt %s --split-input-file --attn-canonicalize-masks | FileCheck %s

// A window unbounded on both sides keeps every key (dropped); left = -1,
// right = 0 is i + off - inf <= j <= i + off, i.e. causal with the same
// alignment; a repeated atom adds nothing (and is idempotent).
// CHECK-LABEL: func @windows
// CHECK: masks = [#attn.causal<bottom_right>, #attn.sliding_window<left = 8, right = 0, align = top_left>]}
func.func @windows(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.sliding_window<left = 8, right = 0, align = top_left>, #attn.sliding_window<left = -1, right = -1, align = top_left>, #attn.sliding_window<left = -1, right = 0, align = bottom_right>, #attn.causal<bottom_right>]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32>
  return %o : tensor<1x16x1x8xf32>
}

// -----

// Only keep-everything atoms: no mask at all.
// CHECK-LABEL: func @keep_all
// CHECK-NOT: masks
func.func @keep_all(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.sliding_window<left = -1, right = -1, align = top_left>]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32>
  return %o : tensor<1x16x1x8xf32>
}

// -----

// or(a, or(b, a)) = or(a, b); analytic members first. or(x) = x.
// CHECK-LABEL: func @nested_or
// CHECK: masks = [#attn.chunked<size = 4, align = top_left>, #attn.or<[#attn.causal<top_left>, #attn.mask_mod]>]}
func.func @nested_or(%q: tensor<1x16x1x8xf32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q {masks = [#attn.or<[#attn.mask_mod, #attn.or<[#attn.causal<top_left>, #attn.mask_mod]>]>, #attn.or<[#attn.chunked<size = 4, align = top_left>, #attn.chunked<size = 4, align = top_left>]>]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %first = arith.cmpi eq, %j, %c0 : index
    attn.yield %first : i1
  }
  return %o : tensor<1x16x1x8xf32>
}

// -----

// An or with a keep-everything member keeps everything; it is dropped while
// the other atoms stay, in canonical order (analytic atoms first).
// CHECK-LABEL: func @or_keep_all
// CHECK: masks = [#attn.causal<top_left>, #attn.document]}
func.func @or_keep_all(%q: tensor<1x16x1x8xf32>, %d: tensor<1x16xi32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q doc_ids_q(%d : tensor<1x16xi32>) doc_ids_kv(%d : tensor<1x16xi32>) {masks = [#attn.document, #attn.or<[#attn.prefix_lm<prefix = 2, align = top_left>, #attn.sliding_window<left = -1, right = -1, align = top_left>]>, #attn.causal<top_left>]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32>
  return %o : tensor<1x16x1x8xf32>
}

// -----

// or(mask_mod, document, keep-everything) keeps everything: the mask_mod
// region and the document ids it alone used are dropped with it.
// CHECK-LABEL: func @drop_inputs
// CHECK: attn.attention %arg0, %arg0, %arg0 : tensor
// CHECK-NOT: mask_mod
// CHECK: return
func.func @drop_inputs(%q: tensor<1x16x1x8xf32>, %d: tensor<1x16xi32>) -> tensor<1x16x1x8xf32> {
  %o = attn.attention %q, %q, %q doc_ids_q(%d : tensor<1x16xi32>) doc_ids_kv(%d : tensor<1x16xi32>) {masks = [#attn.or<[#attn.mask_mod, #attn.document, #attn.sliding_window<left = -1, right = -1, align = top_left>]>]} : tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32> -> tensor<1x16x1x8xf32> mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %first = arith.cmpi eq, %j, %c0 : index
    attn.yield %first : i1
  }
  return %o : tensor<1x16x1x8xf32>
}
