//===- AttentionCase.cpp - one attention problem, as IR and as oracle -----===//

#include "AttentionCase.h"

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

namespace {

size_t byteWidth(ElementType type) {
  switch (type) {
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::I64:
    return 8;
  case ElementType::I1:
  case ElementType::I8:
  case ElementType::F8E4M3:
    return 1;
  }
  return 1;
}

/// The position of each optional operand clause in the op's syntax.
const std::vector<std::string> kClauseOrder = {
    "cu_seqlens_q",    "cu_seqlens_k", "seqused_q",
    "seqused_k",       "doc_ids_q",    "doc_ids_kv",
    "custom_mask",     "alibi_slopes", "bias",
    "kv_num_blocks",   "kv_indices",   "full_kv_num_blocks",
    "full_kv_indices", "sinks",        "gate_alpha",
    "gate_delta",      "k_scale",      "v_scale"};

/// The nearest f8E4M3FN value of `value` (ties to even), as its byte.
uint8_t toE4M3(float value) {
  llvm::APFloat x(value);
  bool lost;
  x.convert(llvm::APFloat::Float8E4M3FN(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return uint8_t(x.bitcastToAPInt().getZExtValue());
}

/// The value of an f8E4M3FN byte.
float fromE4M3(uint8_t bits) {
  llvm::APFloat x(llvm::APFloat::Float8E4M3FN(), llvm::APInt(8, bits));
  bool lost;
  x.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return x.convertToFloat();
}

/// A host tensor with its storage and its MLIR type text.
struct Tensor {
  ElementType type = ElementType::F32;
  std::vector<int64_t> shape;
  std::string typeText; // with '?' where the IR leaves a size dynamic
  std::vector<uint8_t> bytes;

  int64_t count() const {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }
  void allocate() { bytes.assign(count() * byteWidth(type), 0); }
  HostBuffer buffer() { return HostBuffer{bytes.data(), type, shape}; }
  template <typename T> T *as() { return reinterpret_cast<T *>(bytes.data()); }
};

std::string tensorType(const std::vector<std::string> &dims, ElementType type) {
  std::string text = "tensor<";
  for (const std::string &d : dims)
    text += d + "x";
  return text + mlir::attn::cpu::elementTypeName(type) + ">";
}
} // namespace

struct AttentionCase::Impl {
  ElementType dtype;
  /// An fp8 KV cache (fp8KV): its scales (1 without k_scale / v_scale).
  bool fp8 = false;
  double kScale = 1.0, vScale = 1.0;
  ElementType kvType() const { return fp8 ? ElementType::F8E4M3 : dtype; }
  int64_t batch, seqQ, seqK, headsQ, headsKV, headDim, headDimV;
  bool isBhsd = false, isVarlen = false, hasLse = true, nanPadding = false;
  std::vector<int32_t> lensQ, lensK, cuQ, cuK;
  int64_t qTile = 16, kvTile = 16;
  std::optional<double> explicitScale;
  std::mt19937 rng{12345};

  std::vector<std::string> masks, mods;
  std::string maskModBody, scoreModBody;
  std::vector<std::string> extraAttrs;
  std::map<std::string, Tensor> aux;
  reference::Problem problem;
  mlir::MLIRContext context;

  int64_t totalQ() const { return isVarlen ? cuQ.back() : batch * seqQ; }
  int64_t totalK() const { return isVarlen ? cuK.back() : batch * seqK; }
  int64_t numSeq() const { return isVarlen ? int64_t(lensQ.size()) : batch; }
  /// (qStart, kStart, lenQ, lenK) of sequence b, as laid out in memory.
  int64_t qStart(int64_t b) const { return isVarlen ? cuQ[b] : 0; }
  int64_t kStart(int64_t b) const { return isVarlen ? cuK[b] : 0; }
  int64_t lenQ(int64_t b) const { return isVarlen ? lensQ[b] : seqQ; }
  int64_t lenK(int64_t b) const { return isVarlen ? lensK[b] : seqK; }

  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  }

  Tensor &addAux(const std::string &clause, ElementType type,
                 std::vector<int64_t> shape) {
    Tensor &t = aux[clause];
    t.type = type;
    t.shape = std::move(shape);
    std::vector<std::string> dims;
    for (int64_t s : t.shape)
      dims.push_back(std::to_string(s));
    t.typeText = tensorType(dims, type);
    t.allocate();
    return t;
  }

  /// A random q/k/v-like tensor of `type`: host bits plus the float copy
  /// of the values they hold, times `scale` (an fp8 cache's dequantization).
  Tensor randomInput(ElementType type, std::vector<int64_t> shape,
                     std::vector<float> &copy, double amplitude,
                     double scale = 1.0) {
    Tensor t;
    t.type = type;
    t.shape = std::move(shape);
    t.allocate();
    copy.resize(t.count());
    for (int64_t n = 0; n < t.count(); ++n) {
      float value = float(uniform(-amplitude, amplitude));
      if (type == ElementType::F16) {
        t.as<uint16_t>()[n] = attn::floatToF16(value);
        value = attn::f16ToFloat(t.as<uint16_t>()[n]);
      } else if (type == ElementType::BF16) {
        t.as<uint16_t>()[n] = attn::floatToBf16(value);
        value = attn::bf16ToFloat(t.as<uint16_t>()[n]);
      } else if (type == ElementType::F8E4M3) {
        t.as<uint8_t>()[n] = toE4M3(value);
        value = fromE4M3(t.as<uint8_t>()[n]);
      } else {
        t.as<float>()[n] = value;
      }
      copy[n] = float(value * scale);
    }
    return t;
  }

  std::vector<int64_t> layoutShape(int64_t len, int64_t heads, int64_t width) {
    if (isVarlen)
      return {len, heads, width};
    if (isBhsd)
      return {batch, heads, len, width};
    return {batch, len, heads, width};
  }
  std::string layoutType(int64_t heads, int64_t width) const {
    std::string h = std::to_string(heads), w = std::to_string(width);
    return layoutType(heads, width, dtype);
  }
  std::string layoutType(int64_t heads, int64_t width, ElementType type) const {
    std::string h = std::to_string(heads), w = std::to_string(width);
    if (isVarlen)
      return tensorType({"?", h, w}, type);
    if (isBhsd)
      return tensorType({"?", h, "?", w}, type);
    return tensorType({"?", "?", h, w}, type);
  }
  std::string lseType() const {
    std::string h = std::to_string(headsQ);
    return isVarlen ? tensorType({h, "?"}, ElementType::F32)
                    : tensorType({"?", h, "?"}, ElementType::F32);
  }
};

AttentionCase::AttentionCase(ElementType dtype, int64_t batch, int64_t seqQ,
                             int64_t seqK, int64_t headsQ, int64_t headsKV,
                             int64_t headDim, int64_t headDimV)
    : impl(std::make_unique<Impl>()) {
  impl->dtype = dtype;
  impl->batch = batch;
  impl->seqQ = seqQ;
  impl->seqK = seqK;
  impl->headsQ = headsQ;
  impl->headsKV = headsKV;
  impl->headDim = headDim;
  impl->headDimV = headDimV < 0 ? headDim : headDimV;
  impl->context.loadDialect<AttnDialect>();
  // Each case draws its own inputs: seed from the shape.
  impl->rng.seed(uint32_t(batch * 1000003 + seqQ * 10007 + seqK * 101 +
                          headsQ * 13 + headDim));
}

AttentionCase::~AttentionCase() = default;

AttentionCase &AttentionCase::varlen(std::vector<int32_t> lensQ,
                                     std::vector<int32_t> lensK) {
  Impl &m = *impl;
  m.isVarlen = true;
  m.lensQ = lensQ;
  m.lensK = lensK;
  m.batch = lensQ.size();
  m.cuQ = {0};
  m.cuK = {0};
  for (size_t b = 0; b < lensQ.size(); ++b) {
    m.cuQ.push_back(m.cuQ.back() + lensQ[b]);
    m.cuK.push_back(m.cuK.back() + lensK[b]);
  }
  int64_t n = m.cuQ.size();
  std::memcpy(m.addAux("cu_seqlens_q", ElementType::I32, {n}).bytes.data(),
              m.cuQ.data(), 4 * n);
  std::memcpy(m.addAux("cu_seqlens_k", ElementType::I32, {n}).bytes.data(),
              m.cuK.data(), 4 * n);
  m.problem.cuSeqlensQ = m.cuQ;
  m.problem.cuSeqlensK = m.cuK;
  return *this;
}

AttentionCase &AttentionCase::seqused(std::vector<int32_t> usedQ,
                                      std::vector<int32_t> usedK) {
  Impl &m = *impl;
  int64_t n = usedQ.size();
  std::memcpy(m.addAux("seqused_q", ElementType::I32, {n}).bytes.data(),
              usedQ.data(), 4 * n);
  std::memcpy(m.addAux("seqused_k", ElementType::I32, {n}).bytes.data(),
              usedK.data(), 4 * n);
  m.problem.sequsedQ = usedQ;
  m.problem.sequsedK = usedK;
  return *this;
}

AttentionCase &AttentionCase::nanPastSeqused() {
  impl->nanPadding = true;
  return *this;
}

/// Dense k/v element bits past seqused_k[b] set to a quiet NaN.
static void poisonPastSeqused(Tensor &t, bool bhsd,
                              const std::vector<int32_t> &usedK) {
  int64_t batch = t.shape[0], rows = t.shape[bhsd ? 2 : 1],
          heads = t.shape[bhsd ? 1 : 2], dim = t.shape[3];
  int64_t width = byteWidth(t.type);
  uint32_t nan = t.type == ElementType::F32      ? 0x7FC00000u
                 : t.type == ElementType::F16    ? 0x7E00u
                 : t.type == ElementType::F8E4M3 ? 0x7Fu
                                                 : 0x7FC0u;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = usedK[b]; s < rows; ++s)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t d = 0; d < dim; ++d) {
          int64_t at = bhsd ? ((b * heads + h) * rows + s) * dim + d
                            : ((b * rows + s) * heads + h) * dim + d;
          std::memcpy(t.bytes.data() + at * width, &nan, width);
        }
}

