//===- CpuBench.cpp - CPU backend throughput vs. the naive reference ------===//
//
// Not a test: prints GFLOP/s of the compiled CPU kernel and of the naive
// double-precision reference on the same problems (f32, B = 1, H = 4,
// D = 64), FLOPs = 4 * B * H * Sq * Sk * D, halved when causal. Run it with
//   build/bin/attn-cpu-bench
// and record the table in docs/perf-log.md.
//
//===----------------------------------------------------------------------===//

#include "attn/CPU/CpuAttention.h"
#include "attn/Reference/AttentionReference.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <random>
#include <vector>

using namespace mlir::attn;

namespace {
double seconds(const std::function<void()> &fn, int repeats) {
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r)
    fn();
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / repeats;
}
} // namespace

int main() {
  const int64_t heads = 4, dim = 64;
  llvm::outs() << "| seqlen | causal | attn CPU GFLOP/s | reference GFLOP/s | "
                  "speed-up |\n|---|---|---|---|---|\n";
  for (bool causal : {false, true}) {
    std::string source = llvm::formatv(
        R"(func.func @attention(%q: tensor<1x?x{0}x{1}xf32>, %k: tensor<1x?x{0}x{1}xf32>, %v: tensor<1x?x{0}x{1}xf32>) -> tensor<1x?x{0}x{1}xf32> {{
  %o = attn.attention %q, %k, %v {2} : tensor<1x?x{0}x{1}xf32>, tensor<1x?x{0}x{1}xf32>, tensor<1x?x{0}x{1}xf32> -> tensor<1x?x{0}x{1}xf32>
  return %o : tensor<1x?x{0}x{1}xf32>
})",
        heads, dim, causal ? "{masks = [#attn.causal<top_left>]}" : "");
    auto compiled = cpu::CompiledAttention::compile(source);
    if (!compiled) {
      llvm::errs() << llvm::toString(compiled.takeError()) << "\n";
      return 1;
    }
    for (int64_t seq : {256, 512, 1024}) {
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> dist(-1, 1);
      std::vector<float> q(seq * heads * dim), k(q.size()), v(q.size()),
          out(q.size());
      for (auto *t : {&q, &k, &v})
        for (float &x : *t)
          x = dist(rng);
      std::vector<int64_t> shape = {1, seq, heads, dim};
      auto buf = [&](std::vector<float> &t) {
        return cpu::HostBuffer{t.data(), cpu::ElementType::F32, shape};
      };
      double flops = 4.0 * heads * seq * seq * dim * (causal ? 0.5 : 1.0);
      double kernel = seconds(
          [&] {
            if (llvm::Error e =
                    (*compiled)->run({buf(q), buf(k), buf(v)}, {buf(out)}))
              llvm::report_fatal_error(std::move(e));
          },
          3);
      reference::Problem problem;
      problem.seqQ = problem.seqK = seq;
      problem.headsQ = problem.headsKV = heads;
      problem.headDim = problem.headDimV = dim;
      problem.q = q;
      problem.k = k;
      problem.v = v;
      problem.scale = 1.0 / 8.0;
      if (causal)
        problem.masks.push_back(
            [](const reference::Pair &p) { return p.j <= p.i; });
      double naive = seconds([&] { reference::computeAttention(problem); }, 1);
      llvm::outs() << llvm::formatv("| {0} | {1} | {2:f2} | {3:f2} | {4:f1}x |\n",
                                    seq, causal ? "yes" : "no",
                                    flops / kernel * 1e-9, flops / naive * 1e-9,
                                    naive / kernel);
    }
  }
  return 0;
}
