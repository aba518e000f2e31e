//===- AttentionCaseFeatures.cpp - AttentionCase: masks, mods, sparsity ---===//
//
// The feature setters of AttentionCase: each adds its attribute or operand
// to the IR and the same rule to the oracle's problem.
//
//===----------------------------------------------------------------------===//

#include "AttentionCaseImpl.h"

#include "attn/IR/AttnAttrs.h"
#include "attn/IR/AttnDialect.h"
#include "attn/Reference/MaskReference.h"
#include "attn/Runtime/HalfFloat.hpp"

#include "mlir/AsmParser/AsmParser.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>

using namespace attn_test;
using namespace mlir::attn;
using mlir::attn::cpu::CompiledAttention;
using mlir::attn::cpu::HostBuffer;

AttentionCase &AttentionCase::mask(const std::string &attr) {
  mlir::Attribute parsed = mlir::parseAttribute(attr, &impl->context);
  impl->masks.push_back(attr);
  impl->problem.masks.push_back([parsed](const Pair &p) {
    return reference::analyticKeeps(parsed, p.i, p.j, p.seqQ, p.seqK);
  });
  return *this;
}

AttentionCase &AttentionCase::orMask(const std::string &a,
                                     const std::string &b) {
  return mask("#attn.or<[" + a + ", " + b + "]>");
}

AttentionCase &AttentionCase::documents(int documents, bool sorted) {
  Impl &m = *impl;
  // Non-decreasing random document ids for queries and for keys (or, not
  // sorted, independent ones).
  auto makeIds = [&](const std::string &clause, int64_t tokensPerSeq,
                     bool isQ) -> std::vector<int32_t> {
    int64_t total = isQ ? m.totalQ() : m.totalK();
    std::vector<int64_t> shape =
        m.isVarlen ? std::vector<int64_t>{total}
                   : std::vector<int64_t>{m.batch, tokensPerSeq};
    Tensor &t = m.addAux(clause, ElementType::I32, shape);
    std::vector<int32_t> ids(t.count());
    for (int64_t b = 0; b < m.numSeq(); ++b) {
      int64_t start =
          m.isVarlen ? (isQ ? m.qStart(b) : m.kStart(b)) : b * tokensPerSeq;
      int64_t len = isQ ? m.lenQ(b) : m.lenK(b);
      int32_t doc = 0;
      for (int64_t n = 0; n < len; ++n) {
        if (!sorted) {
          ids[start + n] = std::min<int32_t>(
              documents - 1, int32_t(m.uniform(0, 1) * documents));
          continue;
        }
        if (n > 0 && m.uniform(0, 1) < double(documents - 1) / len &&
            doc < documents - 1)
          ++doc;
        ids[start + n] = doc;
      }
    }
    std::memcpy(t.bytes.data(), ids.data(), 4 * ids.size());
    return ids;
  };
  auto idsQ = makeIds("doc_ids_q", m.seqQ, true);
  auto idsK = makeIds("doc_ids_kv", m.seqK, false);
  m.masks.push_back("#attn.document");
  bool varlen = m.isVarlen;
  std::vector<int32_t> cuQ = m.cuQ, cuK = m.cuK;
  int64_t seqQ = m.seqQ, seqK = m.seqK;
  m.problem.masks.push_back([=](const Pair &p) {
    int64_t qi = varlen ? cuQ[p.b] + p.i : p.b * seqQ + p.i;
    int64_t kj = varlen ? cuK[p.b] + p.j : p.b * seqK + p.j;
    return idsQ[qi] == idsK[kj];
  });
  return *this;
}

