//===- RegionVerifier.h - checks of function-like op regions -----*- C++ -*-===//
//
// Shared by the attn.attention verifier (mask_mod / score_mod regions) and
// attn.tile_update (its element region).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_IR_REGIONVERIFIER_H
#define ATTN_LIB_IR_REGIONVERIFIER_H

#include "mlir/IR/Operation.h"

namespace mlir::attn {

/// Checks that `region` is one block with the given argument types whose
/// attn.yield returns `resultType`; `signature` spells the arguments for
/// the diagnostic.
LogicalResult verifyFunctionRegion(Operation *op, Region &region,
                                   StringRef name, TypeRange argTypes,
                                   StringRef signature, TypeRange resultType);

} // namespace mlir::attn

#endif // ATTN_LIB_IR_REGIONVERIFIER_H
