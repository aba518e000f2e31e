//===- KernelArtifact.h - attn.attention -> runtime artifact ----*- C++ -*-===//
//
// The whole GPU compilation in one call: a function holding one
// attn.attention becomes the serialized kernel artifact that libAttnRuntime
// loads (include/attn/Runtime/Artifact.h). Used by attn-compile and by the
// compiler's C API (the Python package).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_GPU_KERNELARTIFACT_H
#define ATTN_GPU_KERNELARTIFACT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::attn {

/// A compiled kernel: the serialized artifact and its entry name.
struct KernelArtifact {
  std::string entry;
  std::vector<uint8_t> bytes;
};

/// Compiles `source` (MLIR text: one function whose body is one
/// attn.attention) for `chip` ("sm_80", "sm_90", ...) as `format` ("isa":
/// PTX the driver JIT-compiles; "bin": cubin, needs ptxas). Errors carry the
/// parser, verifier and lowering diagnostics; an attention the kernel
/// generator does not support on `chip` (head dims, shared memory, ...) is
/// an error with code std::errc::not_supported.
/// What to force of the lowering config (attn-gpu-kernels' strategy,
/// block-q, block-k, stages, producer-warps, kv-warps and tma; empty / 0 /
/// -1: chosen).
struct KernelChoice {
  std::string strategy;
  int64_t blockQ = 0;
  int64_t blockK = 0;
  int64_t stages = 0;
  int64_t producerWarps = -1;
  int64_t kvWarps = 0;
  int64_t tma = -1;
};

llvm::Expected<KernelArtifact> compileKernelArtifact(llvm::StringRef source,
                                                     llvm::StringRef chip,
                                                     llvm::StringRef format,
                                                     KernelChoice choice = {});

} // namespace mlir::attn

#endif // ATTN_GPU_KERNELARTIFACT_H