AttentionCase &AttentionCase::customMask(bool packed, double density) {
  Impl &m = *impl;
  // keepBits[b][h][i][j] for the oracle; per-sequence flattening for varlen.
  auto bits = std::make_shared<std::map<std::array<int64_t, 4>, bool>>();
  int64_t heads = m.isVarlen ? 1 : m.headsQ;
  for (int64_t b = 0; b < m.numSeq(); ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < m.lenQ(b); ++i)
        for (int64_t j = 0; j < m.lenK(b); ++j)
          (*bits)[{b, h, i, j}] = m.uniform(0, 1) < density;
  if (m.isVarlen) {
    int64_t total = 0;
    for (int64_t b = 0; b < m.numSeq(); ++b) {
      int64_t cells = m.lenQ(b) * m.lenK(b);
      total += packed ? (cells + 7) / 8 : cells;
    }
    Tensor &t = m.addAux("custom_mask",
                         packed ? ElementType::I8 : ElementType::I1, {total});
    int64_t base = 0;
    for (int64_t b = 0; b < m.numSeq(); ++b) {
      for (int64_t i = 0; i < m.lenQ(b); ++i)
        for (int64_t j = 0; j < m.lenK(b); ++j) {
          int64_t flat = i * m.lenK(b) + j;
          bool keep = (*bits)[{b, 0, i, j}];
          if (packed)
            t.bytes[base + flat / 8] |= uint8_t(keep) << (flat % 8);
          else
            t.bytes[base + flat] = keep;
        }
      int64_t cells = m.lenQ(b) * m.lenK(b);
      base += packed ? (cells + 7) / 8 : cells;
    }
  } else {
    int64_t cols = packed ? (m.seqK + 7) / 8 : m.seqK;
    Tensor &t =
        m.addAux("custom_mask", packed ? ElementType::I8 : ElementType::I1,
                 {m.batch, m.headsQ, m.seqQ, cols});
    for (auto &[key, keep] : *bits) {
      auto [b, h, i, j] = key;
      int64_t row = ((b * m.headsQ + h) * m.seqQ + i) * cols;
      if (packed)
        t.bytes[row + j / 8] |= uint8_t(keep) << (j % 8);
      else
        t.bytes[row + j] = keep;
    }
  }
  m.masks.push_back("#attn.custom_mask");
  bool varlen = m.isVarlen;
  m.problem.masks.push_back([bits, varlen](const Pair &p) {
    return bits->at({p.b, varlen ? 0 : p.h, p.i, p.j});
  });
  return *this;
}

AttentionCase &AttentionCase::maskMod(const std::string &body,
                                      std::function<bool(const Pair &)> keep) {
  impl->masks.push_back("#attn.mask_mod");
  impl->maskModBody = body;
  impl->problem.masks.push_back(std::move(keep));
  return *this;
}

AttentionCase &AttentionCase::fp8KV(std::optional<double> kScale,
                                    std::optional<double> vScale) {
  Impl &m = *impl;
  m.fp8 = true;
  for (auto [clause, given, into] :
       {std::tuple<const char *, std::optional<double>, double *>{
            "k_scale", kScale, &m.kScale},
        {"v_scale", vScale, &m.vScale}}) {
    if (!given)
      continue;
    *into = *given;
    m.addAux(clause, ElementType::F32, {1}).as<float>()[0] = float(*given);
  }
  return *this;
}

AttentionCase &AttentionCase::rope(double theta, double scale,
                                   bool bottomRight) {
  impl->extraAttrs.push_back(
      llvm::formatv("rope = #attn.rope<theta = {0}, scale = {1}, align = {2}>",
                    theta, scale, bottomRight ? "bottom_right" : "top_left")
          .str());
  impl->problem.rope = reference::Problem::Rope{theta, scale, bottomRight};
  return *this;
}

AttentionCase &AttentionCase::softcap(double cap) {
  impl->mods.push_back(llvm::formatv("#attn.softcap<{0}>", cap).str());
  impl->problem.mods.push_back(
      [cap](double s, const Pair &) { return cap * std::tanh(s / cap); });
  return *this;
}

