//===- AttentionReference.cpp - naive attention in double -----------------===//

#include "attn/Reference/AttentionReference.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir::attn::reference;

namespace {
/// Row-major offsets of q/k/v/out elements and lse entries.
struct Indexer {
  const Problem &p;
  bool varlen() const { return !p.cuSeqlensQ.empty(); }
  int64_t totalQ() const { return varlen() ? p.cuSeqlensQ.back() : 0; }
  /// Element (b, row, head, d) of a tensor with `heads` heads, `len` rows
  /// per sequence (dense) and `width` columns.
  int64_t at(int64_t b, int64_t row, int64_t head, int64_t d, int64_t heads,
             int64_t len, int64_t width) const {
    if (varlen())
      return (row * heads + head) * width + d; // row is already packed
    if (p.bhsd)
      return ((b * heads + head) * len + row) * width + d;
    return ((b * len + row) * heads + head) * width + d;
  }
};

/// `x` (D values) rotated to position `position` by the rotate-half rule.
std::vector<double> rotate(const Problem::Rope &rope, std::vector<double> x,
                           int64_t position) {
  int64_t half = int64_t(x.size()) / 2;
  std::vector<double> r(x.size());
  for (int64_t d = 0; d < half; ++d) {
    double f =
        std::pow(rope.theta, -2.0 * double(d) / double(x.size())) / rope.scale;
    double c = std::cos(double(position) * f),
           s = std::sin(double(position) * f);
    r[d] = x[d] * c - x[d + half] * s;
    r[d + half] = x[d + half] * c + x[d] * s;
  }
  return r;
}
} // namespace

Result mlir::attn::reference::computeAttention(const Problem &p) {
  Indexer ix{p};
  bool varlen = ix.varlen();
  int64_t batch = varlen ? int64_t(p.cuSeqlensQ.size()) - 1 : p.batch;
  int64_t rowsQ = varlen ? p.cuSeqlensQ.back() : p.batch * p.seqQ;
  Result r;
  r.out.assign(rowsQ * p.headsQ * p.headDimV, 0.0);
  r.lse.assign(rowsQ * p.headsQ, -std::numeric_limits<double>::infinity());
  int64_t group = p.headsQ / p.headsKV;

  for (int64_t b = 0; b < batch; ++b) {
    int64_t qStart = varlen ? p.cuSeqlensQ[b] : 0;
    int64_t kStart = varlen ? p.cuSeqlensK[b] : 0;
    int64_t lenQ = varlen ? p.cuSeqlensQ[b + 1] - qStart : p.seqQ;
    int64_t lenK = varlen ? p.cuSeqlensK[b + 1] - kStart : p.seqK;
    int64_t seqQ =
        p.sequsedQ.empty() ? lenQ : std::min<int64_t>(p.sequsedQ[b], lenQ);
    int64_t seqK =
        p.sequsedK.empty() ? lenK : std::min<int64_t>(p.sequsedK[b], lenK);
    // A row of q or k as the dot product sees it (rotated by rope).
    auto vectorOf = [&](const std::vector<float> &t, int64_t row, int64_t head,
                        int64_t heads, int64_t len) {
      std::vector<double> x(p.headDim);
      for (int64_t d = 0; d < p.headDim; ++d)
        x[d] = t[ix.at(b, row, head, d, heads, len, p.headDim)];
      return x;
    };
    for (int64_t h = 0; h < p.headsQ; ++h) {
      int64_t hk = h / group;
      // The sequence's keys of kv head hk, read (and rotated) once.
      std::vector<std::vector<double>> keys(seqK);
      for (int64_t j = 0; j < seqK; ++j) {
        keys[j] = vectorOf(p.k, varlen ? kStart + j : j, hk, p.headsKV, p.seqK);
        if (p.rope)
          keys[j] = rotate(*p.rope, keys[j], j);
      }
      for (int64_t i = 0; i < seqQ; ++i) {
        int64_t qRow = varlen ? qStart + i : i;
        std::vector<double> qi = vectorOf(p.q, qRow, h, p.headsQ, p.seqQ);
        if (p.rope)
          qi = rotate(*p.rope, qi, p.rope->bottomRight ? i + seqK - seqQ : i);
        std::vector<double> score(seqK);
        std::vector<bool> kept(seqK);
        for (int64_t j = 0; j < seqK; ++j) {
          Pair pair{b, h, i, j, seqQ, seqK};
          double dot = 0.0;
          for (int64_t d = 0; d < p.headDim; ++d)
            dot += qi[d] * keys[j][d];
          double s = p.scale * dot;
          bool keep = true;
          bool full = p.blockFull && p.blockFull(pair);
          if (p.blockListed && !full && !p.blockListed(pair))
            keep = false;
          if (!full)
            for (const auto &mask : p.masks)
              keep = keep && mask(pair);
          for (const auto &mod : p.mods)
            s = mod(s, pair);
          if (p.gate) {
            double g = p.gate(pair);
            s += g;
            if (p.gateThreshold && g < p.gateThreshold(pair))
              keep = false;
          }
          score[j] = s;
          kept[j] = keep;
        }
        // Online softmax over key blocks in ascending order; without sparse
        // softmax the whole row is one block and this is the plain softmax.
        int64_t block =
            p.sparseThreshold ? p.sparseBlock : std::max<int64_t>(seqK, 1);
        double m = -std::numeric_limits<double>::infinity(), l = 0.0;
        std::vector<double> acc(p.headDimV, 0.0);
        for (int64_t j0 = 0; j0 < seqK; j0 += block) {
          int64_t j1 = std::min(j0 + block, seqK);
          double blockMax = -std::numeric_limits<double>::infinity();
          for (int64_t j = j0; j < j1; ++j)
            if (kept[j])
              blockMax = std::max(blockMax, score[j]);
          if (blockMax == -std::numeric_limits<double>::infinity())
            continue;
          double mNew = std::max(m, blockMax);
          if (p.sparseThreshold &&
              std::exp(blockMax - mNew) <
                  p.sparseThreshold({b, h, i, j0, seqQ, seqK}))
            continue;
          double correction = std::exp(m - mNew);
          l *= correction;
          for (double &a : acc)
            a *= correction;
          for (int64_t j = j0; j < j1; ++j) {
            if (!kept[j])
              continue;
            double w = std::exp(score[j] - mNew);
            l += w;
            int64_t kRow = varlen ? kStart + j : j;
            for (int64_t d = 0; d < p.headDimV; ++d)
              acc[d] += w * double(p.v[ix.at(b, kRow, hk, d, p.headsKV, p.seqK,
                                             p.headDimV)]);
          }
          m = mNew;
        }
        if (!p.sinks.empty()) {
          double mNew = std::max(m, p.sinks[h]);
          double correction = l > 0.0 ? std::exp(m - mNew) : 0.0;
          l = l * correction + std::exp(p.sinks[h] - mNew);
          for (double &a : acc)
            a *= correction;
          m = mNew;
        }
        if (l <= 0.0)
          continue; // out stays 0, lse -inf
        for (int64_t d = 0; d < p.headDimV; ++d)
          r.out[ix.at(b, qRow, h, d, p.headsQ, p.seqQ, p.headDimV)] =
              acc[d] / l;
        int64_t lseAt =
            varlen ? h * rowsQ + qRow : (b * p.headsQ + h) * p.seqQ + i;
        r.lse[lseAt] = m + std::log(l);
      }
    }
  }
  return r;
}
