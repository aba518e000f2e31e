//===- AttentionOperandsVerifier.cpp - attn.attention verifier, part 2 ----===//
//
// The verifier's checks of score modifications, block sparsity, gates,
// sinks, the paged KV cache and the fp8 KV scales (AttentionVerifier.h).
//
//===----------------------------------------------------------------------===//

#include "AttentionVerifier.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::detail;

LogicalResult AttentionVerifier::verifyScoreMods() {
  bool alibi = false, bias = false;
  if (ArrayAttr mods = op.getScoreModsAttr()) {
    for (Attribute attr : mods) {
      if (!isa<ScoreModAttrInterface>(attr))
        return error() << "score_mods elements must be score modification "
                          "attributes (#attn.softcap, #attn.alibi, "
                          "#attn.bias, #attn.score_mod), got "
                       << attr;
      alibi |= isa<AlibiAttr>(attr);
      bias |= isa<BiasAttr>(attr);
    }
  }
  if (failed(checkPaired("alibi_slopes", op.getAlibiSlopes(),
                         "#attn.alibi score_mod", alibi)) ||
      failed(checkPaired("bias", op.getBias(), "#attn.bias score_mod", bias)))
    return failure();
  if (Value slopes = op.getAlibiSlopes()) {
    Type element = cast<RankedTensorType>(slopes.getType()).getElementType();
    if (!element.isF32())
      return error() << "alibi_slopes must hold f32 elements, got " << element;
    if (cast<RankedTensorType>(slopes.getType()).getRank() == 2) {
      if (failed(checkShape("alibi_slopes", slopes,
                            {{"B", shape.batch}, {"Hq", shape.headsQ}})))
        return failure();
    } else if (failed(checkShape("alibi_slopes", slopes,
                                 {{"Hq", shape.headsQ}}))) {
      return failure();
    }
  }
  if (Value biasValue = op.getBias()) {
    if (failed(checkFloat("bias", biasValue)) ||
        failed(checkShape("bias", biasValue,
                          {{"B", shape.batch, true},
                           {"Hq", shape.headsQ, true},
                           {"Sq", shape.seqQ},
                           {"Sk", kvSeq()}})))
      return failure();
  }
  return success();
}

LogicalResult AttentionVerifier::verifyBlockSparse() {
  BlockSparseAttr blocks = op.getBlockSparseAttr();
  bool present = static_cast<bool>(blocks);
  if (failed(checkPaired("kv_num_blocks", op.getKvNumBlocks(),
                         "#attn.block_sparse attribute", present)) ||
      failed(checkPaired("kv_indices", op.getKvIndices(),
                         "#attn.block_sparse attribute", present)))
    return failure();
  if (static_cast<bool>(op.getFullKvNumBlocks()) !=
      static_cast<bool>(op.getFullKvIndices()))
    return error() << "full_kv_num_blocks and full_kv_indices must be given "
                      "together";
  if (op.getFullKvNumBlocks() && !present)
    return error() << "full_kv_num_blocks is given but no "
                      "#attn.block_sparse attribute uses it";
  if (!present)
    return success();
  if (SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr();
      sparse && sparse.getKvBlock() != blocks.getKvBlock())
    return error() << "sparse_softmax kv_block (" << sparse.getKvBlock()
                   << ") must equal block_sparse kv_block ("
                   << blocks.getKvBlock()
                   << "): both define the key blocks that are visited";
  int64_t qBlocks = ceilDivOrDyn(shape.seqQ, blocks.getQBlock());
  int64_t kvBlocks = ceilDivOrDyn(kvSeq(), blocks.getKvBlock());
  SmallVector<DimSpec> countDims = {{"B", shape.batch, true},
                                    {"Hq", shape.headsQ, true},
                                    {"ceil(Sq/q_block)", qBlocks}};
  SmallVector<DimSpec> indexDims = countDims;
  indexDims.push_back({"ceil(Sk/kv_block)", kvBlocks});
  for (auto [name, value, dims] :
       {std::tuple<StringRef, Value, ArrayRef<DimSpec>>{
            "kv_num_blocks", op.getKvNumBlocks(), countDims},
        {"kv_indices", op.getKvIndices(), indexDims},
        {"full_kv_num_blocks", op.getFullKvNumBlocks(), countDims},
        {"full_kv_indices", op.getFullKvIndices(), indexDims}}) {
    if (value && (failed(checkI32(name, value)) ||
                  failed(checkShape(name, value, dims))))
      return failure();
  }
  return success();
}

