//===- AttnFuzz.cpp - mutation fuzzing of the compiler entry points ------===//
//
// Test-only. `attn-fuzz <target> [options] <corpus dirs...>` runs one entry
// point over mutated versions of the corpus (.mlir files, split at
// `// -----`) under the fork-server loop of FuzzLoop.h:
//
//   opt   the attn-opt path in process: the nesting check and parser, the
//         verifier, the CPU pipeline down to the LLVM dialect, and the GPU
//         kernel generator (attn-gpu-kernels) on a copy;
//   capi  libAttnCompiler's C API: attnc_cpu_compile (the whole CPU
//         backend, JIT included) and attnc_compile_kernel for a chip drawn
//         from supported and unsupported names (PTX through LLVM's NVPTX).
//
// Any input that kills the process or hangs is saved under --findings.
//
//===----------------------------------------------------------------------===//

#include "FuzzLoop.h"

#include "attn/CPU/Pipeline.h"
#include "attn/Compiler/attn_compiler.h"
#include "attn/Conversion/Passes.h"
#include "attn/IR/AttnDialect.h"
#include "attn/Support/SourceLimits.h"
#include "attn/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/CommandLine.h"

#include <memory>

using namespace mlir;
namespace fuzz = ::attn::fuzz;

static llvm::cl::opt<std::string> targetName(llvm::cl::Positional,
                                             llvm::cl::Required,
                                             llvm::cl::desc("<opt|capi>"));
static llvm::cl::list<std::string> corpus(llvm::cl::Positional,
                                          llvm::cl::desc("<corpus dirs>"));
static llvm::cl::opt<double> seconds("seconds", llvm::cl::init(60),
                                     llvm::cl::desc("time budget"));
static llvm::cl::opt<uint64_t> maxInputs("max-inputs", llvm::cl::init(~0ull),
                                         llvm::cl::desc("input budget"));
static llvm::cl::opt<uint64_t> runSeed("seed", llvm::cl::init(1),
                                       llvm::cl::desc("mutation seed"));
static llvm::cl::opt<std::string>
    replay("replay", llvm::cl::init(""),
           llvm::cl::desc("run one saved finding in this process (for gdb)"));
static llvm::cl::opt<std::string>
    findings("findings", llvm::cl::init("fuzz-findings"),
             llvm::cl::desc("where inputs that crash or hang are saved"));

/// Tokens the mutator inserts: the syntax attention IR is made of.
static const std::vector<std::string> kTokens = {
    "[",
    "]",
    "<",
    ">",
    "(",
    ")",
    "{",
    "}",
    ",",
    "?x",
    "x",
    ":",
    "-1",
    "tensor<",
    "f16",
    "bf16",
    "f32",
    "i1",
    "i32",
    "i64",
    "index",
    "#attn.causal<top_left>",
    "#attn.causal<bottom_right>",
    "#attn.sliding_window<left = -1, right = 0, align = top_left>",
    "#attn.prefix_lm<prefix = 3, align = bottom_right>",
    "#attn.chunked<size = 0, align = top_left>",
    "#attn.document",
    "#attn.custom_mask",
    "#attn.mask_mod",
    "#attn.score_mod",
    "#attn.softcap<0.0>",
    "#attn.alibi",
    "#attn.bias",
    "#attn.or<[#attn.causal<top_left>]>",
    "block_sparse = #attn.block_sparse<q_block = 0, kv_block = 64>",
    "sparse_softmax = #attn.sparse_softmax<threshold = 1.0e300, kv_block = 1>",
    "gate = #attn.gate<kind = linear, threshold = -1.0, adaptive = true>",
    "scale = 0.0 : f32",
    "layout = #attn<layout bhsd>",
    "cu_seqlens_q(%q : tensor<?xi32>)",
    "seqused_k(%k : tensor<?xi32>)",
    "sinks(%v : tensor<?xf32>)",
    "tensor.extract %q[%i] : tensor<?xf32>",
    "attn.yield",
    "%s",
    "%i",
    "%j",
    "%b",
    "%h",
    "// -----\n"};

