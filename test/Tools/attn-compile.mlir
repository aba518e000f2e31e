// attn-compile writes an artifact whose parameters are named after the op's
// operands and results, with the strides the memref types fix (the
// outermost is dynamic: read at launch) and 16-byte alignment where the
// kernel reads 16 bytes at a time (q, k, v only; not by position: here q is
// the second argument).

// RUN: attn-compile %s -o %t.attn --chip=sm_90 --describe | FileCheck %s

// CHECK: kernel varlen_kernel target sm_90 block 128x1x1 shared 46080
// CHECK-NEXT: grid x = ceil(q.shape[0] / 64)
// CHECK-NEXT: grid y = 4
// CHECK-NEXT: grid z = ceil(cu_seqlens_q.shape[0] / 1)
// CHECK-NOT: split-kv
// CHECK-NEXT: param cu_seqlens_q i32 shape ? strides 1 align 4
// CHECK-NEXT: param q f16 shape ?x4x64 strides 256x64x1 align 16
// CHECK-NEXT: param k f16 shape ?x2x64 strides 128x64x1 align 16
// CHECK-NEXT: param v f16 shape ?x2x64 strides 128x64x1 align 16
// CHECK-NEXT: param cu_seqlens_k i32 shape ? strides 1 align 4
// CHECK-NEXT: param capture5 f32 shape 4 strides 1 align 4
// CHECK-NEXT: param out f16 shape ?x4x64 strides 256x64x1 align 4
// CHECK-NEXT: attn-compile: varlen_kernel (sm_90, isa,

func.func @varlen(%cu: tensor<?xi32>, %q: tensor<?x4x64xf16>, %k: tensor<?x2x64xf16>, %v: tensor<?x2x64xf16>, %cuk: tensor<?xi32>, %slopes: tensor<4xf32>) -> tensor<?x4x64xf16> {
  %o = attn.attention %q, %k, %v cu_seqlens_q(%cu : tensor<?xi32>) cu_seqlens_k(%cuk : tensor<?xi32>) {score_mods = [#attn.score_mod]} : tensor<?x4x64xf16>, tensor<?x2x64xf16>, tensor<?x2x64xf16> -> tensor<?x4x64xf16>
  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %slopes[%h] : tensor<4xf32>
    %r = arith.addf %s, %w : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x4x64xf16>
}

// --help lists attn-compile's own options, not LLVM's hundreds.
// RUN: attn-compile --help | FileCheck %s --check-prefix=HELP
// HELP: attn-compile options:
// HELP-DAG: --block-k=<long>
// HELP-DAG: --chip=<string>
// HELP-DAG: --describe
// HELP-DAG: --tma=<long>
// HELP-NOT: --aarch64
