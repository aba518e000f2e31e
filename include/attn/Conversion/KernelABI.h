//===- KernelABI.h - what a generated kernel says about itself --*- C++ -*-===//
//
// The attributes attn-gpu-kernels puts on each gpu.func and its arguments,
// and compileKernelArtifact reads back into the runtime artifact
// (include/attn/Runtime/Artifact.h). Their names live here only.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_KERNELABI_H
#define ATTN_CONVERSION_KERNELABI_H

#include "llvm/ADT/StringRef.h"

namespace mlir::attn {

/// On the gpu.func: the block size (3 x i64).
constexpr llvm::StringLiteral kKernelBlockAttr = "attn.block";
/// On the gpu.func: the grid rule, three (parameter, dimension, divisor)
/// triples, a negative parameter meaning the divisor is the constant extent.
constexpr llvm::StringLiteral kKernelGridAttr = "attn.grid";
/// On the gpu.func: the #attn.lowering_config it was built with.
constexpr llvm::StringLiteral kKernelConfigAttr = "attn.lowering_config";
/// On the gpu.func: bytes of dynamic shared memory.
constexpr llvm::StringLiteral kKernelSharedBytesAttr = "attn.shared_bytes";
/// On each argument: its name in the op's syntax ("q", "cu_seqlens_q",
/// "out", "lse", "captureN"), for the runtime's error messages.
constexpr llvm::StringLiteral kKernelParamNameAttr = "attn.name";
/// On the arguments read with wide (16-byte) loads: the alignment in bytes
/// their data and row starts need.
constexpr llvm::StringLiteral kKernelParamAlignAttr = "attn.align";

} // namespace mlir::attn

#endif // ATTN_CONVERSION_KERNELABI_H
