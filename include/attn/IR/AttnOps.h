//===- AttnOps.h - attn operations ------------------------------*- C++ -*-===//

#ifndef ATTN_IR_ATTNOPS_H
#define ATTN_IR_ATTNOPS_H

#include "attn/IR/AttnAttrs.h"
#include "attn/IR/AttnDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::attn {
/// Sizes of one attention problem as read off the types of q, k and v.
/// Dynamic sizes are ShapedType::kDynamic. For varlen problems `batch` is
/// cu_seqlens size - 1 and seqQ / seqK are the packed token counts.
struct ProblemShape {
  int64_t batch;
  int64_t seqQ;
  int64_t seqK;
  int64_t headsQ;
  int64_t headsKV;
  int64_t headDim;
  int64_t headDimV;
};
} // namespace mlir::attn

#define GET_OP_CLASSES
#include "attn/IR/AttnOps.h.inc"

namespace mlir::attn {
/// Clones the body of a one-block region ending in attn.yield at the
/// builder's insertion point, with the block arguments bound to `args`;
/// returns the values the yield would return. `replace`, when given, may
/// emit its own code for an op (mapping its results) and return true to
/// skip the clone.
SmallVector<Value>
inlineYieldingRegion(OpBuilder &builder, Region &region, ValueRange args,
                     function_ref<bool(Operation &, IRMapping &)> replace = {});
} // namespace mlir::attn

#endif // ATTN_IR_ATTNOPS_H
