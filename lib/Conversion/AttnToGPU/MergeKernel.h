//===- MergeKernel.h - split-KV workspace and merge kernel ------*- C++ -*-===//
//
// Split-KV divides each sequence's keys among several CTAs. Each split
// writes, for every query row (a token and head: the linear index of q's
// leading dimensions), Dv + 1 floats into the workspace: its output
// normalised by its own denominator, o_s, and its log2-domain
// log-sum-exp, lse_s = m_s + log2 l_s (-inf when it kept no key):
//
//   workspace[((split * rows) + row) * (Dv + 1) + c],  rows = B * Sq * Hq
//
// The merge kernel combines them (sinks t = sink * log2 e join here):
//
//   M = max(max_s lse_s, t);  w_s = 2^(lse_s - M);  W = sum_s w_s + 2^(t - M)
//   out = sum_s w_s o_s / W;  lse = (M + log2 W) ln 2
//
// and a row no split kept (M = -inf) gives out 0, lse -inf, as a fully
// masked row does in one pass.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_MERGEKERNEL_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_MERGEKERNEL_H

#include "attn/Transforms/TilingContext.h"

#include "mlir/IR/Builders.h"

namespace mlir::attn {

/// Threads per CTA of the merge kernel (a CTA per query row): 4 warps,
/// each summing every 4th split over all Dv columns.
constexpr int64_t kMergeThreads = 128;

/// Dynamic shared memory of the merge kernel: the split weights, each
/// warp's partial sums and the reduction slots.
int64_t mergeSharedBytes(int64_t maxSplits, int64_t headDimV);

/// The workspace floats between one split's rows and the next's: rows x
/// (Dv + 1), rows the product of q's leading dimensions.
Value splitStride(OpBuilder &b, Location loc, Value q, int64_t headDimV);

/// The workspace offset of (split, query row): `rowIdx` indexes q's
/// leading dimensions (all but the head dim).
Value splitRowOffset(OpBuilder &b, Location loc, Value q, Value split,
                     ValueRange rowIdx, int64_t headDimV);

/// Builds the merge kernel's body at the builder's insertion point: grid
/// (Sq, Hq, B), kMergeThreads threads, one query row per CTA, at most
/// `maxSplits` splits.
void buildMergeKernel(OpBuilder &b, Location loc, AttentionOp op,
                      const AttentionBuffers &buf, Value workspace,
                      int64_t maxSplits);

} // namespace mlir::attn

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_MERGEKERNEL_H
