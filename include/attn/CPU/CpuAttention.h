//===- CpuAttention.h - run attn.attention on the host ----------*- C++ -*-===//
//
// The CPU backend: compiles a function holding an attn.attention through
// `--attn-lower-to-cpu` and MLIR's ExecutionEngine, and runs it on host
// buffers. Batch and sequence lengths stay dynamic when the IR leaves them
// dynamic, so one compiled function serves every length.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CPU_CPUATTENTION_H
#define ATTN_CPU_CPUATTENTION_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::attn::cpu {

/// Element types of host buffers; F16 and BF16 are stored as their 16 bits,
/// I1 as one byte per element.
/// F8E4M3: one byte per element, the bits of an f8E4M3FN value (an fp8 KV
/// cache).
enum class ElementType { F16, BF16, F32, I1, I8, I32, I64, F8E4M3 };

/// The MLIR spelling of an element type ("f16", "i32", ...).
const char *elementTypeName(ElementType type);

/// A dense, row-major host tensor that the caller owns.
struct HostBuffer {
  void *data = nullptr;
  ElementType type = ElementType::F32;
  std::vector<int64_t> shape;
};

/// Compilation options.
struct CompileOptions {
  int64_t qTile = 64;
  int64_t kvTile = 64;
};

/// One compiled attention function.
class CompiledAttention {
public:
  /// Compiles `source`: a module whose one function takes the tensors of an
  /// attn.attention (in any order it likes) and returns the op's results.
  /// Errors name what is wrong (parse errors, verifier diagnostics, a
  /// function with non-tensor arguments, a lowering failure).
  static llvm::Expected<std::unique_ptr<CompiledAttention>>
  compile(llvm::StringRef source, const CompileOptions &options = {});

  ~CompiledAttention();

  /// Runs the function: `args` in argument order, `results` preallocated in
  /// result order. Fails with a message when a buffer's element type, rank
  /// or static sizes disagree with the function type, or a pointer is null.
  llvm::Error run(llvm::ArrayRef<HostBuffer> args,
                  llvm::ArrayRef<HostBuffer> results) const;

  /// The lowered module in the LLVM dialect, as text.
  const std::string &loweredIR() const;

  struct Impl;

private:
  explicit CompiledAttention(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

} // namespace mlir::attn::cpu

#endif // ATTN_CPU_CPUATTENTION_H
