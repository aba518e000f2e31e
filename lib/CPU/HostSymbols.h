//===- HostSymbols.h - functions the JIT-compiled code calls ----*- C++ -*-===//
//
// The CPU pipeline's LLVM IR calls a few functions it does not define: libc
// (malloc, free; found in the process) and `memrefCopy`, which MLIR ships in
// libmlir_c_runner_utils.so. A statically linked compiler library has no
// such library beside it, so the engine gets ours by address.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CPU_HOSTSYMBOLS_H
#define ATTN_LIB_CPU_HOSTSYMBOLS_H

namespace mlir {
class ExecutionEngine;
namespace attn::cpu {

/// Makes the runtime functions of the lowered code (memrefCopy) resolvable
/// in `engine`.
void registerHostSymbols(ExecutionEngine &engine);

} // namespace attn::cpu
} // namespace mlir

#endif // ATTN_LIB_CPU_HOSTSYMBOLS_H
