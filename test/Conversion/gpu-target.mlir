// The chip is checked against the target table (GpuTarget.h) before any
// kernel or LLVM code is generated; the PTX ISA version follows from it.

// RUN: not attn-opt %s --attn-gpu-kernels=chip=sm_75 2>&1 | FileCheck %s --check-prefix=OLD
// RUN: not attn-opt %s --attn-lower-to-gpu="chip=sm_70 format=isa" 2>&1 | FileCheck %s --check-prefix=OLD70
// RUN: not attn-opt %s --attn-lower-to-gpu="chip=bogus format=isa" 2>&1 | FileCheck %s --check-prefix=BOGUS
// RUN: not attn-opt %s --attn-lower-to-gpu="chip= format=isa" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not attn-compile %s -o %t.attn --chip=sm_50 2>&1 | FileCheck %s --check-prefix=COMPILE
// RUN: attn-opt %s --attn-lower-to-gpu="chip=sm_100 format=isa" | FileCheck %s --check-prefix=SM100
// RUN: attn-opt %s --attn-lower-to-gpu="chip=sm_120a format=isa" | FileCheck %s --check-prefix=SM120
// RUN: attn-opt %s --attn-lower-to-gpu="chip=sm_90 format=isa" | FileCheck %s --check-prefix=SM90

// OLD: error: attn-gpu-kernels: unsupported GPU chip 'sm_75' (the kernels use cp.async, ldmatrix and bf16 mma.sync, which need sm_80 or newer); supported: sm_80, sm_86
// OLD-NOT: LLVM ERROR
// OLD70: unsupported GPU chip 'sm_70' (the kernels use cp.async
// BOGUS: error: attn-gpu-kernels: unsupported GPU chip 'bogus'; supported: sm_80,
// EMPTY: error: attn-gpu-kernels: unsupported GPU chip ''; supported: sm_80,
// COMPILE: attn compile: unsupported GPU chip 'sm_50'
// SM100: .version 8.6
// SM100: .target sm_100
// SM120: .version 8.7
// SM120: .target sm_120a
// SM90: .version 8.0
// SM90: .target sm_90

func.func @causal(%q: tensor<?x?x4x64xf16>) -> tensor<?x?x4x64xf16> {
  %o = attn.attention %q, %q, %q {masks = [#attn.causal<top_left>]} : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16>
  return %o : tensor<?x?x4x64xf16>
}
