//===- AttentionCase.h - one attention problem, as IR and as oracle -*- C++
//-*-//
//
// Test support: describes an attention problem once and produces both the
// attn.attention IR that the compiler sees and the reference::Problem that
// the by-definition oracle sees, with fresh random inputs rounded to the
// input element type. `check()` compiles the IR for the CPU, runs it on
// poisoned output buffers and compares every output element and every lse
// entry with the oracle.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_ATTENTIONCASE_H
#define ATTN_TEST_UNIT_ATTENTIONCASE_H

#include "attn/Reference/AttentionReference.h"
#include "attn/CPU/CpuAttention.h"

#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace attn_test {

using mlir::attn::cpu::ElementType;
using mlir::attn::reference::Pair;

/// The outcome of one comparison with the oracle.
struct CaseReport {
  double maxRelError = 0; ///< max |got - ref| / max |ref| over out
  double maxLseError = 0; ///< max |got - ref| over finite lse entries
  int64_t maskedRows = 0; ///< rows that kept nothing (out 0, lse -inf)
  bool ok = false;
  std::string message;
};

class AttentionCase {
public:
  /// A dense problem: q [B, Sq, Hq, D], k [B, Sk, Hkv, D], v [B, Sk, Hkv, Dv].
  AttentionCase(ElementType dtype, int64_t batch, int64_t seqQ, int64_t seqK,
                int64_t headsQ, int64_t headsKV, int64_t headDim,
                int64_t headDimV = -1);
  ~AttentionCase();

  /// Packs the batch: sequence b has lensQ[b] queries and lensK[b] keys.
  AttentionCase &varlen(std::vector<int32_t> lensQ, std::vector<int32_t> lensK);
  AttentionCase &seqused(std::vector<int32_t> usedQ,
                         std::vector<int32_t> usedK);
  /// Dense only: k and v rows past seqused_k hold NaN, which the kernel must
  /// never read (one NaN read would turn its row's output NaN).
  AttentionCase &nanPastSeqused();
  AttentionCase &bhsd();
  AttentionCase &withLse(bool lse = true);
  AttentionCase &scale(double scale);
  AttentionCase &tiles(int64_t qTile, int64_t kvTile);

  /// An analytic mask atom written as its attribute, e.g.
  /// "#attn.causal<top_left>"; the oracle evaluates it by definition.
  AttentionCase &mask(const std::string &attr);
  /// Random document ids (`documents` per sequence, contiguous runs; or,
  /// not `sorted`, each token's id drawn from [0, documents)).
  AttentionCase &documents(int documents, bool sorted = true);
  /// A random custom mask keeping a fraction `density` of the pairs.
  AttentionCase &customMask(bool packed, double density = 0.7);
  /// A mask_mod region body (arguments %b, %h, %i, %j : index; yields i1)
  /// and the same predicate in C++.
  AttentionCase &maskMod(const std::string &body,
                         std::function<bool(const Pair &)> keep);
  /// `#attn.or` of two atoms given as attribute text; both analytic.
  AttentionCase &orMask(const std::string &a, const std::string &b);

  /// K and V as an fp8 (f8E4M3FN) cache, with k_scale / v_scale operands
  /// where given: the oracle sees scale * (the fp8 value).
  AttentionCase &fp8KV(std::optional<double> kScale,
                       std::optional<double> vScale);
  /// #attn.rope: q and k rotated by position (LLaMA's rotate-half).
  AttentionCase &rope(double theta, double scale, bool bottomRight);
  AttentionCase &softcap(double cap);
  AttentionCase &alibi(bool perBatch);
  AttentionCase &bias(bool broadcastBatch);
  /// A score_mod region body (arguments %s : f32, %b, %h, %i, %j : index;
  /// yields f32) and the same function in C++.
  AttentionCase &scoreMod(const std::string &body,
                          std::function<double(double, const Pair &)> mod);
  AttentionCase &sinks();
  AttentionCase &gate(bool logsigmoid, std::optional<double> threshold,
                      bool adaptive);
  AttentionCase &sparseSoftmax(std::optional<double> threshold,
                               int64_t kvBlock);
  /// A random FlexAttention block mask; `withFull` also lists full blocks.
  AttentionCase &blockSparse(int64_t qBlock, int64_t kvBlock, bool withFull);

  /// The function holding the attn.attention, as MLIR text.
  std::string ir() const;
  /// Compiles, runs and compares. Tolerance: the kernel computes in f32 and
  /// rounds once to the output type, so each out element may differ from
  /// the double oracle by one ulp of the output type plus f32 rounding:
  /// |got - ref| <= rtol * |ref| + atol with rtol = 2^-7 (bf16), 2^-10
  /// (f16), 2e-5 (f32) and atol = rtol * max |ref|.
  CaseReport check();

  struct Impl;

private:
  std::unique_ptr<Impl> impl;
};

} // namespace attn_test

#endif // ATTN_TEST_UNIT_ATTENTIONCASE_H