AttentionCase &AttentionCase::alibi(bool perBatch) {
  Impl &m = *impl;
  std::vector<int64_t> shape = perBatch
                                   ? std::vector<int64_t>{m.batch, m.headsQ}
                                   : std::vector<int64_t>{m.headsQ};
  Tensor &t = m.addAux("alibi_slopes", ElementType::F32, shape);
  std::vector<float> slopes(t.count());
  for (float &s : slopes)
    s = float(m.uniform(0.01, 0.5));
  std::memcpy(t.bytes.data(), slopes.data(), 4 * slopes.size());
  m.mods.push_back("#attn.alibi");
  int64_t heads = m.headsQ;
  m.problem.mods.push_back([=](double s, const Pair &p) {
    double slope = perBatch ? slopes[p.b * heads + p.h] : slopes[p.h];
    return s - slope * std::fabs(double(p.i + p.seqK - p.seqQ - p.j));
  });
  return *this;
}

AttentionCase &AttentionCase::bias(bool broadcastBatch) {
  Impl &m = *impl;
  int64_t batches = broadcastBatch ? 1 : m.batch;
  Tensor &t =
      m.addAux("bias", ElementType::F32, {batches, m.headsQ, m.seqQ, m.seqK});
  std::vector<float> values(t.count());
  for (float &v : values)
    v = float(m.uniform(-2, 2));
  std::memcpy(t.bytes.data(), values.data(), 4 * values.size());
  m.mods.push_back("#attn.bias");
  int64_t heads = m.headsQ, seqQ = m.seqQ, seqK = m.seqK;
  m.problem.mods.push_back([=](double s, const Pair &p) {
    int64_t b = broadcastBatch ? 0 : p.b;
    return s + values[((b * heads + p.h) * seqQ + p.i) * seqK + p.j];
  });
  return *this;
}

AttentionCase &
AttentionCase::scoreMod(const std::string &body,
                        std::function<double(double, const Pair &)> mod) {
  impl->mods.push_back("#attn.score_mod");
  impl->scoreModBody = body;
  impl->problem.mods.push_back(std::move(mod));
  return *this;
}

AttentionCase &AttentionCase::sinks() {
  Impl &m = *impl;
  Tensor &t = m.addAux("sinks", ElementType::F32, {m.headsQ});
  std::vector<float> values(m.headsQ);
  for (float &v : values)
    v = float(m.uniform(-1, 3));
  std::memcpy(t.bytes.data(), values.data(), 4 * values.size());
  m.problem.sinks.assign(values.begin(), values.end());
  return *this;
}

AttentionCase &AttentionCase::gate(bool logsigmoid,
                                   std::optional<double> threshold,
                                   bool adaptive) {
  Impl &m = *impl;
  std::vector<int64_t> alphaShape =
      m.isVarlen ? std::vector<int64_t>{m.headsQ, m.totalQ()}
                 : std::vector<int64_t>{m.batch, m.headsQ, m.seqQ};
  std::vector<int64_t> deltaShape =
      m.isVarlen ? std::vector<int64_t>{m.headsKV, m.totalK()}
                 : std::vector<int64_t>{m.batch, m.headsKV, m.seqK};
  auto fill = [&](const std::string &clause, std::vector<int64_t> shape) {
    Tensor &t = m.addAux(clause, ElementType::F32, shape);
    std::vector<float> values(t.count());
    for (float &v : values)
      v = float(m.uniform(-3, 3));
    std::memcpy(t.bytes.data(), values.data(), 4 * values.size());
    return values;
  };
  auto alpha = fill("gate_alpha", alphaShape);
  auto delta = fill("gate_delta", deltaShape);
  std::string attr = llvm::formatv("gate = #attn.gate<kind = {0}",
                                   logsigmoid ? "logsigmoid" : "linear");
  if (threshold)
    attr += llvm::formatv(", threshold = {0}", *threshold).str();
  if (adaptive)
    attr += ", adaptive = true";
  m.extraAttrs.push_back(attr + ">");
  bool varlen = m.isVarlen;
  std::vector<int32_t> cuQ = m.cuQ, cuK = m.cuK;
  int64_t headsQ = m.headsQ, headsKV = m.headsKV, seqQ = m.seqQ, seqK = m.seqK;
  int64_t totalQ = m.totalQ(), totalK = m.totalK();
  m.problem.gate = [=](const Pair &p) {
    int64_t hk = p.h / (headsQ / headsKV);
    double a = varlen ? alpha[p.h * totalQ + cuQ[p.b] + p.i]
                      : alpha[(p.b * headsQ + p.h) * seqQ + p.i];
    double d = varlen ? delta[hk * totalK + cuK[p.b] + p.j]
                      : delta[(p.b * headsKV + hk) * seqK + p.j];
    double x = a + d;
    return logsigmoid ? -std::log1p(std::exp(-x)) : x;
  };
  if (threshold) {
    double tau = *threshold;
    m.problem.gateThreshold = [=](const Pair &p) {
      return adaptive ? tau - std::log(double(p.seqK)) : tau;
    };
  }
  return *this;
}

