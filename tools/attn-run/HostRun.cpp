//===- HostRun.cpp - run an attention on the CPU against the oracle -------===//

#include "HostRun.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

using namespace mlir::attn;
using cpu::ElementType;

namespace {
/// One tensor in the element type's bits, and the same values as floats.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<uint16_t> half; ///< f16 / bf16 bits
  std::vector<float> values;  ///< f32 data, or the halves widened
};

uint16_t toBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFF + ((bits >> 16) & 1); // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}

float fromBf16(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

uint16_t toF16(float x) {
  _Float16 h = static_cast<_Float16>(x);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

float fromF16(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<float>(h);
}

int64_t elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Tensor randomTensor(std::vector<int64_t> shape, ElementType dtype,
                    std::mt19937 &rng) {
  std::normal_distribution<float> normal;
  Tensor t{std::move(shape), {}, {}};
  int64_t n = elements(t.shape);
  t.values.resize(n);
  if (dtype != ElementType::F32)
    t.half.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    float x = normal(rng);
    if (dtype == ElementType::BF16) {
      t.half[i] = toBf16(x);
      x = fromBf16(t.half[i]);
    } else if (dtype == ElementType::F16) {
      t.half[i] = toF16(x);
      x = fromF16(t.half[i]);
    }
    t.values[i] = x;
  }
  return t;
}

cpu::HostBuffer bufferOf(Tensor &t, ElementType dtype) {
  void *data = dtype == ElementType::F32 ? static_cast<void *>(t.values.data())
                                         : static_cast<void *>(t.half.data());
  return {data, dtype, t.shape};
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}
} // namespace

llvm::Expected<attn_run::RunResult> attn_run::runAgainstReference(
    const cpu::CompiledAttention &function, ElementType dtype,
    reference::Problem problem, bool hasLse, unsigned seed) {
  const reference::Problem &p = problem;
  auto layout = [&](int64_t heads, int64_t seq, int64_t dim) {
    return p.bhsd ? std::vector<int64_t>{p.batch, heads, seq, dim}
                  : std::vector<int64_t>{p.batch, seq, heads, dim};
  };
  std::mt19937 rng(seed);
  Tensor q = randomTensor(layout(p.headsQ, p.seqQ, p.headDim), dtype, rng);
  Tensor k = randomTensor(layout(p.headsKV, p.seqK, p.headDim), dtype, rng);
  Tensor v = randomTensor(layout(p.headsKV, p.seqK, p.headDimV), dtype, rng);
  // Outputs start as NaN: an element the function never writes shows.
  Tensor out{layout(p.headsQ, p.seqQ, p.headDimV), {}, {}};
  out.values.assign(elements(out.shape), NAN);
  if (dtype != ElementType::F32)
    out.half.assign(out.values.size(), 0x7FFF);
  Tensor lse{{p.batch, p.headsQ, p.seqQ}, {}, {}};
  lse.values.assign(elements(lse.shape), NAN);

  std::vector<cpu::HostBuffer> args = {bufferOf(q, dtype), bufferOf(k, dtype),
                                       bufferOf(v, dtype)};
  std::vector<cpu::HostBuffer> results = {bufferOf(out, dtype)};
  if (hasLse)
    results.push_back(bufferOf(lse, ElementType::F32));
  RunResult result;
  result.hasLse = hasLse;
  // The first run also JIT-compiles the code (the engine materializes it on
  // first use) and is the one checked; the second is timed.
  if (llvm::Error error = function.run(args, results))
    return std::move(error);
  std::vector<float> firstLse = lse.values;
  std::vector<uint16_t> firstHalf = out.half;
  std::vector<float> firstOut = out.values;
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error error = function.run(args, results))
    return std::move(error);
  result.seconds = seconds(start);
  out.values = std::move(firstOut);
  out.half = std::move(firstHalf);
  lse.values = std::move(firstLse);

  problem.q = q.values;
  problem.k = k.values;
  problem.v = v.values;
  start = std::chrono::steady_clock::now();
  reference::Result expected = reference::computeAttention(problem);
  result.referenceSeconds = seconds(start);

  double maxRef = 0, maxDiff = 0;
  for (size_t i = 0; i < expected.out.size(); ++i) {
    double got = dtype == ElementType::F32 ? out.values[i]
                 : dtype == ElementType::BF16 ? fromBf16(out.half[i])
                                              : fromF16(out.half[i]);
    maxRef = std::max(maxRef, std::fabs(expected.out[i]));
    // A NaN anywhere is an error of its own size (infinite).
    maxDiff = std::isnan(got) ? INFINITY
                              : std::max(maxDiff, std::fabs(got - expected.out[i]));
  }
  result.maxRelError = maxRef > 0 ? maxDiff / maxRef : maxDiff;
  if (hasLse)
    for (size_t i = 0; i < expected.lse.size(); ++i) {
      double want = expected.lse[i], got = lse.values[i];
      if (std::isinf(want) && want < 0)
        result.maxLseError = std::max(
            result.maxLseError, std::isinf(got) && got < 0 ? 0.0 : INFINITY);
      else
        result.maxLseError = std::max(
            result.maxLseError,
            std::isnan(got) ? INFINITY : std::fabs(got - want));
    }
  return result;
}
