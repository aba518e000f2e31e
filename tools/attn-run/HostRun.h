//===- HostRun.h - run an attention on the CPU against the oracle -*- C++ -*-=//
//
// Fresh random inputs (rounded to the element type once, so the kernel and
// the oracle see the same numbers), outputs poisoned with NaN, one run of
// the compiled CPU function, the oracle in double on the same inputs, and
// the comparison.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_RUN_HOSTRUN_H
#define ATTN_TOOLS_ATTN_RUN_HOSTRUN_H

#include "attn/CPU/CpuAttention.h"
#include "attn/Reference/AttentionReference.h"

#include "llvm/Support/Error.h"

namespace attn_run {

struct RunResult {
  double seconds = 0;          ///< the compiled function
  double referenceSeconds = 0; ///< the oracle
  double maxRelError = 0;      ///< max |out - ref| / max |ref|
  double maxLseError = 0;      ///< max |lse - ref| over finite entries
  bool hasLse = false;
};

/// Runs `function` (arguments q, k, v; results out and optionally lse) on
/// the problem's shapes with `dtype` inputs and compares with the oracle.
llvm::Expected<RunResult>
runAgainstReference(const mlir::attn::cpu::CompiledAttention &function,
                    mlir::attn::cpu::ElementType dtype,
                    mlir::attn::reference::Problem problem, bool hasLse,
                    unsigned seed);

} // namespace attn_run

#endif // ATTN_TOOLS_ATTN_RUN_HOSTRUN_H
