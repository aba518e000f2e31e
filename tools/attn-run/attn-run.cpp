//===- attn-run.cpp - compile one attention, say what each level did, run it =//
//
// The main job (`bash scripts/attn.sh run`): for a function holding one
// attn.attention it reports, in a screenful,
//   1. the frontend's canonical form (masks, mods, scale, layout);
//   2. the mask analysis: of the (q tile, kv tile) pairs of one sequence,
//      how many are empty (skipped), full (no mask code) and partial;
//   3. the GPU strategy chosen for --chip and its tile sizes, the kernel's
//      registers and shared memory, and the compile time (ptxas included);
//   4. the CPU backend's compile time;
//   5. a run on random inputs against the double-precision oracle, on the
//      GPU when there is one (the chip then defaults to it) and on the CPU
//      backend: the error and the speed of each and of the oracle.
// --print-ir adds the CPU pipeline's LLVM-dialect IR (what `attn-opt
// --attn-lower-to-cpu` prints).
//
//   attn-run examples/causal_gqa.mlir [--chip=sm_90] [--batch=1]
//            [--seq-q=512] [--seq-k=512] [--print-ir]
//
//===----------------------------------------------------------------------===//

#include "CubinInfo.h"
#include "DeviceRun.h"
#include "HostRun.h"

#include "attn/Analysis/TileClassification.h"
#include "attn/CPU/CpuAttention.h"
#include "attn/Compiler/Registration.h"
#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/Passes.h"
#include "attn/GPU/KernelArtifact.h"
#include "attn/IR/AttnOps.h"
#include "attn/Reference/OpProblem.h"
#include "attn/Runtime/Artifact.h"
#include "attn/Support/SourceLimits.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
using namespace mlir::attn;

namespace {
llvm::cl::OptionCategory category("attn-run options");
llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                     llvm::cl::desc("<input.mlir>"),
                                     llvm::cl::Required,
                                     llvm::cl::cat(category));
llvm::cl::opt<std::string>
    chip("chip", llvm::cl::init("sm_90"),
         llvm::cl::desc("GPU to build the kernel for (sm_80 ... sm_121a)"),
         llvm::cl::cat(category));
llvm::cl::opt<int64_t> batch("batch", llvm::cl::init(1),
                             llvm::cl::desc("batch size where it is dynamic"),
                             llvm::cl::cat(category));
llvm::cl::opt<int64_t> seqQ("seq-q", llvm::cl::init(512),
                            llvm::cl::desc("query length where it is dynamic"),
                            llvm::cl::cat(category));
llvm::cl::opt<int64_t> seqK("seq-k", llvm::cl::init(512),
                            llvm::cl::desc("key length where it is dynamic"),
                            llvm::cl::cat(category));
llvm::cl::opt<bool> printIR("print-ir",
                            llvm::cl::desc("also print the CPU pipeline's "
                                           "LLVM-dialect IR"),
                            llvm::cl::cat(category));
llvm::cl::opt<unsigned> seed("seed", llvm::cl::init(1),
                             llvm::cl::desc("random inputs' seed"),
                             llvm::cl::cat(category));

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// The single attn.attention of the module, or null (with a message).
AttentionOp theAttention(ModuleOp module) {
  AttentionOp found;
  int count = 0;
  module.walk([&](AttentionOp op) {
    found = op;
    ++count;
  });
  if (count != 1) {
    llvm::errs() << "attn-run: the input must hold exactly one "
                    "attn.attention, found "
                 << count << "\n";
    return {};
  }
  return found;
}

/// Empty / full / partial (q tile, kv tile) pairs of one sequence.
struct TileCounts {
  int64_t empty = 0, full = 0, partial = 0;
};

TileCounts countTiles(AttentionOp op, int64_t qTile, int64_t kvTile, int64_t sq,
                      int64_t sk) {
  TileCounts counts;
  StaticArith arith;
  for (int64_t q0 = 0; q0 < sq; q0 += qTile) {
    RowTileKeys<int64_t> keys = analyzeRowTile(
        arith, op.getMasksAttr(), q0, std::min(q0 + qTile, sq), sq, sk);
    for (int64_t k0 = 0; k0 < sk; k0 += kvTile)
      switch (classifyTile(keys, k0, k0 + kvTile, sk)) {
      case TileClass::Empty:
        ++counts.empty;
        break;
      case TileClass::Full:
        ++counts.full;
        break;
      case TileClass::Partial:
        ++counts.partial;
        break;
      }
  }
  return counts;
}

