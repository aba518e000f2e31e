//===- Registration.h - what the compiler's pipelines need ------*- C++ -*-===//
//
// The one list of dialects, interface models and LLVM IR translations the
// compiler library's pipelines (attn -> CPU LLVM, attn -> GPU binary) use.
// Tools like attn-opt register everything upstream has; the library names
// only what it needs, so that a statically linked libAttnCompiler carries
// only those parts of MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_COMPILER_REGISTRATION_H
#define ATTN_COMPILER_REGISTRATION_H

namespace mlir {
class DialectRegistry;
namespace attn {

/// Adds the attn dialect, the upstream dialects the CPU and GPU pipelines
/// produce, their bufferization / deallocation / convert-to-LLVM interface
/// models, the NVVM target and the translations to LLVM IR.
void registerCompilerDialects(DialectRegistry &registry);

} // namespace attn
} // namespace mlir

#endif // ATTN_COMPILER_REGISTRATION_H
