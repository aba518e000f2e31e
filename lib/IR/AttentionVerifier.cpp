//===- AttentionVerifier.cpp - the attn.attention verifier ----------------===//
//
// The verifier names the offending operand or attribute and the rule it
// breaks, so that a user who built an inconsistent op (by hand, from the
// command line or from Python) can fix it without reading this file.
//
//===----------------------------------------------------------------------===//

#include "RegionVerifier.h"

#include "attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::attn;

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

/// One expected dimension of an operand: its symbolic name, its size where
/// known (kDyn otherwise) and whether 1 is accepted too (broadcast).
struct DimSpec {
  StringRef name;
  int64_t size;
  bool broadcastable = false;
};

bool sizesAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

int64_t ceilDivOrDyn(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? kDyn : (a + b - 1) / b;
}

std::string shapeText(ArrayRef<DimSpec> dims) {
  std::string text = "[";
  for (auto [index, dim] : llvm::enumerate(dims)) {
    if (index)
      text += ", ";
    text += dim.name.str();
    if (dim.broadcastable)
      text += "|1";
  }
  return text + "]";
}

bool isAttnFloat(Type type) {
  return type.isF16() || type.isBF16() || type.isF32();
}

/// Checks every shape and type rule of one attention op. Each check returns
/// failure after emitting a diagnostic of the form
/// "<operand> <rule>, got <what was found>".
class AttentionVerifier {
public:
  explicit AttentionVerifier(AttentionOp op) : op(op) {}

  LogicalResult verify() {
    if (failed(verifyQKV()) || failed(verifyResults()) ||
        failed(verifyScale()) || failed(verifyVarlen()) ||
        failed(verifyMasks()) || failed(verifyScoreMods()) ||
        failed(verifyBlockSparse()) || failed(verifyGate()) ||
        failed(verifySinks()) || failed(verifyPagedKv()))
      return failure();
    return success();
  }

private:
  InFlightDiagnostic error() { return op.emitOpError(); }