LogicalResult AttentionVerifier::verifyGate() {
  bool present = static_cast<bool>(op.getGateAttr());
  if (failed(checkPaired("gate_alpha", op.getGateAlpha(),
                         "#attn.gate attribute", present)) ||
      failed(checkPaired("gate_delta", op.getGateDelta(),
                         "#attn.gate attribute", present)))
    return failure();
  if (!present)
    return success();
  SmallVector<DimSpec> alphaDims, deltaDims;
  if (varlen) {
    alphaDims = {{"Hq", shape.headsQ}, {"Tq", shape.seqQ}};
    deltaDims = {{"Hkv", kvHeads()}, {"Tk", kvSeq()}};
  } else {
    alphaDims = {{"B", shape.batch}, {"Hq", shape.headsQ}, {"Sq", shape.seqQ}};
    deltaDims = {{"B", shape.batch}, {"Hkv", kvHeads()}, {"Sk", kvSeq()}};
  }
  if (failed(checkFloat("gate_alpha", op.getGateAlpha())) ||
      failed(checkShape("gate_alpha", op.getGateAlpha(), alphaDims)) ||
      failed(checkFloat("gate_delta", op.getGateDelta())) ||
      failed(checkShape("gate_delta", op.getGateDelta(), deltaDims)))
    return failure();
  return success();
}

LogicalResult AttentionVerifier::verifyPagedKv() {
  std::pair<StringRef, Value> table[] = {
      {"kv_page_indptr", op.getKvPageIndptr()},
      {"kv_page_indices", op.getKvPageIndices()},
      {"kv_last_page_len", op.getKvLastPageLen()}};
  for (auto [name, value] : table)
    if (failed(checkPaired(name, value, "#attn.paged_kv attribute", paged)))
      return failure();
  if (!paged)
    return success();
  // Operands indexed by key position of a packed or dense K: not yet.
  std::pair<StringRef, bool> unsupported[] = {
      {"seqused_k (kv_last_page_len gives each sequence's length)",
       static_cast<bool>(op.getSequsedK())},
      {"seqused_q", static_cast<bool>(op.getSequsedQ())},
      {"doc_ids_q/doc_ids_kv", static_cast<bool>(op.getDocIdsKv())},
      {"a dense custom_mask (with ragged queries, the flat one works)",
       op.getCustomMask() && !varlen},
      {"bias", static_cast<bool>(op.getBias())},
      {"a gate", static_cast<bool>(op.getGateAttr())},
      {"block_sparse", static_cast<bool>(op.getBlockSparseAttr())}};
  for (auto [what, present] : unsupported)
    if (present)
      return error() << what << " cannot be combined with paged_kv yet";
  PagedKvAttr attr = op.getPagedKvAttr();
  unsigned pageDim = attr.getLayout() == PagedLayout::nhd ? 1 : 2;
  auto kType = op.getK().getType(), vType = op.getV().getType();
  for (auto [name, type] :
       {std::pair<StringRef, RankedTensorType>{"k", kType}, {"v", vType}})
    if (!sizesAgree(type.getDimSize(pageDim), attr.getPageSize()))
      return error() << name << " dimension " << pageDim
                     << " (page_size) must be " << attr.getPageSize()
                     << " (paged_kv page_size), got "
                     << type.getDimSize(pageDim);
  if (!sizesAgree(kType.getDimSize(0), vType.getDimSize(0)))
    return error() << "v must have as many pages as k (" << kType.getDimSize(0)
                   << "), got " << vType.getDimSize(0);
  for (auto [name, value] : table)
    if (failed(checkI32(name, value)))
      return failure();
  int64_t batchPlusOne =
      ShapedType::isDynamic(shape.batch) ? kDyn : shape.batch + 1;
  return failure(failed(checkShape("kv_page_indptr", op.getKvPageIndptr(),
                                   {{"B+1", batchPlusOne}})) ||
                 failed(checkShape("kv_page_indices", op.getKvPageIndices(),
                                   {{"pages listed", kDyn}})) ||
                 failed(checkShape("kv_last_page_len", op.getKvLastPageLen(),
                                   {{"B", shape.batch}})));
}

LogicalResult AttentionVerifier::verifySinks() {
  Value sinks = op.getSinks();
  if (!sinks)
    return success();
  if (failed(checkFloat("sinks", sinks)) ||
      failed(checkShape("sinks", sinks, {{"Hq", shape.headsQ}})))
    return failure();
  return success();
}

LogicalResult AttentionVerifier::verifyKvScales() {
  bool fp8 = op.hasFp8Kv();
  for (auto [name, scale] :
       {std::pair<StringRef, Value>{"k_scale", op.getKScale()},
        {"v_scale", op.getVScale()}}) {
    if (!scale)
      continue;
    if (!fp8)
      return error() << name
                     << " dequantizes an fp8 KV cache: it needs f8E4M3FN k/v, "
                        "got "
                     << op.getK().getType().getElementType();
    auto type = cast<RankedTensorType>(scale.getType());
    if (!type.getElementType().isF32() || type.getRank() != 1 ||
        type.getDimSize(0) != 1)
      return error() << name << " must be an f32 tensor of shape [1], got "
                     << type;
  }
  return success();
}
