//===- FuzzLoop.h - a crash-isolating mutation fuzz loop --------*- C++ -*-===//
//
// Test-only. A fork server runs one entry point of Attn over mutated inputs
// for a bounded time: a child process runs the inputs; before each one it
// copies the input into memory shared with the parent, so when the child
// dies (signal, abort, exit, a hang past the watchdog) the parent saves
// that input as a finding and starts a new child at the next input. The
// mutations are deterministic in (seed, input number), so a run repeats.
//
// A mutation loop, not coverage guidance: libFuzzer's coverage would only
// see this harness, not the g++-built MLIR libraries it calls.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_FUZZ_FUZZLOOP_H
#define ATTN_TEST_FUZZ_FUZZLOOP_H

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace attn::fuzz {

/// splitmix64: a small deterministic generator.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0).
  size_t below(size_t n) { return n ? next() % n : 0; }

private:
  uint64_t state;
};

/// Byte-level and token-level mutations of a text or binary input.
class Mutator {
public:
  Mutator(std::vector<std::string> seeds, std::vector<std::string> tokens)
      : seeds(std::move(seeds)), tokens(std::move(tokens)) {}

  /// Input number `index` of the run with `runSeed`.
  std::string input(uint64_t runSeed, uint64_t index) const {
    Rng rng(runSeed * 0x100000001B3ull ^ index);
    std::string data = seeds[rng.below(seeds.size())];
    size_t steps = 1 + rng.below(4);
    for (size_t s = 0; s < steps; ++s)
      mutate(rng, data);
    return data;
  }

private:
  void mutate(Rng &rng, std::string &data) const {
    size_t at = rng.below(data.size() + 1);
    switch (rng.below(7)) {
    case 0: // a number replaced by an interesting one
      if (size_t digit = data.find_first_of("0123456789", at);
          digit != std::string::npos) {
        size_t end = data.find_first_not_of("0123456789.xe-", digit);
        data.replace(digit, end == std::string::npos ? end : end - digit,
                     kNumbers[rng.below(std::size(kNumbers))]);
      }
      break;
    case 1: // delete a range
      data.erase(at, 1 + rng.below(16));
      break;
    case 2: { // duplicate a range
      std::string piece = data.substr(at, 1 + rng.below(64));
      data.insert(rng.below(data.size() + 1), piece);
      break;
    }
    case 3: // insert a token
      if (!tokens.empty())
        data.insert(at, tokens[rng.below(tokens.size())]);
      break;
    case 4: // flip a byte
      if (!data.empty())
        data[rng.below(data.size())] ^= char(1u << rng.below(8));
      break;
    case 5: { // splice in a range of another seed
      const std::string &other = seeds[rng.below(seeds.size())];
      size_t from = rng.below(other.size() + 1);
      data.insert(at, other.substr(from, 1 + rng.below(128)));
      break;
    }
    default: // overwrite a byte with a random one
      if (!data.empty())
        data[rng.below(data.size())] = char(rng.next());
      break;
    }
  }

  static constexpr const char *kNumbers[] = {"0",
                                             "-1",
                                             "1",
                                             "2",
                                             "3",
                                             "7",
                                             "64",
                                             "65",
                                             "128",
                                             "256",
                                             "2147483647",
                                             "-2147483648",
                                             "4294967296",
                                             "9223372036854775807",
                                             "-9223372036854775808",
                                             "1.0e308",
                                             "1e-5",
                                             "0x7FC00000",
                                             "0xFF800000",
                                             "-0.0",
                                             "1048576"};
  std::vector<std::string> seeds, tokens;
};

/// The outcome of a run.
struct RunReport {
  uint64_t inputs = 0;
  uint64_t findings = 0;
  double seconds = 0;
};

/// Runs `target` on inputs 0, 1, ... of `mutator` until `seconds` pass or
/// `maxInputs` are done; inputs that kill the child (or hang for
/// `hangSeconds`) are written to `findings/<name>-<n>`.
inline RunReport
runFuzzLoop(const std::string &name, const Mutator &mutator,
            const std::function<void(const std::string &)> &target,
            uint64_t runSeed, double seconds, uint64_t maxInputs,
            const std::filesystem::path &findings, double hangSeconds = 30) {
  constexpr size_t kMaxInput = 1 << 20;
  struct Shared {
    std::atomic<uint64_t> done;
    std::atomic<uint32_t> size;
    char data[kMaxInput];
  };
  void *memory = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    std::perror("mmap");
    std::exit(2);
  }
  auto *shared = new (memory) Shared();
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  RunReport report;
  while (elapsed() < seconds && shared->done.load() < maxInputs) {
    std::cout.flush();
    pid_t child = fork();
    if (child == 0) {
      for (;;) {
        uint64_t index = shared->done.load();
        if (index >= maxInputs || elapsed() >= seconds)
          _exit(0);
        std::string input = mutator.input(runSeed, index);
        input.resize(std::min(input.size(), kMaxInput));
        std::memcpy(shared->data, input.data(), input.size());
        shared->size.store(input.size());
        target(input);
        shared->done.fetch_add(1);
      }
    }
    int status = 0;
    uint64_t lastDone = shared->done.load();
    auto lastProgress = Clock::now();
    bool hung = false;
    while (waitpid(child, &status, WNOHANG) == 0) {
      usleep(20000);
      if (uint64_t now = shared->done.load(); now != lastDone) {
        lastDone = now;
        lastProgress = Clock::now();
      } else if (std::chrono::duration<double>(Clock::now() - lastProgress)
                     .count() > hangSeconds) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        hung = true;
        break;
      }
    }
    if (!hung && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      continue;
    // The child died on the input it was running: save it, skip it.
    std::filesystem::create_directories(findings);
    std::string file =
        (findings / (name + "-" + std::to_string(shared->done.load())))
            .string();
    std::ofstream(file, std::ios::binary)
        .write(shared->data, shared->size.load());
    std::cerr << "attn-fuzz: " << name << " input " << shared->done.load()
              << (hung ? " hung" : " killed the process") << " (status "
              << status << "), saved as " << file << "\n";
    ++report.findings;
    shared->done.fetch_add(1);
  }
  report.inputs = shared->done.load();
  report.seconds = elapsed();
  munmap(memory, sizeof(Shared));
  return report;
}

/// The files under `dirs` whose names end in one of `suffixes` (sorted).
inline std::vector<std::filesystem::path>
filesUnder(const std::vector<std::string> &dirs,
           const std::vector<std::string> &suffixes) {
  std::vector<std::filesystem::path> files;
  for (const std::string &dir : dirs) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec))
      for (const std::string &suffix : suffixes)
        if (const std::string name = it->path().string();
            it->is_regular_file() && name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) ==
                0)
          files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace attn::fuzz

#endif // ATTN_TEST_FUZZ_FUZZLOOP_H
