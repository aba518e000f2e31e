//===- ArtifactFuzz.cpp - mutation fuzzing of the runtime's loader --------===//
//
// Test-only; built with AddressSanitizer and UndefinedBehaviorSanitizer.
// `attn-fuzz-artifact [options] <corpus dirs...>` mutates kernel artifacts
// (.attn files under the corpus, plus a built-in one) and feeds them to
// libAttnRuntime: most mutations go to the payload with the checksum
// recomputed, so they reach the parser's structure checks rather than stop
// at the CRC. Artifacts that load are then given arguments derived from
// their parameters with random sizes, strides and pointers, through
// attn_kernel_check_args and, where no CUDA driver is present (so nothing
// can run), attn_kernel_launch's grid computation.
//
//===----------------------------------------------------------------------===//

#include "../Unit/SampleArtifact.h"
#include "FuzzLoop.h"

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"

#include <dlfcn.h>

#include <limits>

using namespace attn::runtime;
namespace fuzz = ::attn::fuzz;

namespace {
constexpr size_t kHeader = 8 + 4 + 8; // magic, version, payload size

/// A small valid artifact (the unit tests' sample with an i32 operand and a
/// tensor map of q), so the run has a seed without any corpus.
std::string builtInArtifact() {
  ArtifactDesc a = attn::runtime::testing::sampleArtifact();
  a.key = "builtin";
  a.params.insert(a.params.begin() + 1,
                  {"cu", ParamDesc::Tensor, ATTN_DTYPE_I32, {-1}, {1}, 4});
  a.kernels[0].grid[2] = {1, 0, 1}; // batch from cu
  a.tensorMaps.push_back({/*source=*/0, {1, 64, 1, 64}, /*swizzle=*/128});
  std::vector<uint8_t> bytes = serializeArtifact(a);
  return std::string(bytes.begin(), bytes.end());
}

/// Half the inputs (by content, so a saved finding replays the same way):
/// the payload mutated and the header and checksum rebuilt around it; the
/// others: the bytes as mutated.
std::string withChecksum(const std::string &mutated) {
  if (std::hash<std::string>()(mutated) % 2 || mutated.size() < kHeader + 4)
    return mutated;
  std::string payload = mutated.substr(kHeader, mutated.size() - kHeader - 4);
  std::string out = mutated.substr(0, 12);
  uint64_t size = payload.size();
  out.append(reinterpret_cast<const char *>(&size), 8);
  out += payload;
  uint32_t crc = artifactChecksum(
      reinterpret_cast<const uint8_t *>(payload.data()), payload.size());
  out.append(reinterpret_cast<const char *>(&crc), 4);
  return out;
}

void runArtifact(const std::string &bytes, bool canLaunch) {
  attn_kernel *kernel = nullptr;
  if (attn_kernel_load(bytes.data(), bytes.size(), &kernel) != ATTN_SUCCESS)
    return;
  ArtifactDesc desc;
  std::string error;
  parseArtifact(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
                desc, error);
  fuzz::Rng rng(std::hash<std::string>()(bytes));
  static std::vector<uint64_t> storage(1 << 16);
  static const int64_t kSizes[] = {0,
                                   1,
                                   2,
                                   7,
                                   64,
                                   100,
                                   -1,
                                   std::numeric_limits<int64_t>::max(),
                                   std::numeric_limits<int64_t>::min(),
                                   int64_t(1) << 40};
  for (int round = 0; round < 4; ++round) {
    std::vector<attn_arg> args(desc.params.size());
    for (size_t i = 0; i < args.size(); ++i) {
      const ParamDesc &p = desc.params[i];
      attn_arg &a = args[i];
      a.kind = static_cast<attn_arg_kind>(p.kind);
      if (rng.below(16) == 0)
        a.kind = static_cast<attn_arg_kind>(rng.below(4));
      if (p.kind != ParamDesc::Tensor) {
        a.i64 = int64_t(rng.next());
        continue;
      }
      attn_tensor &t = a.tensor;
      t.data = rng.below(8) ? static_cast<void *>(storage.data()) : nullptr;
      t.dtype = rng.below(8) ? static_cast<attn_dtype>(p.dtype)
                             : static_cast<attn_dtype>(rng.below(10));
      t.rank = rng.below(8) ? int32_t(p.shape.size())
                            : int32_t(rng.below(ATTN_MAX_RANK + 2));
      t.rank = std::min<int32_t>(t.rank, ATTN_MAX_RANK);
      int64_t stride = 1;
      for (int32_t d = t.rank - 1; d >= 0; --d) {
        bool keep =
            d < int32_t(p.shape.size()) && p.shape[d] >= 0 && rng.below(4);
        t.shape[d] = keep ? p.shape[d] : kSizes[rng.below(std::size(kSizes))];
        t.strides[d] =
            rng.below(8) ? stride : kSizes[rng.below(std::size(kSizes))];
        stride = t.shape[d] > 0 && t.shape[d] < (1 << 20) ? stride * t.shape[d]
                                                          : stride;
      }
    }
    attn_kernel_check_args(kernel, args.data(), args.size());
    if (canLaunch)
      attn_kernel_launch(kernel, args.data(), args.size(), nullptr);
  }
  attn_kernel_free(kernel);
}
} // namespace

int main(int argc, char **argv) {
  double seconds = 60;
  uint64_t maxInputs = ~0ull, seed = 1;
  std::string findings = "fuzz-findings", replay;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *flag) -> const char * {
      size_t n = std::strlen(flag);
      return arg.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (const char *v = value("--seconds="))
      seconds = std::atof(v);
    else if (const char *v = value("--max-inputs="))
      maxInputs = std::strtoull(v, nullptr, 10);
    else if (const char *v = value("--seed="))
      seed = std::strtoull(v, nullptr, 10);
    else if (const char *v = value("--findings="))
      findings = v;
    else if (const char *v = value("--replay="))
      replay = v;
    else if (!arg.empty() && arg[0] == '-') {
      std::cerr
          << "usage: attn-fuzz-artifact [--seconds=S] [--max-inputs=N] "
             "[--seed=N] [--findings=DIR] [--replay=FILE] <corpus dirs...>\n";
      return 2;
    } else
      dirs.push_back(arg);
  }
  std::vector<std::string> seeds = {builtInArtifact()};
  for (const auto &path : fuzz::filesUnder(dirs, {".attn"}))
    seeds.push_back(fuzz::readFile(path));
  // Never launch mutated kernels on a real GPU: only without a driver does
  // attn_kernel_launch run its grid checks and stop at ATTN_ERROR_NO_DRIVER.
  bool canLaunch = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) == nullptr;
  fuzz::Mutator mutator(seeds, {std::string(8, '\xff'), std::string(8, '\0'),
                                std::string("\x7f\xff\xff\xff", 4)});
  auto target = [&](const std::string &mutated) {
    runArtifact(withChecksum(mutated), canLaunch);
  };
  if (!replay.empty()) { // one saved finding, in this process (for gdb)
    target(fuzz::readFile(replay));
    std::cout << "attn-fuzz artifact: " << replay << " ran without a crash\n";
    return 0;
  }
  fuzz::RunReport report = fuzz::runFuzzLoop("artifact", mutator, target, seed,
                                             seconds, maxInputs, findings);
  std::cout << "attn-fuzz artifact: " << report.inputs << " inputs from "
            << seeds.size() << " seeds in " << report.seconds << " s, "
            << report.findings << " findings\n";
  return report.findings ? 1 : 0;
}
