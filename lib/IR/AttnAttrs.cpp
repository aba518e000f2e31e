//===- AttnAttrs.cpp - attn attributes ------------------------------------===//

#include "attn/IR/AttnAttrs.h"
#include "attn/IR/AttnDialect.h"
#include "attn/Runtime/Artifact.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

/// One limit for the IR and the artifact format.
static constexpr int64_t kMaxKvSplits = ::attn::runtime::SplitRule::kMaxSplits;

#include "attn/IR/AttnAttrInterfaces.cpp.inc"
#include "attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attn/IR/AttnAttrs.cpp.inc"
      >();
}

FailureOr<FloatAttr> mlir::attn::parseFloatParameter(AsmParser &parser) {
  double value;
  if (parser.parseFloat(value))
    return failure();
  return FloatAttr::get(Float64Type::get(parser.getContext()), value);
}

void mlir::attn::printFloatParameter(AsmPrinter &printer, FloatAttr value) {
  printer.printFloat(value.getValue());
}

FailureOr<bool> mlir::attn::parseBoolParameter(AsmParser &parser) {
  if (succeeded(parser.parseOptionalKeyword("true")))
    return true;
  if (succeeded(parser.parseOptionalKeyword("false")))
    return false;
  return parser.emitError(parser.getCurrentLocation(),
                          "expected 'true' or 'false'");
}

//===----------------------------------------------------------------------===//
// Attribute verifiers
//===----------------------------------------------------------------------===//

/// Window extents are token counts or -1 (unbounded).
LogicalResult
SlidingWindowAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          int64_t left, int64_t right, Alignment) {
  if (left < -1 || right < -1)
    return emitError() << "sliding_window extents must be >= 0 or -1 "
                          "(unbounded), got left = "
                       << left << ", right = " << right;
  return success();
}

LogicalResult PrefixLMAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t prefix, Alignment) {
  if (prefix < 0)
    return emitError() << "prefix_lm prefix must be >= 0, got " << prefix;
  return success();
}

LogicalResult ChunkedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t size, Alignment) {
  if (size <= 0)
    return emitError() << "chunked size must be > 0, got " << size;
  return success();
}

LogicalResult OrMaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayAttr members) {
  if (members.size() < 2)
    return emitError() << "or needs at least two mask members, got "
                       << members.size();
  for (Attribute member : members)
    if (!isa<MaskAttrInterface>(member))
      return emitError() << "or members must be mask attributes, got "
                         << member;
  return success();
}

bool OrMaskAttr::isAnalytic() const {
  return llvm::all_of(getMembers(), [](Attribute member) {
    return cast<MaskAttrInterface>(member).isAnalytic();
  });
}

LogicalResult SoftcapAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  FloatAttr cap) {
  double value = cap.getValueAsDouble();
  if (!(value > 0.0) || !std::isfinite(value))
    return emitError() << "softcap cap must be a finite number > 0, got "
                       << value;
  return success();
}

LogicalResult RopeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               FloatAttr theta, FloatAttr scale, Alignment) {
  double t = theta.getValueAsDouble(), s = scale.getValueAsDouble();
  if (!(t > 0.0) || !std::isfinite(t))
    return emitError() << "rope theta must be a finite number > 0, got " << t;
  if (!(s > 0.0) || !std::isfinite(s))
    return emitError() << "rope scale must be a finite number > 0, got " << s;
  return success();
}

SmallVector<float> RopeAttr::inverseFrequencies(int64_t headDim) const {
  double theta = getTheta().getValueAsDouble();
  double scale = getScale().getValueAsDouble();
  SmallVector<float> table;
  for (int64_t d = 0; d < headDim / 2; ++d)
    table.push_back(
        float(std::pow(theta, -2.0 * double(d) / double(headDim)) / scale));
  return table;
}

LogicalResult
BlockSparseAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        int64_t qBlock, int64_t kvBlock) {
  if (qBlock <= 0 || kvBlock <= 0)
    return emitError() << "block_sparse block sizes must be > 0, got q_block = "
                       << qBlock << ", kv_block = " << kvBlock;
  return success();
}

