//===- AttentionVerifier.cpp - the attn.attention verifier ----------------===//
//
// The verifier names the offending operand or attribute and the rule it
// breaks, so that a user who built an inconsistent op (by hand, from the
// command line or from Python) can fix it without reading this file. This
// file: q/k/v, results, scale, varlen, masks, regions.
//
//===----------------------------------------------------------------------===//

#include "AttentionVerifier.h"
#include "RegionVerifier.h"

#include "mlir/IR/Builders.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::detail;

LogicalResult AttentionVerifier::checkShape(StringRef name, Value value,
                                            ArrayRef<DimSpec> dims) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != static_cast<int64_t>(dims.size()))
    return error() << name << " must have rank " << dims.size() << " "
                   << shapeText(dims) << ", got " << type;
  for (auto [index, dim] : llvm::enumerate(dims)) {
    int64_t actual = type.getDimSize(index);
    if (dim.broadcastable && actual == 1)
      continue;
    if (!sizesAgree(actual, dim.size))
      return error() << name << " dimension " << index << " (" << dim.name
                     << ") must be " << (dim.broadcastable ? "1 or " : "")
                     << dim.size << " to match " << shapeText(dims) << ", got "
                     << actual;
  }
  return success();
}

LogicalResult AttentionVerifier::checkI32(StringRef name, Value value) {
  Type element = cast<RankedTensorType>(value.getType()).getElementType();
  if (!element.isSignlessInteger(32))
    return error() << name << " must hold i32 elements, got " << element;
  return success();
}

LogicalResult AttentionVerifier::checkFloat(StringRef name, Value value) {
  Type element = cast<RankedTensorType>(value.getType()).getElementType();
  if (!isAttnFloat(element))
    return error() << name << " must hold f16, bf16 or f32 elements, got "
                   << element;
  return success();
}

/// An operand that only makes sense together with an attribute.
LogicalResult AttentionVerifier::checkPaired(StringRef operand, Value value,
                                             StringRef attr, bool attrPresent) {
  if (value && !attrPresent)
    return error() << operand << " is given but no " << attr << " uses it";
  if (!value && attrPresent)
    return error() << attr << " needs the " << operand << " operand";
  return success();
}

LogicalResult AttentionVerifier::verifyQKV() {
  Type qElement = op.getQ().getType().getElementType();
  if (!isAttnFloat(qElement))
    return error() << "q must hold f16, bf16 or f32 elements, got " << qElement;
  // An fp8 KV cache: k and v both f8E4M3FN, dequantized to q's f16/bf16.
  Type kElement = op.getK().getType().getElementType();
  Type vElement = op.getV().getType().getElementType();
  if (isa<Float8E4M3FNType>(kElement) || isa<Float8E4M3FNType>(vElement)) {
    if (kElement != vElement)
      return error() << "k and v must both hold f8E4M3FN (an fp8 KV cache), "
                        "got "
                     << kElement << " and " << vElement;
    if (!qElement.isF16() && !qElement.isBF16())
      return error() << "f8E4M3FN k/v need f16 or bf16 q, got " << qElement;
  } else {
    for (auto [name, element] :
         {std::pair<StringRef, Type>{"k", kElement}, {"v", vElement}})
      if (element != qElement)
        return error() << name << " element type must match q (" << qElement
                       << ") or be f8E4M3FN, got " << element;
  }

  varlen = op.isVarlen() || op.getCuSeqlensK();
  paged = op.isPagedKv();
  if (varlen && op.getLayout() != Layout::bshd)
    return error() << "varlen (cu_seqlens) operands need layout bshd "
                      "(packed [tokens, heads, dim]), got layout "
                   << stringifyLayout(op.getLayout());
  int64_t rank = varlen ? 3 : 4;
  StringRef rankText = varlen                           ? "[T, H, D] (varlen)"
                       : op.getLayout() == Layout::bshd ? "[B, S, H, D] (bshd)"
                                                        : "[B, H, S, D] (bhsd)";
  StringRef pageText =
      paged && op.getPagedKvAttr().getLayout() == PagedLayout::hnd
          ? "[pages, Hkv, page_size, D] (paged_kv hnd)"
          : "[pages, page_size, Hkv, D] (paged_kv nhd)";
  for (auto [name, value] : {std::pair<StringRef, Value>{"q", op.getQ()},
                             {"k", op.getK()},
                             {"v", op.getV()}}) {
    bool pages = paged && name != "q";
    int64_t want = pages ? 4 : rank;
    int64_t actual = cast<RankedTensorType>(value.getType()).getRank();
    if (actual != want)
      return error() << name << " must have rank " << want << " "
                     << (pages ? pageText : rankText) << ", got rank "
                     << actual;
  }

  shape = op.getProblemShape();
  ProblemShape kShape = shapeOf(op.getK());
  ProblemShape vShape = shapeOf(op.getV());
  for (auto [name, size] : {std::pair<StringRef, int64_t>{"q", shape.headDim},
                            {"k", kShape.headDim},
                            {"v", vShape.headDim}}) {
    if (ShapedType::isDynamic(size))
      return error() << name << " head_dim must be static";
    if (size < 8 || size > 256 || size % 8 != 0)
      return error() << name
                     << " head_dim must be a multiple of 8 in [8, 256], got "
                     << size;
  }
  if (kShape.headDim != shape.headDim)
    return error() << "k head_dim must equal q head_dim (" << shape.headDim
                   << "), got " << kShape.headDim;
  shape.headDimV = vShape.headDim;
  if (!varlen && !sizesAgree(shape.batch, kShape.batch))
    return error() << "k batch must equal q batch (" << shape.batch << "), got "
                   << kShape.batch;
  if (!varlen && !sizesAgree(shape.batch, vShape.batch))
    return error() << "v batch must equal q batch (" << shape.batch << "), got "
                   << vShape.batch;
  if (!sizesAgree(kShape.seqQ, vShape.seqQ))
    return error() << "v sequence length must equal k sequence length ("
                   << kShape.seqQ << "), got " << vShape.seqQ;
  if (!sizesAgree(kShape.headsQ, vShape.headsQ))
    return error() << "v heads must equal k heads (" << kShape.headsQ
                   << "), got " << vShape.headsQ;
  if (!ShapedType::isDynamic(shape.headsQ) &&
      !ShapedType::isDynamic(kShape.headsQ) &&
      shape.headsQ % kShape.headsQ != 0)
    return error() << "q heads (" << shape.headsQ
                   << ") must be a multiple of k/v heads (" << kShape.headsQ
                   << ") for GQA/MQA";
  return success();
}

