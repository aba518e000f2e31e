// RUN: attn-opt --split-input-file --attn-scope-loop-allocas %s | FileCheck %s

// A loop whose body allocas: each iteration saves the stack pointer first and
// restores it before the next, so n iterations use one iteration's stack
// (the body's 64 floats), not n times as much.
// CHECK-LABEL: func.func @loop_with_alloca
// CHECK:       scf.for
// CHECK-NEXT:    %[[SP:.*]] = llvm.intr.stacksave : !llvm.ptr
// CHECK-NEXT:    memref.alloca() : memref<64xf32>
// CHECK:         llvm.intr.stackrestore %[[SP]] : !llvm.ptr
// CHECK-NEXT:  }
func.func @loop_with_alloca(%n: index, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %t = memref.alloca() : memref<64xf32>
    %x = memref.load %t[%c0] : memref<64xf32>
    memref.store %x, %out[%i] : memref<?xf32>
  }
  return
}

// -----

// Nested loops: only the loop whose own body allocas is bracketed; the
// outer loop's stack use is the inner loop's, released by the inner loop.
// CHECK-LABEL: func.func @nested
// CHECK:       scf.for
// CHECK-NOT:     llvm.intr.stacksave
// CHECK:         scf.for
// CHECK-NEXT:      llvm.intr.stacksave
// CHECK:           llvm.intr.stackrestore
// CHECK-NOT:     llvm.intr.stackrestore
// CHECK:       return
func.func @nested(%n: index, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %t = memref.alloca(%n) : memref<?xf32>
      %x = memref.load %t[%j] : memref<?xf32>
      memref.store %x, %out[%i] : memref<?xf32>
    }
  }
  return
}

// -----

// No alloca, no change; an alloca inside a nested alloca_scope is released
// by that scope.
// CHECK-LABEL: func.func @nothing_to_release
// CHECK-NOT:   llvm.intr.stacksave
func.func @nothing_to_release(%n: index, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    memref.store %z, %out[%i] : memref<?xf32>
    memref.alloca_scope {
      %t = memref.alloca() : memref<4xf32>
      memref.store %z, %t[%c0] : memref<4xf32>
    }
  }
  return
}

// -----

// A loop that hands a memref to the next iteration keeps its stack (the
// value would dangle after a restore).
// CHECK-LABEL: func.func @yields_a_memref
// CHECK-NOT:   llvm.intr.stacksave
func.func @yields_a_memref(%n: index, %init: memref<4xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%m = %init) -> memref<4xf32> {
    %t = memref.alloca() : memref<4xf32>
    scf.yield %t : memref<4xf32>
  }
  return %r : memref<4xf32>
}