AttentionCase &AttentionCase::sparseSoftmax(std::optional<double> threshold,
                                            int64_t kvBlock) {
  Impl &m = *impl;
  std::string attr = "sparse_softmax = #attn.sparse_softmax<";
  if (threshold)
    attr += llvm::formatv("threshold = {0}, ", *threshold).str();
  m.extraAttrs.push_back(attr + "kv_block = " + std::to_string(kvBlock) + ">");
  int64_t headDim = m.headDim;
  m.problem.sparseBlock = kvBlock;
  m.problem.sparseThreshold = [=](const Pair &p) {
    return threshold ? *threshold : double(headDim) / double(p.seqK);
  };
  return *this;
}

AttentionCase &AttentionCase::blockSparse(int64_t qBlock, int64_t kvBlock,
                                          bool withFull) {
  Impl &m = *impl;
  int64_t qBlocks = (m.seqQ + qBlock - 1) / qBlock;
  int64_t kvBlocks = (m.seqK + kvBlock - 1) / kvBlock;
  // 0: not listed, 1: listed (masks apply), 2: listed as full.
  auto kind = std::make_shared<std::vector<int>>(m.batch * m.headsQ * qBlocks *
                                                 kvBlocks);
  for (int &k : *kind) {
    double u = m.uniform(0, 1);
    k = u < 0.3 ? 0 : (withFull && u > 0.7 ? 2 : 1);
  }
  auto lists = [&](const std::string &countClause,
                   const std::string &indexClause, int which) {
    Tensor &counts =
        m.addAux(countClause, ElementType::I32, {m.batch, m.headsQ, qBlocks});
    Tensor &indices = m.addAux(indexClause, ElementType::I32,
                               {m.batch, m.headsQ, qBlocks, kvBlocks});
    for (int64_t row = 0; row < m.batch * m.headsQ * qBlocks; ++row) {
      int32_t n = 0;
      // Listed in a shuffled order: the kernel must not assume sorted lists.
      std::vector<int32_t> listed;
      for (int64_t kb = 0; kb < kvBlocks; ++kb)
        if ((*kind)[row * kvBlocks + kb] == which)
          listed.push_back(kb);
      std::shuffle(listed.begin(), listed.end(), m.rng);
      for (int32_t kb : listed)
        indices.as<int32_t>()[row * kvBlocks + n++] = kb;
      counts.as<int32_t>()[row] = n;
    }
  };
  lists("kv_num_blocks", "kv_indices", 1);
  if (withFull)
    lists("full_kv_num_blocks", "full_kv_indices", 2);
  m.extraAttrs.push_back(
      llvm::formatv("block_sparse = #attn.block_sparse<q_block = {0}, "
                    "kv_block = {1}>",
                    qBlock, kvBlock)
          .str());
  int64_t heads = m.headsQ;
  auto at = [=](const Pair &p) {
    return (*kind)[((p.b * heads + p.h) * qBlocks + p.i / qBlock) * kvBlocks +
                   p.j / kvBlock];
  };
  m.problem.blockListed = [=](const Pair &p) { return at(p) == 1; };
  m.problem.blockFull = [=](const Pair &p) { return at(p) == 2; };
  return *this;
}