/// The sizes of a q/k/v-shaped value under the op's layout; for k and v,
/// seqQ/headsQ hold their sequence length and heads.
ProblemShape AttentionVerifier::shapeOf(Value value) {
  ArrayRef<int64_t> dims = cast<RankedTensorType>(value.getType()).getShape();
  if (paged && value != op.getQ()) {
    // Pages: no batch, and lengths come from the page table.
    bool nhd = op.getPagedKvAttr().getLayout() == PagedLayout::nhd;
    return {kDyn, kDyn, kDyn, nhd ? dims[2] : dims[1], kDyn, dims[3], dims[3]};
  }
  if (varlen)
    return {kDyn, dims[0], kDyn, dims[1], kDyn, dims[2], dims[2]};
  bool bshd = op.getLayout() == Layout::bshd;
  return {dims[0], bshd ? dims[1] : dims[2],
          kDyn,    bshd ? dims[2] : dims[1],
          kDyn,    dims[3],
          dims[3]};
}

LogicalResult AttentionVerifier::verifyResults() {
  auto outType = op.getOut().getType();
  if (outType.getElementType() != op.getQ().getType().getElementType())
    return error() << "out element type must match q ("
                   << op.getQ().getType().getElementType() << "), got "
                   << outType.getElementType();
  SmallVector<DimSpec> outDims;
  if (varlen)
    outDims = {
        {"Tq", shape.seqQ}, {"Hq", shape.headsQ}, {"Dv", shape.headDimV}};
  else if (op.getLayout() == Layout::bshd)
    outDims = {{"B", shape.batch},
               {"Sq", shape.seqQ},
               {"Hq", shape.headsQ},
               {"Dv", shape.headDimV}};
  else
    outDims = {{"B", shape.batch},
               {"Hq", shape.headsQ},
               {"Sq", shape.seqQ},
               {"Dv", shape.headDimV}};
  if (failed(checkShape("out", op.getOut(), outDims)))
    return failure();

  Value lse = op.getLse();
  if (!lse)
    return success();
  Type lseElement = cast<RankedTensorType>(lse.getType()).getElementType();
  if (!lseElement.isF32())
    return error() << "lse must hold f32 elements, got " << lseElement;
  if (varlen)
    return checkShape("lse", lse, {{"Hq", shape.headsQ}, {"Tq", shape.seqQ}});
  return checkShape(
      "lse", lse,
      {{"B", shape.batch}, {"Hq", shape.headsQ}, {"Sq", shape.seqQ}});
}

LogicalResult AttentionVerifier::verifyScale() {
  if (FloatAttr scale = op.getScaleAttr()) {
    double value = scale.getValueAsDouble();
    if (!(value > 0.0) || !std::isfinite(value))
      return error() << "scale must be a finite number > 0, got " << value;
  }
  return success();
}

