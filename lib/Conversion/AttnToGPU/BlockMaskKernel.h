//===- BlockMaskKernel.h - the kernel of attn.block_mask --------*- C++ -*-===//
//
// attn-gpu-kernels turns a function holding an attn.block_mask into one
// kernel that classifies the blocks on the GPU (BlockMaskKernel.cpp states
// the schedule).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_BLOCKMASKKERNEL_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_BLOCKMASKKERNEL_H

#include "attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::attn {

/// Replaces `func`, whose body is `op` returned as is, by a gpu.module
/// holding its kernel: parameters the function's arguments (q_len and
/// kv_len as i64, the captured tensors) then its four results, grid (NQ,
/// H, B). Fails with a diagnostic where the function does not have that
/// form.
LogicalResult buildBlockMaskKernel(ModuleOp module, func::FuncOp func,
                                   BlockMaskOp op);

} // namespace mlir::attn

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_BLOCKMASKKERNEL_H