std::string describeCounts(const TileCounts &c) {
  int64_t total = c.empty + c.full + c.partial;
  return llvm::formatv("{0} tiles: {1} skipped (empty), {2} full (no mask "
                       "code), {3} partial ({4:P0} of the work skipped)",
                       total, c.empty, c.full, c.partial,
                       total ? double(c.empty) / total : 0.0)
      .str();
}

/// The lowering_config attn-gpu-kernels records on the kernel, or the
/// reason it declined.
std::string gpuStrategy(ModuleOp original, Attribute &config) {
  OwningOpRef<ModuleOp> module(original.clone());
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  ScopedDiagnosticHandler handler(module->getContext(), [&](Diagnostic &d) {
    os << d << "\n";
    return success();
  });
  PassManager pm(module->getContext());
  buildAttnFrontendPipeline(pm);
  AttnGPUKernelsOptions options;
  options.chip = chip;
  pm.addPass(createAttnGPUKernels(options));
  if (failed(pm.run(*module)))
    return diagnostics;
  module->walk([&](gpu::GPUFuncOp kernel) {
    config = kernel->getAttr(kKernelConfigAttr);
  });
  return "";
}

std::string attrOrNone(Attribute attr) {
  if (!attr)
    return "none";
  std::string text;
  llvm::raw_string_ostream(text) << attr;
  return text;
}