LogicalResult AttentionVerifier::verifyVarlen() {
  Value cuQ = op.getCuSeqlensQ(), cuK = op.getCuSeqlensK();
  if (paged && cuK)
    return error() << "cu_seqlens_k cannot be given with paged_kv: the page "
                      "table (kv_page_indptr) places each sequence's keys";
  if (!cuQ || (!cuK && !paged)) {
    if (cuQ || cuK)
      return error() << "cu_seqlens_q and cu_seqlens_k must be given "
                        "together (or cu_seqlens_q alone with paged_kv)";
    // Dense: seqused_q/k [B] shorten each batch entry's sequences (keys
    // past seqused_k[b] are never read; rows past seqused_q[b] give 0).
    for (auto [name, value] :
         {std::pair<StringRef, Value>{"seqused_q", op.getSequsedQ()},
          {"seqused_k", op.getSequsedK()}})
      if (value && (failed(checkI32(name, value)) ||
                    failed(checkShape(name, value, {{"B", shape.batch}}))))
        return failure();
    return success();
  }
  int64_t batchPlusOne =
      cast<RankedTensorType>(cuQ.getType()).getRank() == 1
          ? cast<RankedTensorType>(cuQ.getType()).getDimSize(0)
          : kDyn;
  for (auto [name, value] : {std::pair<StringRef, Value>{"cu_seqlens_q", cuQ},
                             {"cu_seqlens_k", cuK}}) {
    if (!value)
      continue;
    if (failed(checkI32(name, value)) ||
        failed(checkShape(name, value, {{"B+1", batchPlusOne}})))
      return failure();
  }
  if (batchPlusOne != kDyn && batchPlusOne < 2)
    return error() << "cu_seqlens_q must hold at least 2 offsets (B+1 with "
                      "B >= 1), got "
                   << batchPlusOne;
  int64_t batch = batchPlusOne == kDyn ? kDyn : batchPlusOne - 1;
  for (auto [name, value] :
       {std::pair<StringRef, Value>{"seqused_q", op.getSequsedQ()},
        {"seqused_k", op.getSequsedK()}}) {
    if (value && (failed(checkI32(name, value)) ||
                  failed(checkShape(name, value, {{"B", batch}}))))
      return failure();
  }
  if (op.getBias())
    return error() << "bias is not supported with varlen (cu_seqlens); "
                      "express it as a score_mod region";
  if (op.getKvNumBlocks())
    return error() << "block_sparse operands are not supported with varlen "
                      "(cu_seqlens); use masks instead";
  return success();
}

LogicalResult AttentionVerifier::collectMaskUses(ArrayAttr masks,
                                                 StringRef where,
                                                 MaskUses &uses) {
  for (Attribute attr : masks) {
    if (!isa<MaskAttrInterface>(attr))
      return error() << where << " elements must be mask attributes "
                     << "(#attn.causal, #attn.sliding_window, ...), got "
                     << attr;
    if (isa<DocumentAttr>(attr))
      uses.document = true;
    else if (isa<CustomMaskAttr>(attr))
      uses.custom = true;
    else if (isa<MaskModAttr>(attr))
      uses.region = true;
    else if (auto orMask = dyn_cast<OrMaskAttr>(attr))
      if (failed(collectMaskUses(orMask.getMembers(), "or", uses)))
        return failure();
  }
  return success();
}

LogicalResult AttentionVerifier::verifyMasks() {
  if (ArrayAttr masks = op.getMasksAttr())
    if (failed(collectMaskUses(masks, "masks", maskUses)))
      return failure();
  if (failed(checkPaired("doc_ids_q", op.getDocIdsQ(), "#attn.document mask",
                         maskUses.document)) ||
      failed(checkPaired("doc_ids_kv", op.getDocIdsKv(), "#attn.document mask",
                         maskUses.document)) ||
      failed(checkPaired("custom_mask", op.getCustomMask(),
                         "#attn.custom_mask mask", maskUses.custom)))
    return failure();
  if (maskUses.document && failed(verifyDocumentIds()))
    return failure();
  if (maskUses.custom && failed(verifyCustomMask()))
    return failure();
  return success();
}

LogicalResult AttentionVerifier::verifyDocumentIds() {
  for (auto [name, value, seq, seqName] :
       {std::tuple<StringRef, Value, int64_t, StringRef>{
            "doc_ids_q", op.getDocIdsQ(), shape.seqQ, varlen ? "Tq" : "Sq"},
        {"doc_ids_kv", op.getDocIdsKv(), kvSeq(), varlen ? "Tk" : "Sk"}}) {
    Type element = cast<RankedTensorType>(value.getType()).getElementType();
    if (!element.isSignlessInteger() || element.isInteger(1))
      return error() << name << " must hold integer document ids, got "
                     << element;
    SmallVector<DimSpec> dims;
    if (!varlen)
      dims.push_back({"B", shape.batch});
    dims.push_back({seqName, seq});
    if (failed(checkShape(name, value, dims)))
      return failure();
  }
  return success();
}