/// The corpus: every `// -----` case of every .mlir file.
static std::vector<std::string> loadSeeds() {
  std::vector<std::string> seeds;
  for (const auto &path : fuzz::filesUnder(corpus, {".mlir"})) {
    std::string text = fuzz::readFile(path);
    size_t start = 0;
    for (;;) {
      size_t split = text.find("// -----", start);
      std::string piece = text.substr(start, split - start);
      if (piece.find("attn.attention") != std::string::npos)
        seeds.push_back(piece);
      if (split == std::string::npos)
        break;
      start = split + 8;
    }
  }
  return seeds;
}

namespace {
/// The attn-opt path in process; one context per child, recreated now and
/// then so that the attributes of many inputs do not pile up.
class OptTarget {
public:
  void operator()(const std::string &source) {
    if (!context || ++uses % 256 == 0)
      reset();
    OwningOpRef<ModuleOp> module =
        mlir::attn::parseModuleWithLimits(source, context.get(), "fuzz.mlir");
    if (!module || failed(verify(*module)))
      return;
    OwningOpRef<ModuleOp> gpu = module->clone();
    PassManager cpu(context.get());
    mlir::attn::CpuPipelineOptions options;
    mlir::attn::buildLowerToCpuPipeline(cpu, options);
    (void)cpu.run(*module);
    PassManager kernels(context.get());
    mlir::attn::buildAttnFrontendPipeline(kernels);
    kernels.addPass(mlir::attn::createAttnGPUKernels());
    kernels.addPass(createCanonicalizerPass());
    (void)kernels.run(*gpu);
  }

private:
  void reset() {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registry.insert<mlir::attn::AttnDialect>();
    context = std::make_unique<MLIRContext>(registry);
    context->loadAllAvailableDialects();
    context->getDiagEngine().registerHandler(
        [](Diagnostic &) { return success(); });
  }
  std::unique_ptr<MLIRContext> context;
  uint64_t uses = 0;
};
} // namespace

/// The C API as Python calls it.
static void capiTarget(const std::string &source) {
  static const char *kChips[] = {"sm_80", "sm_90",   "sm_100", "sm_75",
                                 "",      "sm_120a", "bogus"};
  attnc_cpu_function *function = nullptr;
  if (attnc_cpu_compile(source.c_str(), &function) == 0)
    attnc_cpu_free(function);
  uint8_t *data = nullptr;
  size_t size = 0;
  const char *chip = kChips[std::hash<std::string>()(source) % 7];
  if (attnc_compile_kernel(source.c_str(), chip, "isa", &data, &size) == 0)
    attnc_free(data);
}

int main(int argc, char **argv) {
  llvm::cl::ParseCommandLineOptions(argc, argv, "Attn mutation fuzzer\n");
  std::vector<std::string> seeds = loadSeeds();
  if (seeds.empty()) {
    std::cerr << "attn-fuzz: no .mlir seeds with an attn.attention under the "
                 "corpus directories\n";
    return 2;
  }
  fuzz::Mutator mutator(seeds, kTokens);
  std::function<void(const std::string &)> target;
  if (targetName == "opt") {
    auto opt = std::make_shared<OptTarget>();
    target = [opt](const std::string &s) { (*opt)(s); };
  } else if (targetName == "capi") {
    target = capiTarget;
  } else {
    std::cerr << "attn-fuzz: unknown target '" << targetName
              << "' (opt or capi)\n";
    return 2;
  }
  if (!replay.empty()) {
    target(fuzz::readFile(replay.getValue()));
    std::cout << "attn-fuzz " << targetName << ": " << replay
              << " ran without a crash\n";
    return 0;
  }
  fuzz::RunReport report =
      fuzz::runFuzzLoop(targetName, mutator, target, runSeed, seconds,
                        maxInputs, findings.getValue());
  std::cout << "attn-fuzz " << targetName << ": " << report.inputs
            << " inputs from " << seeds.size() << " seeds in " << report.seconds
            << " s, " << report.findings << " findings\n";
  return report.findings ? 1 : 0;
}
