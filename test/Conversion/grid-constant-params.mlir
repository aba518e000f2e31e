// RUN: attn-opt %s --split-input-file --verify-diagnostics --attn-grid-constant-params | FileCheck %s

// A kernel whose tensor maps attn-gpu-kernels placed at lowered argument
// positions 1 and 3 (after a scalar, and after the first map and another
// pointer): those become 128-byte by-value grid_constant parameters (the
// NVPTX back end then declares `.param .align 64 .b8 [128]` and the copies
// take its address); the others and the position list's attribute are
// gone or unchanged.
// CHECK-LABEL: llvm.func @kernel
// CHECK-SAME: (%arg0: i64,
// CHECK-SAME: %arg1: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant},
// CHECK-SAME: %arg2: !llvm.ptr,
// CHECK-SAME: %arg3: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant})
// CHECK-NOT: attn.grid_constants
// CHECK-SAME: nvvm.kernel
gpu.module @kernels {
  llvm.func @kernel(%n: i64, %q: !llvm.ptr {llvm.align = 64 : i64}, %p: !llvm.ptr, %k: !llvm.ptr {llvm.align = 64 : i64}) attributes {attn.grid_constants = array<i64: 1, 3>, nvvm.kernel} {
    llvm.return
  }
}

// -----

// A position that is not a pointer argument is an error, not a silently
// wrong parameter layout.
gpu.module @kernels {
  // expected-error @below {{attn.grid_constants names argument 0, which is not a pointer argument}}
  llvm.func @kernel(%n: i64) attributes {attn.grid_constants = array<i64: 0>, nvvm.kernel} {
    llvm.return
  }
}
