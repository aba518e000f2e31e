//===- MaskModForms.cpp - forms a mask_mod region takes -------------------===//

#include "attn/Transforms/MaskModForms.h"

#include "attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::attn;

void mlir::attn::collectConjuncts(Value v, SmallVectorImpl<Value> &out) {
  if (auto andOp = v.getDefiningOp<arith::AndIOp>()) {
    collectConjuncts(andOp.getLhs(), out);
    collectConjuncts(andOp.getRhs(), out);
    return;
  }
  out.push_back(v);
}

bool mlir::attn::maskModIsConjunct(ArrayAttr masks) {
  if (!masks || !llvm::any_of(masks, llvm::IsaPred<MaskModAttr>))
    return false;
  return llvm::none_of(masks, [](Attribute atom) {
    auto orMask = dyn_cast<OrMaskAttr>(atom);
    return orMask &&
           llvm::any_of(orMask.getMembers(), llvm::IsaPred<MaskModAttr>);
  });
}

namespace {
/// Bits of an integer or index type (index: 64).
unsigned widthOf(Type type) {
  return isa<IndexType>(type) ? 64 : type.getIntOrFloatBitWidth();
}

/// The tensor.extract `v` is, behind integer widenings that keep equality
/// (index_cast, extsi, extui: the tracer compares ids as index), and the
/// names of those casts (two sides compare alike only through the same
/// ones: sign and zero extension differ); a null op otherwise.
std::pair<tensor::ExtractOp, SmallVector<StringRef>>
extractBehindCasts(Value v) {
  SmallVector<StringRef> casts;
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::IndexCastOp, arith::ExtSIOp, arith::ExtUIOp>(def))
      break;
    if (widthOf(def->getOperand(0).getType()) >
        widthOf(def->getResult(0).getType()))
      return {}; // a narrowing index_cast loses equality
    casts.push_back(def->getName().getStringRef());
    v = def->getOperand(0);
  }
  return {v.getDefiningOp<tensor::ExtractOp>(), casts};
}

/// The captured tensor `extract` reads at the region's index argument
/// `index` (with the batch argument `batch` first for a [B, S] tensor), or
/// null.
Value idsReadAt(tensor::ExtractOp extract, Region &region, Value batch,
                Value index) {
  if (!extract)
    return nullptr;
  Value ids = extract.getTensor();
  if (region.isAncestor(ids.getParentRegion()))
    return nullptr;
  auto type = dyn_cast<IntegerType>(extract.getType());
  if (!type || type.getWidth() < 8 || type.getWidth() > 32)
    return nullptr;
  ValueRange at = extract.getIndices();
  if (at.size() == 1 && at[0] == index)
    return ids;
  if (at.size() == 2 && at[0] == batch && at[1] == index)
    return ids;
  return nullptr;
}
} // namespace

std::optional<CapturedDocument>
mlir::attn::capturedDocumentConjunct(ArrayAttr masks, Region &maskMod) {
  if (!maskModIsConjunct(masks) || maskMod.empty())
    return std::nullopt;
  Block &body = maskMod.front();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1 || body.getNumArguments() != 4)
    return std::nullopt;
  Value batch = body.getArgument(0), i = body.getArgument(2),
        j = body.getArgument(3);
  SmallVector<Value> conjuncts;
  collectConjuncts(yield.getOperand(0), conjuncts);
  for (Value conjunct : conjuncts) {
    auto cmp = conjunct.getDefiningOp<arith::CmpIOp>();
    if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::eq)
      continue;
    auto [lhs, lhsCasts] = extractBehindCasts(cmp.getLhs());
    auto [rhs, rhsCasts] = extractBehindCasts(cmp.getRhs());
    if (lhsCasts != rhsCasts)
      continue;
    for (auto [rowRead, keyRead] : {std::pair{lhs, rhs}, std::pair{rhs, lhs}}) {
      Value idsQ = idsReadAt(rowRead, maskMod, batch, i);
      Value idsKv = idsReadAt(keyRead, maskMod, batch, j);
      if (idsQ && idsKv)
        return CapturedDocument{idsQ, idsKv, conjuncts.size() == 1};
    }
  }
  return std::nullopt;
}