LogicalResult AttentionVerifier::verifyCustomMask() {
  Value mask = op.getCustomMask();
  Type element = cast<RankedTensorType>(mask.getType()).getElementType();
  bool packed = element.isInteger(8);
  if (!element.isInteger(1) && !packed)
    return error() << "custom_mask must hold i1 (one per pair) or i8 "
                      "(packed bits) elements, got "
                   << element;
  if (varlen)
    return checkShape("custom_mask", mask, {{"sum(q_len*k_len)", kDyn}});
  DimSpec last = packed ? DimSpec{"ceil(Sk/8)", ceilDivOrDyn(kvSeq(), 8)}
                        : DimSpec{"Sk", kvSeq()};
  return checkShape("custom_mask", mask,
                    {{"B", shape.batch, true},
                     {"Hq", shape.headsQ, true},
                     {"Sq", shape.seqQ},
                     last});
}

LogicalResult AttentionOp::verify() {
  return AttentionVerifier(*this).verify();
}

LogicalResult AttentionOp::verifyRegions() {
  MLIRContext *ctx = getContext();
  Type index = IndexType::get(ctx);
  Type f32 = Float32Type::get(ctx);

  if (failed(verifyMaskModRegion(*this, getMasksAttr(), getMaskMod())))
    return failure();

  ArrayAttr mods = getScoreModsAttr();
  bool scoreModUsed = mods && llvm::any_of(mods, [](Attribute attr) {
                        return isa<ScoreModRegionAttr>(attr);
                      });
  if (scoreModUsed != !getScoreMod().empty())
    return emitOpError() << (scoreModUsed
                                 ? "#attn.score_mod needs a score_mod region"
                                 : "score_mod region is given but no "
                                   "#attn.score_mod uses it");
  if (scoreModUsed &&
      failed(verifyFunctionRegion(
          *this, getScoreMod(), "score_mod", {f32, index, index, index, index},
          "(score : f32, b, h, q_idx, kv_idx : index)", f32)))
    return failure();
  return success();
}

/// Checks that `region` is one block with the given argument types whose
/// attn.yield returns `resultType`.
LogicalResult mlir::attn::verifyFunctionRegion(Operation *op, Region &region,
                                               StringRef name,
                                               TypeRange argTypes,
                                               StringRef signature,
                                               TypeRange resultType) {
  if (!region.hasOneBlock())
    return op->emitOpError() << name << " region must have exactly one block";
  Block &block = region.front();
  if (block.getArgumentTypes() != argTypes)
    return op->emitOpError()
           << name << " region must take " << signature << ", got "
           << block.getNumArguments() << " argument(s)";
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op->emitOpError() << name << " region must end with attn.yield";
  if (yield.getValues().getTypes() != TypeRange(resultType))
    return op->emitOpError() << name << " region must yield " << resultType
                             << ", got " << yield.getValues().getTypes();
  return success();
}

Attribute mlir::attn::findMaskAtom(ArrayAttr masks,
                                   function_ref<bool(Attribute)> matches) {
  if (!masks)
    return nullptr;
  for (Attribute attr : masks) {
    if (auto orMask = dyn_cast<OrMaskAttr>(attr)) {
      if (Attribute inner = findMaskAtom(orMask.getMembers(), matches))
        return inner;
    } else if (matches(attr)) {
      return attr;
    }
  }
  return nullptr;
}

bool mlir::attn::masksUseMaskMod(ArrayAttr masks) {
  return findMaskAtom(masks, llvm::IsaPred<MaskModAttr>) != nullptr;
}

LogicalResult mlir::attn::verifyMaskModRegion(Operation *op, ArrayAttr masks,
                                              Region &maskMod) {
  bool used = masksUseMaskMod(masks);
  if (used != !maskMod.empty())
    return op->emitOpError()
           << (used ? "#attn.mask_mod mask needs a mask_mod region"
                    : "mask_mod region is given but no #attn.mask_mod mask "
                      "uses it");
  if (!used)
    return success();
  MLIRContext *ctx = op->getContext();
  Type index = IndexType::get(ctx);
  return verifyFunctionRegion(
      op, maskMod, "mask_mod", {index, index, index, index},
      "(b, h, q_idx, kv_idx : index)", IntegerType::get(ctx, 1));
}
