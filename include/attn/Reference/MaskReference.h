//===- MaskReference.h - mask atoms evaluated by definition -----*- C++ -*-===//
//
// The definitions of the analytic mask atoms, evaluated one (i, j) pair at a
// time, straight from the formulas in AttnAttrs.td. They are the oracle for
// tests of the tile classification and of the lowering; nothing in the
// compiler's own code path calls them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_MASKREFERENCE_H
#define ATTN_REFERENCE_MASKREFERENCE_H

#include "mlir/IR/Attributes.h"

#include <cstdint>

namespace mlir::attn::reference {

/// keep(i, j) of one analytic atom (causal, sliding_window, prefix_lm,
/// chunked, or an `or` of those) for query i and key j of a sequence pair
/// of lengths Sq and Sk. Asserts on non-analytic atoms.
bool analyticKeeps(Attribute atom, int64_t i, int64_t j, int64_t seqQ,
                   int64_t seqK);

} // namespace mlir::attn::reference

#endif // ATTN_REFERENCE_MASKREFERENCE_H
