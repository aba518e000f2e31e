//===- HostRun.cpp - inputs, runs and the check against the oracle --------===//

#include "HostRun.h"

#include "attn/Runtime/HalfFloat.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

using namespace mlir::attn;
using attn_run::ElementType;
using attn_run::HostTensor;

namespace {
int64_t elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

HostTensor randomTensor(std::vector<int64_t> shape, ElementType dtype,
                        std::mt19937 &rng) {
  std::normal_distribution<float> normal;
  HostTensor t{std::move(shape), {}, {}};
  int64_t n = elements(t.shape);
  t.values.resize(n);
  if (dtype != ElementType::F32)
    t.half.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    float x = normal(rng);
    if (dtype == ElementType::BF16) {
      t.half[i] = attn::floatToBf16(x);
      x = attn::bf16ToFloat(t.half[i]);
    } else if (dtype == ElementType::F16) {
      t.half[i] = attn::floatToF16(x);
      x = attn::f16ToFloat(t.half[i]);
    }
    t.values[i] = x;
  }
  return t;
}

/// NaN in every element (0x7FFF is a NaN in f16 and in bf16).
HostTensor poisoned(std::vector<int64_t> shape, ElementType dtype) {
  HostTensor t{std::move(shape), {}, {}};
  t.values.assign(elements(t.shape), NAN);
  if (dtype != ElementType::F32)
    t.half.assign(t.values.size(), 0x7FFF);
  return t;
}
} // namespace

void *HostTensor::data(ElementType dtype) {
  return dtype == ElementType::F32 ? static_cast<void *>(values.data())
                                   : static_cast<void *>(half.data());
}

size_t HostTensor::bytes(ElementType dtype) const {
  return values.size() * (dtype == ElementType::F32 ? 4 : 2);
}

float HostTensor::at(size_t i, ElementType dtype) const {
  return dtype == ElementType::F32    ? values[i]
         : dtype == ElementType::BF16 ? attn::bf16ToFloat(half[i])
                                      : attn::f16ToFloat(half[i]);
}

attn_run::Tensors attn_run::makeTensors(const reference::Problem &p,
                                        ElementType dtype, unsigned seed) {
  auto layout = [&](int64_t heads, int64_t seq, int64_t dim) {
    return p.bhsd ? std::vector<int64_t>{p.batch, heads, seq, dim}
                  : std::vector<int64_t>{p.batch, seq, heads, dim};
  };
  std::mt19937 rng(seed);
  Tensors t;
  t.q = randomTensor(layout(p.headsQ, p.seqQ, p.headDim), dtype, rng);
  t.k = randomTensor(layout(p.headsKV, p.seqK, p.headDim), dtype, rng);
  t.v = randomTensor(layout(p.headsKV, p.seqK, p.headDimV), dtype, rng);
  t.out = poisoned(layout(p.headsQ, p.seqQ, p.headDimV), dtype);
  t.lse = poisoned({p.batch, p.headsQ, p.seqQ}, ElementType::F32);
  return t;
}

attn_run::Errors attn_run::compare(const reference::Result &expected,
                                   const Tensors &got, ElementType dtype,
                                   bool hasLse) {
  Errors errors;
  double maxRef = 0, maxDiff = 0;
  for (size_t i = 0; i < expected.out.size(); ++i) {
    double value = got.out.at(i, dtype);
    maxRef = std::max(maxRef, std::fabs(expected.out[i]));
    maxDiff = std::isnan(value)
                  ? INFINITY
                  : std::max(maxDiff, std::fabs(value - expected.out[i]));
  }
  errors.maxRelError = maxRef > 0 ? maxDiff / maxRef : maxDiff;
  if (!hasLse)
    return errors;
  for (size_t i = 0; i < expected.lse.size(); ++i) {
    double want = expected.lse[i], value = got.lse.values[i];
    double error = std::isinf(want) && want < 0
                       ? (std::isinf(value) && value < 0 ? 0.0 : INFINITY)
                   : std::isnan(value) ? INFINITY
                                       : std::fabs(value - want);
    errors.maxLseError = std::max(errors.maxLseError, error);
  }
  return errors;
}

llvm::Expected<double>
attn_run::runOnCpu(const cpu::CompiledAttention &function, Tensors &t,
                   ElementType dtype, bool hasLse) {
  std::vector<cpu::HostBuffer> args = {{t.q.data(dtype), dtype, t.q.shape},
                                       {t.k.data(dtype), dtype, t.k.shape},
                                       {t.v.data(dtype), dtype, t.v.shape}};
  std::vector<cpu::HostBuffer> results = {
      {t.out.data(dtype), dtype, t.out.shape}};
  if (hasLse)
    results.push_back({t.lse.data(ElementType::F32), ElementType::F32,
                       t.lse.shape});
  if (llvm::Error error = function.run(args, results))
    return std::move(error);
  // The timed run writes the same values again (what the first one left
  // unwritten stays NaN).
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error error = function.run(args, results))
    return std::move(error);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}
