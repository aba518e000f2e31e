//===- RegionVerifier.h - checks of function-like op regions -----*- C++
//-*-===//
//
// Shared by the attn.attention verifier (mask_mod / score_mod regions),
// attn.block_mask (its mask_mod region) and attn.tile_update (its element
// region).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_IR_REGIONVERIFIER_H
#define ATTN_LIB_IR_REGIONVERIFIER_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"

namespace mlir::attn {

/// Checks that `region` is one block with the given argument types whose
/// attn.yield returns `resultType`; `signature` spells the arguments for
/// the diagnostic.
LogicalResult verifyFunctionRegion(Operation *op, Region &region,
                                   StringRef name, TypeRange argTypes,
                                   StringRef signature, TypeRange resultType);

/// The first atom of the mask tree `masks` (members of #attn.or included)
/// that `matches`, or null.
Attribute findMaskAtom(ArrayAttr masks, function_ref<bool(Attribute)> matches);

/// Whether the mask tree `masks` (members of #attn.or included) holds an
/// #attn.mask_mod atom.
bool masksUseMaskMod(ArrayAttr masks);

/// Checks that `maskMod` is given exactly where an #attn.mask_mod atom of
/// `masks` uses it, and that it takes (b, h, q_idx, kv_idx : index) and
/// yields i1.
LogicalResult verifyMaskModRegion(Operation *op, ArrayAttr masks,
                                  Region &maskMod);

} // namespace mlir::attn

#endif // ATTN_LIB_IR_REGIONVERIFIER_H
