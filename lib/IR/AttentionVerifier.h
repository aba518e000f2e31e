//===- AttentionVerifier.h - the attn.attention verifier --------*- C++ -*-===//
//
// The verifier of attn.attention, one class whose checks live in two files:
// AttentionVerifier.cpp (q/k/v, results, scale, varlen, masks) and
// AttentionOperandsVerifier.cpp (score modifications, block sparsity,
// gates, sinks, the paged KV cache).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_IR_ATTENTIONVERIFIER_H
#define ATTN_LIB_IR_ATTENTIONVERIFIER_H

#include "attn/IR/AttnOps.h"

#include "llvm/ADT/STLExtras.h"

#include <string>

namespace mlir::attn::detail {

inline constexpr int64_t kDyn = ShapedType::kDynamic;

/// One expected dimension of an operand: its symbolic name, its size where
/// known (kDyn otherwise) and whether 1 is accepted too (broadcast).
struct DimSpec {
  StringRef name;
  int64_t size;
  bool broadcastable = false;
};

inline bool sizesAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

inline int64_t ceilDivOrDyn(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? kDyn : (a + b - 1) / b;
}

inline std::string shapeText(ArrayRef<DimSpec> dims) {
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

inline bool isAttnFloat(Type type) {
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
        failed(verifySinks()) || failed(verifyPagedKv()) ||
        failed(verifyKvScales()))
      return failure();
    return success();
  }

private:
  InFlightDiagnostic error() { return op.emitOpError(); }

  LogicalResult checkShape(StringRef name, Value value, ArrayRef<DimSpec> dims);

  LogicalResult checkI32(StringRef name, Value value);

  LogicalResult checkFloat(StringRef name, Value value);

  /// An operand that only makes sense together with an attribute.
  LogicalResult checkPaired(StringRef operand, Value value, StringRef attr,
                            bool attrPresent);

  //===--------------------------------------------------------------------===//
  // q, k, v and results
  //===--------------------------------------------------------------------===//

  LogicalResult verifyQKV();

  /// The sizes of a q/k/v-shaped value under the op's layout; for k and v,
  /// seqQ/headsQ hold their sequence length and heads.
  ProblemShape shapeOf(Value value);

  LogicalResult verifyResults();

  LogicalResult verifyScale();

  //===--------------------------------------------------------------------===//
  // Varlen
  //===--------------------------------------------------------------------===//

  LogicalResult verifyVarlen();

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
                                MaskUses &uses);

  LogicalResult verifyMasks();

  LogicalResult verifyDocumentIds();

  LogicalResult verifyCustomMask();

  int64_t kvSeq() { return shapeOf(op.getK()).seqQ; }
  int64_t kvHeads() { return shapeOf(op.getK()).headsQ; }

  //===--------------------------------------------------------------------===//
  // Score modifications
  //===--------------------------------------------------------------------===//

  LogicalResult verifyScoreMods();

  //===--------------------------------------------------------------------===//
  // Sparsity, gates, sinks
  //===--------------------------------------------------------------------===//

  LogicalResult verifyBlockSparse();

  LogicalResult verifyGate();

  //===--------------------------------------------------------------------===//
  // Paged KV cache
  //===--------------------------------------------------------------------===//

  LogicalResult verifyPagedKv();

  LogicalResult verifySinks();

  /// k_scale / v_scale: f32 [1], only with f8E4M3FN k/v.
  LogicalResult verifyKvScales();

  AttentionOp op;
  bool varlen = false;
  bool paged = false;
  ProblemShape shape{};
  MaskUses maskUses;
};

} // namespace mlir::attn::detail

#endif // ATTN_LIB_IR_ATTENTIONVERIFIER_H
