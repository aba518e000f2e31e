//===- OpProblem.h - the oracle's problem for an attn.attention -*- C++ -*-===//
//
// Reads the semantics of one attn.attention (after the frontend passes:
// canonical masks, explicit scale) into a reference::Problem, for ops whose
// every input is q, k and v: analytic masks (and their `or`), softcap, GQA,
// both layouts. Anything else (operands such as doc ids or custom masks,
// regions, sparsity, gates, sinks) is reported as not covered, by name.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_OPPROBLEM_H
#define ATTN_REFERENCE_OPPROBLEM_H

#include "attn/Reference/AttentionReference.h"

#include "llvm/Support/Error.h"

namespace mlir::attn {
class AttentionOp;
namespace reference {

/// The dense problem's shape: batch, sequence lengths and heads/dims (the
/// tensors in `problem` are left empty for the caller to fill).
llvm::Expected<Problem> problemFromOp(AttentionOp op, int64_t batch,
                                      int64_t seqQ, int64_t seqK);

} // namespace reference
} // namespace mlir::attn

#endif // ATTN_REFERENCE_OPPROBLEM_H
