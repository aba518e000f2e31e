//===- attn-compile.cpp - attn.attention -> kernel artifact ---------------===//
//
// Compiles a function holding one attn.attention into a GPU kernel artifact
// that libAttnRuntime loads (include/attn/Runtime/Artifact.h), and
// optionally into a C++ source that embeds it:
//
//   attn-compile attention.mlir -o kernel.attn [--chip=sm_90] [--format=bin]
//                [--emit-cpp=kernel.cpp --symbol=my_kernel] [--describe]
//                [--strategy=S --block-q=N --block-k=N --stages=N
//                 --producer-warps=N --kv-warps=N --tma=0|1]
//
// --describe prints what the artifact tells the runtime: the launch (block,
// grid rule, shared memory), each parameter's name, dtype, shape, the
// strides compiled into the kernel (? where read at launch) and alignment,
// and the tensor maps the runtime encodes for TMA copies (box, swizzle).
//
// The kernel's parameters are the function's arguments then its results.
//
//===----------------------------------------------------------------------===//

#include "attn/GPU/KernelArtifact.h"
#include "attn/Runtime/Artifact.h"

#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// attn-compile's own options: `--help` lists these, not LLVM's hundreds.
static llvm::cl::OptionCategory attnCategory("attn-compile options");

static llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                            llvm::cl::desc("<input.mlir>"),
                                            llvm::cl::Required,
                                            llvm::cl::cat(attnCategory));
static llvm::cl::opt<std::string> outputFile("o",
                                             llvm::cl::desc("artifact file"),
                                             llvm::cl::Required,
                                             llvm::cl::cat(attnCategory));
static llvm::cl::opt<std::string>
    chip("chip", llvm::cl::init("sm_80"),
         llvm::cl::desc("target GPU (sm_80 ... sm_121a, see GpuTarget.h)"),
         llvm::cl::cat(attnCategory));
static llvm::cl::opt<std::string>
    format("format", llvm::cl::init("isa"),
           llvm::cl::desc("isa (PTX, JIT-compiled by the driver) or bin "
                          "(cubin, needs ptxas)"),
           llvm::cl::cat(attnCategory));
static llvm::cl::opt<std::string>
    emitCpp("emit-cpp",
            llvm::cl::desc("also write a C++ source embedding "
                           "the artifact"),
            llvm::cl::cat(attnCategory));
static llvm::cl::opt<std::string>
    strategy("strategy",
             llvm::cl::desc("force the kernel strategy (sm80, sm90a or decode; "
                            "empty: chosen)"),
             llvm::cl::cat(attnCategory));
static llvm::cl::opt<int64_t>
    blockQ("block-q", llvm::cl::init(0),
           llvm::cl::desc("force the query rows per CTA (0: chosen)"),
           llvm::cl::cat(attnCategory));
static llvm::cl::opt<int64_t>
    blockK("block-k", llvm::cl::init(0),
           llvm::cl::desc("force the keys per kv step (0: chosen)"),
           llvm::cl::cat(attnCategory));
static llvm::cl::opt<int64_t>
    stages("stages", llvm::cl::init(0),
           llvm::cl::desc("force the K/V tiles in flight (0: chosen)"),
           llvm::cl::cat(attnCategory));
static llvm::cl::opt<int64_t> producerWarps(
    "producer-warps", llvm::cl::init(-1),
    llvm::cl::desc("sm90a: force the producer warpgroup's warps, 0 or 4 "
                   "(-1: chosen)"),
    llvm::cl::cat(attnCategory));
static llvm::cl::opt<int64_t>
    kvWarps("kv-warps", llvm::cl::init(0),
            llvm::cl::desc("decode: force the warps splitting each key tile, "
                           "1, 2 or 4 (0: chosen)"),
            llvm::cl::cat(attnCategory));
static llvm::cl::opt<int64_t>
    tma("tma", llvm::cl::init(-1),
        llvm::cl::desc("sm90a with a producer: force TMA copies, 0 (cp.async) "
                       "or 1 (-1: chosen)"),
        llvm::cl::cat(attnCategory));
static llvm::cl::opt<bool>
    describe("describe",
             llvm::cl::desc("print the artifact's launch and parameters"),
             llvm::cl::cat(attnCategory));
static llvm::cl::opt<std::string>
    symbol("symbol", llvm::cl::init("attn_kernel_artifact"),
           llvm::cl::desc("C++ symbol of the embedded artifact"),
           llvm::cl::cat(attnCategory));

namespace {
int fail(const llvm::Twine &message) {
  llvm::errs() << "attn-compile: " << message << "\n";
  return 1;
}

/// "?x?x8x64" ("?" for -1).
std::string dims(const std::vector<int64_t> &values) {
  std::string text;
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? "x" : "") +
            (values[i] < 0 ? std::string("?") : std::to_string(values[i]));
  return text.empty() ? "scalar" : text;
}