  LogicalResult checkShape(StringRef name, Value value,
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
                       << dim.size << " to match " << shapeText(dims)
                       << ", got " << actual;
    }
    return success();
  }

  LogicalResult checkI32(StringRef name, Value value) {
    Type element = cast<RankedTensorType>(value.getType()).getElementType();
    if (!element.isSignlessInteger(32))
      return error() << name << " must hold i32 elements, got " << element;
    return success();
  }

  LogicalResult checkFloat(StringRef name, Value value) {
    Type element = cast<RankedTensorType>(value.getType()).getElementType();
    if (!isAttnFloat(element))
      return error() << name << " must hold f16, bf16 or f32 elements, got "
                     << element;
    return success();
  }

  /// An operand that only makes sense together with an attribute.
  LogicalResult checkPaired(StringRef operand, Value value, StringRef attr,
                            bool attrPresent) {
    if (value && !attrPresent)
      return error() << operand << " is given but no " << attr << " uses it";
    if (!value && attrPresent)
      return error() << attr << " needs the " << operand << " operand";
    return success();
  }

  //===--------------------------------------------------------------------===//
  // q, k, v and results
  //===--------------------------------------------------------------------===//

  LogicalResult verifyQKV() {
    Type qElement = op.getQ().getType().getElementType();
    if (!isAttnFloat(qElement))
      return error() << "q must hold f16, bf16 or f32 elements, got "
                     << qElement;
    for (auto [name, value] :
         {std::pair<StringRef, Value>{"k", op.getK()}, {"v", op.getV()}}) {
      Type element = cast<RankedTensorType>(value.getType()).getElementType();
      if (element != qElement)
        return error() << name << " element type must match q (" << qElement
                       << "), got " << element;
    }

    varlen = op.isVarlen() || op.getCuSeqlensK();
    paged = op.isPagedKv();
    if (varlen && op.getLayout() != Layout::bshd)
      return error() << "varlen (cu_seqlens) operands need layout bshd "
                        "(packed [tokens, heads, dim]), got layout "
                     << stringifyLayout(op.getLayout());
    int64_t rank = varlen ? 3 : 4;
    StringRef rankText = varlen ? "[T, H, D] (varlen)"
                         : op.getLayout() == Layout::bshd
                             ? "[B, S, H, D] (bshd)"
                             : "[B, H, S, D] (bhsd)";
    StringRef pageText = paged && op.getPagedKvAttr().getLayout() ==
                                      PagedLayout::hnd
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
      return error() << "k batch must equal q batch (" << shape.batch
                     << "), got " << kShape.batch;
    if (!varlen && !sizesAgree(shape.batch, vShape.batch))
      return error() << "v batch must equal q batch (" << shape.batch
                     << "), got " << vShape.batch;
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
  ProblemShape shapeOf(Value value) {
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

  LogicalResult verifyResults() {
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

  LogicalResult verifyScale() {
    if (FloatAttr scale = op.getScaleAttr()) {
      double value = scale.getValueAsDouble();
      if (!(value > 0.0) || !std::isfinite(value))
        return error() << "scale must be a finite number > 0, got " << value;
    }
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Varlen
  //===--------------------------------------------------------------------===//

  LogicalResult verifyVarlen() {
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

  //===--------------------------------------------------------------------===//
  // Masks
  //===--------------------------------------------------------------------===//

  /// Which operand- or region-backed atoms the mask tree uses.
  struct MaskUses {
    bool document = false;
    bool custom = false;
    bool region = false;
  };

  LogicalResult collectMaskUses(ArrayAttr masks, StringRef where,
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

  LogicalResult verifyMasks() {
    if (ArrayAttr masks = op.getMasksAttr())
      if (failed(collectMaskUses(masks, "masks", maskUses)))
        return failure();
    if (failed(checkPaired("doc_ids_q", op.getDocIdsQ(), "#attn.document mask",
                           maskUses.document)) ||
        failed(checkPaired("doc_ids_kv", op.getDocIdsKv(),
                           "#attn.document mask", maskUses.document)) ||
        failed(checkPaired("custom_mask", op.getCustomMask(),
                           "#attn.custom_mask mask", maskUses.custom)))
      return failure();
    if (maskUses.document && failed(verifyDocumentIds()))
      return failure();
    if (maskUses.custom && failed(verifyCustomMask()))
      return failure();
    return success();
  }

  LogicalResult verifyDocumentIds() {
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

  LogicalResult verifyCustomMask() {
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

  int64_t kvSeq() { return shapeOf(op.getK()).seqQ; }
  int64_t kvHeads() { return shapeOf(op.getK()).headsQ; }

  //===--------------------------------------------------------------------===//
  // Score modifications
  //===--------------------------------------------------------------------===//

  LogicalResult verifyScoreMods() {
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
        return error() << "alibi_slopes must hold f32 elements, got "
                       << element;
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

  //===--------------------------------------------------------------------===//
  // Sparsity, gates, sinks
  //===--------------------------------------------------------------------===//

  LogicalResult verifyBlockSparse() {
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

  LogicalResult verifyGate() {
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
      alphaDims = {
          {"B", shape.batch}, {"Hq", shape.headsQ}, {"Sq", shape.seqQ}};
      deltaDims = {{"B", shape.batch}, {"Hkv", kvHeads()}, {"Sk", kvSeq()}};
    }
    if (failed(checkFloat("gate_alpha", op.getGateAlpha())) ||
        failed(checkShape("gate_alpha", op.getGateAlpha(), alphaDims)) ||
        failed(checkFloat("gate_delta", op.getGateDelta())) ||
        failed(checkShape("gate_delta", op.getGateDelta(), deltaDims)))
      return failure();
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Paged KV cache
  //===--------------------------------------------------------------------===//

  LogicalResult verifyPagedKv() {
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
    for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"k", kType},
                              {"v", vType}})
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
    return failure(
        failed(checkShape("kv_page_indptr", op.getKvPageIndptr(),
                          {{"B+1", batchPlusOne}})) ||
        failed(checkShape("kv_page_indices", op.getKvPageIndices(),
                          {{"pages listed", kDyn}})) ||
        failed(checkShape("kv_last_page_len", op.getKvLastPageLen(),
                          {{"B", shape.batch}})));
  }

  LogicalResult verifySinks() {
    Value sinks = op.getSinks();
    if (!sinks)
      return success();
    if (failed(checkFloat("sinks", sinks)) ||
        failed(checkShape("sinks", sinks, {{"Hq", shape.headsQ}})))
      return failure();
    return success();
  }

  AttentionOp op;
  bool varlen = false;
  bool paged = false;
  ProblemShape shape{};
  MaskUses maskUses;
};

/// Whether the mask tree references the mask_mod region.
bool usesMaskMod(ArrayAttr masks) {
  return masks && llvm::any_of(masks, [](Attribute attr) {
           if (auto orMask = dyn_cast<OrMaskAttr>(attr))
             return usesMaskMod(orMask.getMembers());
           return isa<MaskModAttr>(attr);
         });
}
} // namespace

LogicalResult AttentionOp::verify() {
  return AttentionVerifier(*this).verify();
}

LogicalResult AttentionOp::verifyRegions() {
  MLIRContext *ctx = getContext();
  Type index = IndexType::get(ctx);
  Type f32 = Float32Type::get(ctx);

  bool maskModUsed = usesMaskMod(getMasksAttr());
  if (maskModUsed != !getMaskMod().empty())
    return emitOpError() << (maskModUsed
                                 ? "#attn.mask_mod mask needs a mask_mod region"
                                 : "mask_mod region is given but no "
                                   "#attn.mask_mod mask uses it");
  if (maskModUsed &&
      failed(verifyFunctionRegion(
          *this, getMaskMod(), "mask_mod", {index, index, index, index},
          "(b, h, q_idx, kv_idx : index)", IntegerType::get(ctx, 1))))
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
                                   StringRef name, TypeRange argTypes,
                                   StringRef signature, TypeRange resultType) {
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