LogicalResult
TensorMapAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t source, DenseI64ArrayAttr box, int64_t swizzle) {
  if (source < 0)
    return emitError() << "tensor_map source must be a parameter index >= 0, "
                          "got "
                       << source;
  // cuTensorMapEncodeTiled's limits, as the artifact format states them.
  using Limits = ::attn::runtime::TensorMapDesc;
  if (!box || box.empty() || box.size() > Limits::kMaxRank)
    return emitError() << "tensor_map box must have 1 to " << Limits::kMaxRank
                       << " extents, got " << (box ? box.size() : 0);
  for (int64_t extent : box.asArrayRef())
    if (extent < 1 || extent > Limits::kMaxBox)
      return emitError() << "tensor_map box extents must be in [1, "
                         << Limits::kMaxBox << "], got " << extent;
  if (!Limits::validSwizzle(swizzle))
    return emitError() << "tensor_map swizzle must be 0, 32, 64 or 128 bytes, "
                          "got "
                       << swizzle;
  return success();
}

LogicalResult PagedKvAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t pageSize, PagedLayout) {
  if (pageSize <= 0)
    return emitError() << "paged_kv page_size must be > 0, got " << pageSize;
  return success();
}

LogicalResult
SparseSoftmaxAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          FloatAttr threshold, int64_t kvBlock) {
  if (threshold) {
    double value = threshold.getValueAsDouble();
    if (!(value >= 0.0 && value < 1.0))
      return emitError() << "sparse_softmax threshold must be in [0, 1), got "
                         << value;
  }
  if (kvBlock <= 0)
    return emitError() << "sparse_softmax kv_block must be > 0, got "
                       << kvBlock;
  return success();
}

LogicalResult GateAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               GateKind, FloatAttr threshold, bool adaptive) {
  if (threshold && !std::isfinite(threshold.getValueAsDouble()))
    return emitError() << "gate threshold must be finite";
  if (adaptive && !threshold)
    return emitError() << "gate adaptive = true needs a threshold to adapt";
  return success();
}

LogicalResult
LoweringConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                           GpuStrategy strategy, int64_t blockQ, int64_t blockK,
                           int64_t warps, int64_t kvSplits, int64_t stages,
                           int64_t producerWarps, int64_t kvWarps, bool tma) {
  if (kvWarps != 1 && kvWarps != 2 && kvWarps != 4)
    return emitError() << "lowering_config kv_warps must be 1, 2 or 4, got "
                       << kvWarps;
  if (warps <= 0 || blockQ * kvWarps != 16 * warps)
    return emitError() << "lowering_config block_q must be 16 x warps / "
                          "kv_warps (each warp owns 16 query rows), got "
                          "block_q = "
                       << blockQ << ", warps = " << warps
                       << ", kv_warps = " << kvWarps;
  if (blockK <= 0 || blockK % 16)
    return emitError() << "lowering_config block_k must be a positive "
                          "multiple of 16, got "
                       << blockK;
  if (kvSplits < 1 || kvSplits > kMaxKvSplits)
    return emitError() << "lowering_config kv_splits must be in [1, "
                       << kMaxKvSplits << "], got " << kvSplits;
  if (stages < 2 || stages > 8)
    return emitError() << "lowering_config stages must be in [2, 8], got "
                       << stages;
  if (strategy == GpuStrategy::sm90a && warps % 4)
    return emitError() << "lowering_config strategy sm90a needs whole "
                          "warpgroups (warps a multiple of 4, block_q a "
                          "multiple of 64), got warps = "
                       << warps;
  // setmaxnreg and the producer's loads work on whole warpgroups.
  if (producerWarps != 0 &&
      (strategy != GpuStrategy::sm90a || producerWarps != 4))
    return emitError() << "lowering_config producer_warps must be 0, or 4 (one "
                          "producer warpgroup) with strategy sm90a, got "
                       << producerWarps << " with strategy "
                       << stringifyGpuStrategy(strategy);
  // One producer thread issues the TMA copies.
  if (tma && producerWarps == 0)
    return emitError() << "lowering_config tma needs a producer warpgroup "
                          "(producer_warps = 4, strategy sm90a)";
  if (kvSplits > 1 && strategy != GpuStrategy::decode)
    return emitError() << "lowering_config kv_splits > 1 needs the decode "
                          "strategy (its merge kernel combines the splits)";
  // Each kv warp takes whole 16-key steps of P V.
  if (kvWarps > 1 &&
      (strategy != GpuStrategy::decode || blockK % (16 * kvWarps)))
    return emitError() << "lowering_config kv_warps > 1 needs the decode "
                          "strategy and block_k a multiple of 16 x kv_warps, "
                          "got kv_warps = "
                       << kvWarps << ", block_k = " << blockK
                       << " with strategy " << stringifyGpuStrategy(strategy);
  return success();
}
