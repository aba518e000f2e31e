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

#include <cstdint>

namespace mlir::attn {

/// On the gpu.func: the block size (3 x i64).
constexpr llvm::StringLiteral kKernelBlockAttr = "attn.block";
/// On the gpu.func: the grid rule, three (parameter, dimension, divisor)
/// triples; parameter kGridConstant: the divisor is the extent,
/// kGridSplits: the extent is the split count chosen at launch.
constexpr llvm::StringLiteral kKernelGridAttr = "attn.grid";
constexpr int64_t kGridConstant = -1;
constexpr int64_t kGridSplits = -2;
/// On the gpu.module: the kernels' launch order (array of symbol names);
/// the first is the main kernel.
constexpr llvm::StringLiteral kKernelOrderAttr = "attn.kernels";
/// On a gpu.func launched only when the keys are split (a merge kernel).
constexpr llvm::StringLiteral kKernelOnlyWhenSplitAttr = "attn.only_when_split";
/// On the gpu.module of a split-KV kernel: the split rule, eight integers
/// (max splits, min kv tiles per split, resident CTAs per SM, keys
/// parameter, keys dimension, keys per tile, rows parameter, f32 words per
/// row); see
/// attn::runtime::SplitRule. Every kernel then takes the workspace
/// (memref<?xf32>) as its last parameter.
constexpr llvm::StringLiteral kKernelSplitRuleAttr = "attn.split_rule";
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

/// On a tensor-map argument (`!llvm.ptr`, after the others): the
/// #attn.tensor_map the runtime builds it from.
constexpr llvm::StringLiteral kKernelTensorMapAttr = "attn.tensor_map";
/// On the gpu.func (and the llvm.func it lowers to): the positions, in the
/// lowered LLVM signature, of the arguments attn-grid-constant-params makes
/// 128-byte `grid_constant` parameters (the tensor maps: the GPU-to-NVVM
/// lowering keeps no `llvm.byval` and rejects `nvvm.grid_constant` on a
/// gpu.func).
constexpr llvm::StringLiteral kKernelGridConstantsAttr = "attn.grid_constants";
/// Bytes of a tensor map (CUtensorMap), passed by value.
constexpr int64_t kTensorMapBytes = 128;

} // namespace mlir::attn

#endif // ATTN_CONVERSION_KERNELABI_H