AttentionCase &AttentionCase::bhsd() {
  impl->isBhsd = true;
  impl->extraAttrs.push_back("layout = #attn<layout bhsd>");
  return *this;
}

AttentionCase &AttentionCase::withLse(bool lse) {
  impl->hasLse = lse;
  return *this;
}

AttentionCase &AttentionCase::scale(double scale) {
  impl->explicitScale = scale;
  return *this;
}

AttentionCase &AttentionCase::tiles(int64_t qTile, int64_t kvTile) {
  impl->qTile = qTile;
  impl->kvTile = kvTile;
  return *this;
}

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

std::string AttentionCase::ir() const {
  const Impl &m = *impl;
  std::string qType = m.layoutType(m.headsQ, m.headDim);
  std::string kType = m.layoutType(m.headsKV, m.headDim, m.kvType());
  std::string vType = m.layoutType(m.headsKV, m.headDimV, m.kvType());
  std::string outType = m.layoutType(m.headsQ, m.headDimV);
  std::ostringstream args, clauses, attrs;
  args << "%q: " << qType << ", %k: " << kType << ", %v: " << vType;
  for (const std::string &clause : kClauseOrder) {
    auto it = m.aux.find(clause);
    if (it == m.aux.end())
      continue;
    args << ", %" << clause << ": " << it->second.typeText;
    clauses << " " << clause << "(%" << clause << " : " << it->second.typeText
            << ")";
  }
  std::vector<std::string> attrList = m.extraAttrs;
  auto join = [](const std::vector<std::string> &items) {
    std::string text;
    for (const std::string &item : items)
      text += (text.empty() ? "" : ", ") + item;
    return text;
  };
  if (!m.masks.empty())
    attrList.push_back("masks = [" + join(m.masks) + "]");
  if (!m.mods.empty())
    attrList.push_back("score_mods = [" + join(m.mods) + "]");
  if (m.explicitScale)
    attrList.push_back(llvm::formatv("scale = {0} : f32", *m.explicitScale));
  std::string results = outType + (m.hasLse ? ", " + m.lseType() : "");
  std::ostringstream os;
  os << "func.func @attention(" << args.str() << ") -> (" << results << ") {\n"
     << "  " << (m.hasLse ? "%out, %lse" : "%out")
     << " = attn.attention %q, %k, %v" << clauses.str();
  if (!attrList.empty())
    os << " {" << join(attrList) << "}";
  os << " : " << qType << ", " << kType << ", " << vType << " -> " << results;
  if (!m.maskModBody.empty())
    os << " mask_mod {\n  ^bb0(%b: index, %h: index, %i: index, %j: index):\n"
       << m.maskModBody << "\n  }";
  if (!m.scoreModBody.empty())
    os << " score_mod {\n  ^bb0(%s: f32, %b: index, %h: index, %i: index, "
          "%j: index):\n"
       << m.scoreModBody << "\n  }";
  os << "\n  return " << (m.hasLse ? "%out, %lse" : "%out") << " : " << results
     << "\n}\n";
  return os.str();
}

