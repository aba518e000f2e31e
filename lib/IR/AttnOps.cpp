//===- AttnOps.cpp - attn operations --------------------------------------===//
//
// The ops' accessors, the tile ops' verifiers and the region inliner; the
// attn.attention verifier lives in AttentionVerifier.cpp.
//
//===----------------------------------------------------------------------===//

#include "RegionVerifier.h"

#include "attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::attn;

#define GET_OP_CLASSES
#include "attn/IR/AttnOps.cpp.inc"

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;
} // namespace

ProblemShape AttentionOp::getProblemShape() {
  ArrayRef<int64_t> q = getQ().getType().getShape();
  ArrayRef<int64_t> k = getK().getType().getShape();
  ArrayRef<int64_t> v = getV().getType().getShape();
  ProblemShape shape;
  if (isVarlen()) {
    auto cu = cast<RankedTensorType>(getCuSeqlensQ().getType());
    int64_t batch =
        cu.getRank() == 1 && !cu.isDynamicDim(0) ? cu.getDimSize(0) - 1 : kDyn;
    shape = {batch, q[0], k[0], q[1], k.size() > 1 ? k[1] : kDyn,
             q[2],  v.back()};
  } else if (getLayout() == Layout::bshd) {
    shape = {q[0], q[1], k[1], q[2], k[2], q[3], v[3]};
  } else {
    shape = {q[0], q[2], k[2], q[1], k[1], q[3], v[3]};
  }
  // A paged cache: heads from the page layout, lengths from the page table.
  if (PagedKvAttr paged = getPagedKvAttr(); paged && k.size() == 4) {
    shape.seqK = kDyn;
    shape.headsKV = paged.getLayout() == PagedLayout::nhd ? k[2] : k[1];
    shape.headDimV = v.back();
  }
  return shape;
}

double AttentionOp::getEffectiveScale() {
  if (FloatAttr scale = getScaleAttr())
    return scale.getValueAsDouble();
  return 1.0 / std::sqrt(static_cast<double>(getProblemShape().headDim));
}

LogicalResult TileUpdateOp::verifyRegions() {
  if (getElement().empty())
    return success();
  Type index = IndexType::get(getContext());
  Type f32 = Float32Type::get(getContext());
  return verifyFunctionRegion(*this, getElement(), "element",
                              {f32, index, index},
                              "(score : f32, row, col : index)",
                              {f32, IntegerType::get(getContext(), 1)});
}

LogicalResult SoftmaxFinalizeOp::verify() {
  int64_t accCols = getAcc().getType().getDimSize(1);
  int64_t outCols = getOut().getType().getDimSize(1);
  if (!ShapedType::isDynamic(accCols) && !ShapedType::isDynamic(outCols) &&
      accCols != outCols)
    return emitOpError() << "out must have as many columns as acc (" << accCols
                         << "), got " << outCols;
  return success();
}

SmallVector<Value> mlir::attn::inlineYieldingRegion(
    OpBuilder &builder, Region &region, ValueRange args,
    function_ref<bool(Operation &, IRMapping &)> replace) {
  Block &body = region.front();
  IRMapping mapping;
  mapping.map(body.getArguments(), args);
  for (Operation &nested : body.without_terminator())
    if (!replace || !replace(nested, mapping))
      builder.clone(nested, mapping);
  return llvm::map_to_vector(
      cast<YieldOp>(body.getTerminator()).getValues(),
      [&](Value value) { return mapping.lookupOrDefault(value); });
}

SmallVector<std::pair<StringRef, Value>> AttentionOp::getNamedOperands() {
  std::pair<StringRef, Value> all[] = {
      {"q", getQ()},
      {"k", getK()},
      {"v", getV()},
      {"cu_seqlens_q", getCuSeqlensQ()},
      {"cu_seqlens_k", getCuSeqlensK()},
      {"seqused_q", getSequsedQ()},
      {"seqused_k", getSequsedK()},
      {"doc_ids_q", getDocIdsQ()},
      {"doc_ids_kv", getDocIdsKv()},
      {"custom_mask", getCustomMask()},
      {"alibi_slopes", getAlibiSlopes()},
      {"bias", getBias()},
      {"kv_num_blocks", getKvNumBlocks()},
      {"kv_indices", getKvIndices()},
      {"full_kv_num_blocks", getFullKvNumBlocks()},
      {"full_kv_indices", getFullKvIndices()},
      {"sinks", getSinks()},
      {"gate_alpha", getGateAlpha()},
      {"gate_delta", getGateDelta()},
      {"kv_page_indptr", getKvPageIndptr()},
      {"kv_page_indices", getKvPageIndices()},
      {"kv_last_page_len", getKvLastPageLen()},
      {"k_scale", getKScale()},
      {"v_scale", getVScale()}};
  SmallVector<std::pair<StringRef, Value>> present;
  for (auto &named : all)
    if (named.second)
      present.push_back(named);
  return present;
}