/// The artifact as the runtime reads it back.
void printDescription(const std::vector<uint8_t> &bytes) {
  ::attn::runtime::ArtifactDesc a;
  std::string error;
  if (!::attn::runtime::parseArtifact(bytes.data(), bytes.size(), a, error)) {
    llvm::outs() << "artifact does not parse back: " << error << "\n";
    return;
  }
  static const char *kDtypes[] = {"f16", "bf16", "f32", "i8",
                                  "i32", "i64",  "bool"};
  for (const ::attn::runtime::KernelDesc &k : a.kernels) {
    llvm::outs() << "kernel " << k.entry << " target " << a.target << " block "
                 << k.block[0] << "x" << k.block[1] << "x" << k.block[2]
                 << " shared " << k.dynamicSharedBytes
                 << (k.onlyWhenSplit ? " only-when-split" : "") << "\n";
    for (int i = 0; i < 3; ++i) {
      const ::attn::runtime::GridDim &g = k.grid[i];
      llvm::outs() << "  grid "
                   << "xyz"[i] << " = ";
      if (g.param == ::attn::runtime::GridDim::kConstant)
        llvm::outs() << g.value << "\n";
      else if (g.param == ::attn::runtime::GridDim::kSplits)
        llvm::outs() << "splits\n";
      else
        llvm::outs() << "ceil(" << a.params[g.param].name << ".shape[" << g.dim
                     << "] / " << g.value << ")\n";
    }
  }
  const ::attn::runtime::SplitRule &split = a.split;
  if (split.maxSplits > 1)
    llvm::outs() << "split-kv: up to " << split.maxSplits
                 << " splits of >= " << split.minTilesPerSplit
                 << " tiles of ceil(" << a.params[split.keysParam].name
                 << ".shape[" << split.keysDim << "] / " << split.keysPerTile
                 << "); workspace splits x rows("
                 << a.params[split.rowsParam].name << ") x "
                 << split.floatsPerRow << " f32; " << split.ctasPerSm
                 << " CTAs per SM\n";
  for (const ::attn::runtime::ParamDesc &p : a.params) {
    if (p.kind != ::attn::runtime::ParamDesc::Tensor) {
      llvm::outs() << "param " << p.name << " "
                   << (p.kind == ::attn::runtime::ParamDesc::I64 ? "i64"
                                                                 : "f32")
                   << " scalar\n";
      continue;
    }
    llvm::outs() << "param " << p.name << " "
                 << (p.dtype < 7 ? kDtypes[p.dtype] : "?") << " shape "
                 << dims(p.shape) << " strides " << dims(p.strides) << " align "
                 << p.alignment << "\n";
  }
  for (const ::attn::runtime::TensorMapDesc &m : a.tensorMaps) {
    std::vector<int64_t> box(m.box.begin(), m.box.end());
    llvm::outs() << "tensor-map " << a.params[m.source].name << " box "
                 << dims(box) << " swizzle " << m.swizzle << "\n";
  }
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::HideUnrelatedOptions(attnCategory);
  llvm::cl::ParseCommandLineOptions(argc, argv, "Attn kernel compiler\n");

  std::string error;
  auto file = openInputFile(inputFile, &error);
  if (!file)
    return fail(error);
  llvm::Expected<mlir::attn::KernelArtifact> artifact =
      mlir::attn::compileKernelArtifact(
          file->getBuffer(), chip, format,
          {strategy, blockQ, blockK, stages, producerWarps, kvWarps, tma});
  if (!artifact)
    return fail(llvm::toString(artifact.takeError()));
  const std::vector<uint8_t> &serialized = artifact->bytes;
  auto out = openOutputFile(outputFile, &error);
  if (!out)
    return fail(error);
  out->os().write(reinterpret_cast<const char *>(serialized.data()),
                  serialized.size());
  out->keep();
  if (!emitCpp.empty()) {
    auto cpp = openOutputFile(emitCpp, &error);
    if (!cpp)
      return fail(error);
    llvm::raw_ostream &os = cpp->os();
    os << "// Generated by attn-compile from " << inputFile
       << ": the kernel artifact of " << artifact->entry << ".\n"
       << "#include <cstddef>\n#include <cstdint>\n\n"
       << "extern const uint8_t " << symbol << "[] = {";
    for (size_t i = 0; i < serialized.size(); ++i)
      os << (i % 16 ? " " : "\n    ") << unsigned(serialized[i]) << ",";
    os << "\n};\nextern const size_t " << symbol << "_size = sizeof(" << symbol
       << ");\n";
    cpp->keep();
  }
  if (describe)
    printDescription(serialized);
  llvm::outs() << "attn-compile: " << artifact->entry << " (" << chip << ", "
               << format << ", " << serialized.size() << " bytes) -> "
               << outputFile << "\n";
  return 0;
}