CaseReport AttentionCase::check() {
  Impl &m = *impl;
  CaseReport report;
  reference::Problem &p = m.problem;
  p.batch = m.batch;
  p.seqQ = m.seqQ;
  p.seqK = m.seqK;
  p.headsQ = m.headsQ;
  p.headsKV = m.headsKV;
  p.headDim = m.headDim;
  p.headDimV = m.headDimV;
  p.bhsd = m.isBhsd;
  p.scale =
      m.explicitScale ? *m.explicitScale : 1.0 / std::sqrt(double(m.headDim));
  int64_t rowsQ = m.isVarlen ? m.totalQ() : m.seqQ;
  int64_t rowsK = m.isVarlen ? m.totalK() : m.seqK;
  // Amplitude 2 makes the softmax peaked enough that masks, sinks and
  // thresholds change the result visibly.
  Tensor q = m.randomInput(m.dtype, m.layoutShape(rowsQ, m.headsQ, m.headDim),
                           p.q, 2.0);
  Tensor k = m.randomInput(m.kvType(),
                           m.layoutShape(rowsK, m.headsKV, m.headDim), p.k,
                           2.0, m.kScale);
  Tensor v = m.randomInput(m.kvType(),
                           m.layoutShape(rowsK, m.headsKV, m.headDimV), p.v,
                           1.0, m.vScale);
  if (m.nanPadding) {
    poisonPastSeqused(k, m.isBhsd, p.sequsedK);
    poisonPastSeqused(v, m.isBhsd, p.sequsedK);
  }

  std::string source = ir();
  mlir::attn::cpu::CompileOptions options;
  options.qTile = m.qTile;
  options.kvTile = m.kvTile;
  auto compiled = CompiledAttention::compile(source, options);
  if (!compiled) {
    report.message = llvm::toString(compiled.takeError()) + "\n" + source;
    return report;
  }

  Tensor out, lse;
  out.type = m.dtype;
  out.shape = m.layoutShape(rowsQ, m.headsQ, m.headDimV);
  out.allocate();
  // Poison the outputs: every element must be written.
  std::fill(out.bytes.begin(), out.bytes.end(), 0x7F);
  lse.type = ElementType::F32;
  lse.shape = m.isVarlen ? std::vector<int64_t>{m.headsQ, rowsQ}
                         : std::vector<int64_t>{m.batch, m.headsQ, m.seqQ};
  lse.allocate();
  std::fill(lse.bytes.begin(), lse.bytes.end(), 0x7F);

  std::vector<HostBuffer> args = {q.buffer(), k.buffer(), v.buffer()};
  for (const std::string &clause : kClauseOrder)
    if (m.aux.count(clause))
      args.push_back(m.aux[clause].buffer());
  std::vector<HostBuffer> results = {out.buffer()};
  if (m.hasLse)
    results.push_back(lse.buffer());
  if (llvm::Error error = (*compiled)->run(args, results)) {
    report.message = llvm::toString(std::move(error));
    return report;
  }

  reference::Result expected = reference::computeAttention(p);
  auto outAt = [&](int64_t n) -> double {
    if (m.dtype == ElementType::F16)
      return attn::f16ToFloat(out.as<uint16_t>()[n]);
    if (m.dtype == ElementType::BF16)
      return attn::bf16ToFloat(out.as<uint16_t>()[n]);
    return out.as<float>()[n];
  };
  double rtol = m.dtype == ElementType::BF16  ? 1.0 / 128
                : m.dtype == ElementType::F16 ? 1.0 / 1024
                                              : 2e-5;
  double maxRef = 0;
  for (double r : expected.out)
    maxRef = std::max(maxRef, std::fabs(r));
  double atol = rtol * std::max(maxRef, 1e-3);
  double maxErr = 0;
  std::ostringstream failures;
  int64_t failed = 0;
  for (int64_t n = 0; n < out.count(); ++n) {
    double got = outAt(n), ref = expected.out[n];
    double err = std::fabs(got - ref);
    if (!(err <= atol + rtol * std::fabs(ref))) {
      if (failed++ < 5)
        failures << "  out[" << n << "] = " << got << ", expected " << ref
                 << "\n";
    }
    if (std::isfinite(err))
      maxErr = std::max(maxErr, err);
    else
      maxErr = std::numeric_limits<double>::infinity();
  }
  report.maxRelError = maxErr / std::max(maxRef, 1e-30);
  if (m.hasLse) {
    for (int64_t n = 0; n < lse.count(); ++n) {
      double got = lse.as<float>()[n], ref = expected.lse[n];
      if (std::isinf(ref)) {
        ++report.maskedRows;
        if (!(std::isinf(got) && got < 0) && failed++ < 5)
          failures << "  lse[" << n << "] = " << got << ", expected -inf\n";
        continue;
      }
      double err = std::fabs(got - ref);
      if (!(err <= 1e-4 * std::max(1.0, std::fabs(ref)) + 1e-4) && failed++ < 5)
        failures << "  lse[" << n << "] = " << got << ", expected " << ref
                 << "\n";
      if (std::isfinite(err))
        report.maxLseError = std::max(report.maxLseError, err);
      else
        report.maxLseError = std::numeric_limits<double>::infinity();
    }
  }
  report.ok = failed == 0;
  if (!report.ok)
    report.message =
        std::to_string(failed) + " mismatches:\n" + failures.str() + source;
  return report;
}
