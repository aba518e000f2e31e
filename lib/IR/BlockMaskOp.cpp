//===- BlockMaskOp.cpp - the attn.block_mask verifier ---------------------===//
//
// attn.block_mask classifies blocks under masks that need no operand of
// attn.attention: closed-form atoms and the mask_mod region (which reads
// its own captured tensors). Its results are FlexAttention's four block
// lists, i32 [B, H, NQ] and [B, H, NQ, NK], whose sizes must agree.
//
//===----------------------------------------------------------------------===//

#include "RegionVerifier.h"

#include "attn/IR/AttnOps.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Whether two sizes (either possibly dynamic) can be equal.
bool agree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}
} // namespace

LogicalResult BlockMaskOp::verify() {
  if (ArrayAttr masks = getMasksAttr()) {
    for (Attribute attr : masks)
      if (!isa<MaskAttrInterface>(attr))
        return emitOpError() << "masks elements must be mask attributes "
                                "(#attn.causal, #attn.mask_mod, ...), got "
                             << attr;
    // Document ids and custom masks are operands of attn.attention.
    if (Attribute needsOperand =
            findMaskAtom(masks, llvm::IsaPred<DocumentAttr, CustomMaskAttr>))
      return emitOpError()
             << needsOperand
             << " reads an operand of attn.attention; attn.block_mask takes "
                "closed-form masks and #attn.mask_mod (capture document ids "
                "in the mask_mod region)";
  }
  // Rank and element type of each list, then the sizes they share: B, H
  // and NQ for all four, NK for the two index lists.
  struct List {
    StringRef name;
    RankedTensorType type;
    int64_t rank;
  };
  List lists[] = {{"kv_num_blocks", getKvNumBlocks().getType(), 3},
                  {"kv_indices", getKvIndices().getType(), 4},
                  {"full_kv_num_blocks", getFullKvNumBlocks().getType(), 3},
                  {"full_kv_indices", getFullKvIndices().getType(), 4}};
  for (const List &list : lists) {
    if (list.type.getRank() != list.rank)
      return emitOpError() << list.name << " must have rank " << list.rank
                           << (list.rank == 3 ? " [B, H, NQ]"
                                              : " [B, H, NQ, NK]")
                           << ", got " << list.type;
    if (!list.type.getElementType().isSignlessInteger(32))
      return emitOpError() << list.name << " must hold i32 elements, got "
                           << list.type.getElementType();
  }
  static constexpr StringLiteral dimNames[] = {"B", "H", "NQ", "NK"};
  for (const List &list : ArrayRef(lists).drop_front())
    for (int64_t d = 0; d < list.rank; ++d) {
      const List &first = d < 3 ? lists[0] : lists[1];
      if (!agree(list.type.getDimSize(d), first.type.getDimSize(d)))
        return emitOpError()
               << list.name << " dimension " << d << " (" << dimNames[d]
               << ") is " << list.type.getDimSize(d) << " but " << first.name
               << "'s is " << first.type.getDimSize(d);
    }
  return success();
}

LogicalResult BlockMaskOp::verifyRegions() {
  return verifyMaskModRegion(*this, getMasksAttr(), getMaskMod());
}
