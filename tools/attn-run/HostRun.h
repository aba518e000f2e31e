//===- HostRun.h - inputs, runs and the check against the oracle -*- C++ -*-=//
//
// Fresh random inputs (rounded to the element type once, so every back end
// and the oracle see the same numbers), outputs poisoned with NaN, and the
// comparison of a run's outputs with the oracle's. runOnCpu runs the
// compiled CPU function; DeviceRun.h the GPU kernel.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_RUN_HOSTRUN_H
#define ATTN_TOOLS_ATTN_RUN_HOSTRUN_H

#include "attn/CPU/CpuAttention.h"
#include "attn/Reference/AttentionReference.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace attn_run {

using ElementType = mlir::attn::cpu::ElementType;

/// One host tensor: f16/bf16 bits in `half`, f32 data (or the halves
/// widened) in `values`.
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<uint16_t> half;
  std::vector<float> values;

  /// The bytes a kernel reads or writes for `dtype`.
  void *data(ElementType dtype);
  size_t bytes(ElementType dtype) const;
  /// Element i as a float.
  float at(size_t i, ElementType dtype) const;
};

/// q, k, v, out (NaN) and lse (NaN) in the problem's layout; q/k/v/out in
/// `dtype`, lse in f32.
struct Tensors {
  HostTensor q, k, v, out, lse;
};
Tensors makeTensors(const mlir::attn::reference::Problem &problem,
                    ElementType dtype, unsigned seed);

/// How far a run's out/lse are from the oracle's.
struct Errors {
  double maxRelError = 0; ///< max |out - ref| / max |ref| (inf on a NaN)
  double maxLseError = 0; ///< max |lse - ref| (-inf must match -inf)
};
Errors compare(const mlir::attn::reference::Result &expected,
               const Tensors &got, ElementType dtype, bool hasLse);

/// Runs the CPU function on `tensors` (twice: the first run, which also
/// JIT-compiles, writes the outputs; the second is timed) and returns the
/// seconds of the timed run.
llvm::Expected<double>
runOnCpu(const mlir::attn::cpu::CompiledAttention &function, Tensors &tensors,
         ElementType dtype, bool hasLse);

} // namespace attn_run

#endif // ATTN_TOOLS_ATTN_RUN_HOSTRUN_H
