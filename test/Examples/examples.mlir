// Every example a user may start from parses, verifies, and goes through the
// deepest pipeline that exists (down to the LLVM dialect).
// RUN: for f in %attn_src_root/examples/*.mlir; do attn-opt --attn-lower-to-cpu "$f" | attn-opt > /dev/null || exit 1; done
// RUN: attn-opt --attn-materialize-defaults %attn_src_root/examples/causal_gqa.mlir | FileCheck %s

// 1/sqrt(128) made explicit:
// CHECK: attn.attention {{.*}}masks = [#attn.causal<bottom_right>], scale = 0.0883883461 : f32}
