//===- AttentionCase.cpp - one attention problem, as IR and as oracle -----===//

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
  Tensor k =
      m.randomInput(m.kvType(), m.layoutShape(rowsK, m.headsKV, m.headDim), p.k,
                    2.0, m.kScale);
  Tensor v =
      m.randomInput(m.kvType(), m.layoutShape(rowsK, m.headsKV, m.headDimV),
                    p.v, 1.0, m.vScale);
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