int64_t dimOr(RankedTensorType type, unsigned axis, int64_t fallback) {
  return type.isDynamicDim(axis) ? fallback : type.getDimSize(axis);
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::HideUnrelatedOptions(category);
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "attn-run: compile one attention, report what each level did, and "
      "run it against the reference\n");
  llvm::outs().SetUnbuffered();

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(inputFile, &error);
  if (!file) {
    llvm::errs() << "attn-run: " << error << "\n";
    return 1;
  }
  llvm::StringRef source = file->getBuffer();
  DialectRegistry registry;
  registerCompilerDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module =
      parseModuleWithLimits(source, &context, inputFile);
  if (!module)
    return 1;

  // 1. Frontend.
  OwningOpRef<ModuleOp> canonical(module->clone());
  auto start = std::chrono::steady_clock::now();
  PassManager frontend(&context);
  buildAttnFrontendPipeline(frontend);
  if (failed(frontend.run(*canonical)))
    return 1;
  double frontendSeconds = secondsSince(start);
  AttentionOp op = theAttention(*canonical);
  if (!op)
    return 1;
  auto q = cast<RankedTensorType>(op.getQ().getType());
  auto k = cast<RankedTensorType>(op.getK().getType());
  bool bhsd = op.getLayout() == Layout::bhsd;
  unsigned seqAxis = bhsd ? 2 : 1;
  int64_t b = dimOr(q, 0, batch), sq = dimOr(q, seqAxis, seqQ),
          sk = dimOr(k, seqAxis, seqK);
  llvm::outs() << llvm::formatv(
      "== {0}: {1}, q {2}, k {3}, v {4}\n", inputFile,
      op->getParentOfType<func::FuncOp>().getSymName(), q, k,
      op.getV().getType());
  llvm::outs() << llvm::formatv("   problem: batch {0}, {1} queries, {2} keys "
                                "(--batch/--seq-q/--seq-k set dynamic ones)\n",
                                b, sq, sk);
  llvm::outs() << llvm::formatv(
      "1. frontend ({0:F1} ms): layout {1}, scale {2:F4}, masks {3}, "
      "score_mods "
      "{4}\n",
      frontendSeconds * 1e3, stringifyLayout(op.getLayout()),
      op.getScaleAttr() ? op.getScaleAttr().getValueAsDouble() : 0.0,
      attrOrNone(op.getMasksAttr()), attrOrNone(op.getScoreModsAttr()));

  std::string noGpu;
  std::optional<attn_run::Gpu> gpu = attn_run::detectGpu(noGpu);
  if (gpu && chip.getNumOccurrences() == 0)
    chip = gpu->chip;

  // 3 (first, for its tile sizes). The GPU strategy.
  Attribute config;
  std::string declined = gpuStrategy(*module, config);
  auto lowering = dyn_cast_or_null<LoweringConfigAttr>(config);

  // 2. Mask analysis, with the tiles of each back end.
  cpu::CompileOptions cpuTiles;
  llvm::outs() << "2. mask analysis, one sequence:\n";
  if (lowering)
    llvm::outs() << llvm::formatv(
        "   GPU {0}x{1}: {2}\n", lowering.getBlockQ(), lowering.getBlockK(),
        describeCounts(countTiles(op, lowering.getBlockQ(),
                                  lowering.getBlockK(), sq, sk)));
  llvm::outs() << llvm::formatv(
      "   CPU {0}x{1}: {2}\n", cpuTiles.qTile, cpuTiles.kvTile,
      describeCounts(countTiles(op, cpuTiles.qTile, cpuTiles.kvTile, sq, sk)));

  // 3. The GPU kernel.
  std::vector<uint8_t> artifactBytes;
  if (!lowering) {
    llvm::outs() << "3. GPU " << chip << ": no kernel: " << declined;
  } else {
    llvm::outs() << llvm::formatv(
        "3. GPU {0}: strategy {1}, block_q {2}, block_k {3}, {4} warps{7}, "
        "{5} stages{6}\n",
        chip, lowering.getStrategy(), lowering.getBlockQ(),
        lowering.getBlockK(), lowering.getWarps(), lowering.getStages(),
        lowering.getKvSplits() > 1
            ? llvm::formatv(", keys split over up to {0} CTAs",
                            lowering.getKvSplits())
                  .str()
            : std::string(),
        lowering.getKvWarps() > 1
            ? llvm::formatv(" ({0} per query row, each over its share of "
                            "the keys)",
                            lowering.getKvWarps())
                  .str()
            : std::string());
    start = std::chrono::steady_clock::now();
    llvm::StringRef format = "bin";
    llvm::Expected<KernelArtifact> artifact =
        compileKernelArtifact(source, chip, format);
    if (!artifact) {
      std::string message = llvm::toString(artifact.takeError());
      if (message.find("ptxas") == std::string::npos) {
        llvm::outs() << "   compile failed: " << message << "\n";
        return 1;
      }
      format = "isa"; // no ptxas here: PTX for the driver to JIT
      start = std::chrono::steady_clock::now();
      artifact = compileKernelArtifact(source, chip, format);
      if (!artifact) {
        llvm::outs() << "   compile failed: "
                     << llvm::toString(artifact.takeError()) << "\n";
        return 1;
      }
    }
    double compileSeconds = secondsSince(start);
    artifactBytes = artifact->bytes;
    ::attn::runtime::ArtifactDesc desc;
    std::string parseError;
    if (!::attn::runtime::parseArtifact(
            artifact->bytes.data(), artifact->bytes.size(), desc, parseError)) {
      llvm::outs() << "   bad artifact: " << parseError << "\n";
      return 1;
    }
    std::string resources = "PTX (no ptxas here: registers decided at load)";
    if (format == "bin") {
      if (std::optional<attn_run::CubinInfo> info =
              attn_run::readCubinInfo(desc.binary, desc.entry()))
        resources = llvm::formatv(
            "{0} registers/thread, {1} B stack frame{2}, {3} B shared memory",
            info->registers, info->frameBytes,
            info->frameBytes ? " (spills)" : "",
            info->staticSharedBytes + desc.kernels.front().dynamicSharedBytes);
    }
    const ::attn::runtime::KernelDesc &main = desc.kernels.front();
    llvm::outs() << llvm::formatv(
        "   kernel {0}: {1} threads/CTA, {2}; {3} KiB {4}; compiled in "
        "{5:F2} s (IR -> {4}, ptxas included)\n",
        desc.entry(), main.block[0] * main.block[1] * main.block[2], resources,
        desc.binary.size() / 1024, format == "bin" ? "cubin" : "PTX",
        compileSeconds);
    // Further kernels of the artifact (split-KV: the merge).
    for (const ::attn::runtime::KernelDesc &k :
         llvm::ArrayRef(desc.kernels).drop_front())
      llvm::outs() << llvm::formatv(
          "   kernel {0}: {1} threads/CTA, {2} B shared memory{3}\n", k.entry,
          k.block[0] * k.block[1] * k.block[2], k.dynamicSharedBytes,
          k.onlyWhenSplit ? ", launched when the keys are split" : "");
  }

  // 4. The CPU backend.
  start = std::chrono::steady_clock::now();
  llvm::Expected<std::unique_ptr<cpu::CompiledAttention>> function =
      cpu::CompiledAttention::compile(source, cpuTiles);
  if (!function) {
    llvm::outs() << "4. CPU: compile failed: "
                 << llvm::toString(function.takeError()) << "\n";
    return 1;
  }
  llvm::StringRef lowered = (*function)->loweredIR();
  llvm::outs() << llvm::formatv("4. CPU: tiled, online softmax, LLVM dialect "
                                "({0} lines), JIT-compiled in {1:F2} s\n",
                                lowered.count('\n'), secondsSince(start));

  // 5. Run it against the oracle.
  auto func = op->getParentOfType<func::FuncOp>();
  llvm::Expected<reference::Problem> problem =
      reference::problemFromOp(op, b, sq, sk);
  if (func.getNumArguments() != 3)
    llvm::outs() << "5. run: skipped: the function takes operands besides "
                    "q, k and v (the tests and python/ run those)\n";
  else if (!problem)
    llvm::outs() << "5. run: skipped: " << llvm::toString(problem.takeError())
                 << "\n";
  else {
    Type element = q.getElementType();
    attn_run::ElementType dtype = element.isBF16() ? attn_run::ElementType::BF16
                                  : element.isF16()
                                      ? attn_run::ElementType::F16
                                      : attn_run::ElementType::F32;
    bool hasLse = op.getLse() != nullptr;
    attn_run::Tensors tensors = attn_run::makeTensors(*problem, dtype, seed);
    problem->q = tensors.q.values;
    problem->k = tensors.k.values;
    problem->v = tensors.v.values;
    start = std::chrono::steady_clock::now();
    reference::Result expected = reference::computeAttention(*problem);
    double referenceSeconds = secondsSince(start);
    // FLOPs of the kept pairs: 2 (QK^T) + 2 (PV) per pair and dimension.
    TileCounts exact = countTiles(op, 1, 1, sq, sk);
    double flops = 2.0 * double(b) * problem->headsQ *
                   double(exact.full + exact.partial) *
                   (problem->headDim + problem->headDimV);
    double tolerance = dtype == attn_run::ElementType::F32 ? 1e-4 : 2e-2;
    bool failed = false;
    auto report = [&](llvm::StringRef where, const attn_run::Errors &errors,
                      double seconds) {
      llvm::outs() << llvm::formatv(
          "   {0}: max relative error {1:E2}{2}; {3:F2} {4}FLOP/s\n", where,
          errors.maxRelError,
          hasLse
              ? llvm::formatv(", lse max abs error {0:E2}", errors.maxLseError)
                    .str()
              : std::string(),
          flops / seconds * (where.starts_with("GPU") ? 1e-12 : 1e-9),
          where.starts_with("GPU") ? "T" : "G");
      if (!(errors.maxRelError <= tolerance)) {
        llvm::outs() << "   FAILED: the error is above " << tolerance << "\n";
        failed = true;
      }
    };
    llvm::outs() << "5. random inputs vs the float64 oracle ("
                 << llvm::formatv("{0:F2} GFLOP/s",
                                  flops / referenceSeconds * 1e-9)
                 << "):\n";
    if (gpu && !artifactBytes.empty()) {
      attn_run::Tensors onGpu = tensors;
      llvm::Expected<double> seconds =
          attn_run::runOnGpu(artifactBytes, onGpu, dtype, hasLse);
      if (!seconds) {
        llvm::outs() << "   " << llvm::toString(seconds.takeError()) << "\n";
        failed = true;
      } else {
        report("GPU " + gpu->name,
               attn_run::compare(expected, onGpu, dtype, hasLse), *seconds);
      }
    } else {
      llvm::outs() << "   GPU: not run here (" << (gpu ? "no kernel" : noGpu)
                   << ")\n";
    }
    llvm::Expected<double> cpuSeconds =
        attn_run::runOnCpu(**function, tensors, dtype, hasLse);
    if (!cpuSeconds) {
      llvm::outs() << "   CPU run failed: "
                   << llvm::toString(cpuSeconds.takeError()) << "\n";
      return 1;
    }
    report("CPU", attn_run::compare(expected, tensors, dtype, hasLse),
           *cpuSeconds);
    if (failed)
      return 1;
  }
  if (printIR)
    llvm::outs() << "\n" << lowered;
  else
    llvm::outs() << "   (--print-ir prints the CPU pipeline's LLVM-dialect "
                    "IR)\n";
  return 0;
}
