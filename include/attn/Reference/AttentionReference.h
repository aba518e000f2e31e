//===- AttentionReference.h - naive attention in double ---------*- C++ -*-===//
//
// The oracle for attn-run, the numerics tests and the CPU benchmark: attention
// computed straight from the op's definition, one query row at a time, in
// double, with the whole row of scores materialized. Nothing here shares
// code with the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_ATTENTIONREFERENCE_H
#define ATTN_REFERENCE_ATTENTIONREFERENCE_H

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace mlir::attn::reference {

/// Where a (b, h, i, j) pair sits; i and j are indices within the sequence,
/// seqQ / seqK that sequence's lengths.
struct Pair {
  int64_t b, h, i, j, seqQ, seqK;
};

/// One attention problem. Tensors are dense row-major float copies of the
/// inputs (already rounded to the input element type).
struct Problem {
  int64_t batch = 1, headsQ = 1, headsKV = 1, headDim = 8, headDimV = 8;
  /// Dense: every sequence has these lengths. Ignored when cuSeqlensQ is set.
  int64_t seqQ = 1, seqK = 1;
  bool bhsd = false;
  /// Varlen: packed [T, H, D] tensors with B + 1 offsets each.
  std::vector<int32_t> cuSeqlensQ, cuSeqlensK, sequsedQ, sequsedK;
  std::vector<float> q, k, v;
  double scale = 1.0;

  /// Conjunction of keep predicates.
  std::vector<std::function<bool(const Pair &)>> masks;
  /// Score modifications, applied in order to the scaled score.
  std::vector<std::function<double(double, const Pair &)>> mods;
  /// Gate value g(pair) added to the score, and its threshold (drop when
  /// g < threshold(pair)).
  std::function<double(const Pair &)> gate;
  std::function<double(const Pair &)> gateThreshold;
  /// Block sparsity: is key j's block listed / listed as full for row i.
  std::function<bool(const Pair &)> blockListed, blockFull;
  /// Sparse softmax: per-sequence threshold and key block size.
  std::function<double(const Pair &)> sparseThreshold;
  int64_t sparseBlock = 64;
  /// One logit per query head.
  std::vector<double> sinks;
  /// Rotary position embedding (#attn.rope): q and k rotated by position
  /// (query i at i, or i + Sk - Sq when `bottomRight`; key j at j).
  struct Rope {
    double theta = 1e4, scale = 1.0;
    bool bottomRight = true;
  };
  std::optional<Rope> rope;
};

/// out [.., Dv] in the problem's layout and lse [B, Hq, Sq] ([Hq, Tq] for
/// varlen), in double. Rows that keep nothing give out = 0, lse = -inf;
/// varlen rows past seqused_q give 0 and -inf.
struct Result {
  std::vector<double> out, lse;
};

/// Computes the problem by definition.
Result computeAttention(const Problem &problem);

} // namespace mlir::attn::reference

#endif // ATTN_REFERENCE_ATTENTIONREFERENCE_H
