//===- GpuTarget.h - the NVIDIA GPUs Attn generates kernels for -*- C++ -*-===//
//
// The one list of GPU chips the kernel generator supports and the PTX ISA
// version each needs. Every entry point that takes a chip name (the
// attn-gpu-kernels pass, --attn-lower-to-gpu, compileKernelArtifact and so
// attn-compile, libAttnCompiler and the Python package) asks it first, so an
// unsupported chip is a diagnostic before any LLVM code generation.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_GPUTARGET_H
#define ATTN_CONVERSION_GPUTARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::attn {

/// One supported chip.
struct GpuTarget {
  /// The name LLVM's NVPTX back end and ptxas take ("sm_90a").
  llvm::StringRef chip;
  /// The PTX ISA feature the chip needs ("+ptx80"): the lowest version that
  /// both knows the chip and has every instruction the kernels use.
  llvm::StringRef ptxFeature;
  /// The most dynamic shared memory one CTA may opt in to, in bytes.
  int64_t maxSharedBytes;
  /// Hopper's arch-specific warpgroup MMA (wgmma.mma_async) is available:
  /// sm_90a only (not sm_90, and not carried forward to sm_100a).
  bool wgmma = false;
};

/// The target for `chip`, or an error naming it and the supported chips.
llvm::Expected<GpuTarget> lookupGpuTarget(llvm::StringRef chip);

/// "sm_80, sm_86, ..." for messages and option help.
std::string supportedGpuChips();

} // namespace mlir::attn

#endif // ATTN_CONVERSION_GPUTARGET_H
