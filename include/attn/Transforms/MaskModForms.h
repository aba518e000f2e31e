//===- MaskModForms.h - forms a mask_mod region takes -----------*- C++ -*-===//
//
// A traced FlexAttention mask_mod is a region yielding an i1; its top-level
// conjuncts often take forms the closed-form analysis knows (linear
// comparisons of q_idx and kv_idx: attn-lift-mask-mods lifts them into
// atoms) or that a kernel can bound from data (a document mask over
// captured ids: DocumentKeys.h's scan).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_MASKMODFORMS_H
#define ATTN_TRANSFORMS_MASKMODFORMS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Region.h"

#include <optional>

namespace mlir::attn {

/// Appends the conjuncts of the i1 value `v` (through arith.andi trees).
void collectConjuncts(Value v, SmallVectorImpl<Value> &out);

/// Whether #attn.mask_mod is a conjunct of `masks`: a top-level atom and no
/// member of an #attn.or (the region's conjuncts are then the mask's).
bool maskModIsConjunct(ArrayAttr masks);

/// FlexAttention's document mask among a mask_mod region's conjuncts:
/// `ids_q[q_idx] == ids_kv[kv_idx]` over tensors captured from outside the
/// region (tensor.extract of [S] at q_idx / kv_idx, or of [B, S] at (b,
/// q_idx) / (b, kv_idx)), integers of 8 to 32 bits, compared as they are
/// or widened alike (index_cast, extsi, extui).
struct CapturedDocument {
  Value idsQ;  ///< the tensor read at q_idx
  Value idsKv; ///< the tensor read at kv_idx
  bool alone;  ///< the region yields this conjunct and nothing else
};

/// The document conjunct of `masks`' mask_mod region `maskMod`, where the
/// mask_mod is a conjunct of the masks (maskModIsConjunct); else none.
std::optional<CapturedDocument> capturedDocumentConjunct(ArrayAttr masks,
                                                         Region &maskMod);

} // namespace mlir::attn

#endif // ATTN_TRANSFORMS_MASKMODFORMS_H
