//===- attn-compile.cpp - attn.attention -> kernel artifact ---------------===//
//
// Compiles a function holding one attn.attention into a GPU kernel artifact
// that libAttnRuntime loads (include/attn/Runtime/Artifact.h), and
// optionally into a C++ source that embeds it:
//
//   attn-compile attention.mlir -o kernel.attn [--chip=sm_90] [--format=bin]
//                [--emit-cpp=kernel.cpp --symbol=my_kernel]
//
// The kernel's parameters are the function's arguments then its results.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"
#include "attn/GPU/Pipeline.h"
#include "attn/IR/AttnDialect.h"
#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace ::attn::runtime;

static llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                            llvm::cl::desc("<input.mlir>"),
                                            llvm::cl::Required);
static llvm::cl::opt<std::string> outputFile("o",
                                             llvm::cl::desc("artifact file"),
                                             llvm::cl::Required);
static llvm::cl::opt<std::string> chip("chip", llvm::cl::init("sm_80"),
                                       llvm::cl::desc("target GPU"));
static llvm::cl::opt<std::string>
    format("format", llvm::cl::init("isa"),
           llvm::cl::desc("isa (PTX, JIT-compiled by the driver) or bin "
                          "(cubin, needs ptxas)"));
static llvm::cl::opt<std::string>
    emitCpp("emit-cpp", llvm::cl::desc("also write a C++ source embedding "
                                       "the artifact"));
static llvm::cl::opt<std::string>
    symbol("symbol", llvm::cl::init("attn_kernel_artifact"),
           llvm::cl::desc("C++ symbol of the embedded artifact"));

namespace {
int fail(const llvm::Twine &message) {
  llvm::errs() << "attn-compile: " << message << "\n";
  return 1;
}

std::optional<uint32_t> dtypeOf(Type type) {
  if (type.isF16())
    return ATTN_DTYPE_F16;
  if (type.isBF16())
    return ATTN_DTYPE_BF16;
  if (type.isF32())
    return ATTN_DTYPE_F32;
  if (type.isInteger(1))
    return ATTN_DTYPE_BOOL;
  if (type.isInteger(8))
    return ATTN_DTYPE_I8;
  if (type.isInteger(32))
    return ATTN_DTYPE_I32;
  if (type.isInteger(64))
    return ATTN_DTYPE_I64;
  return std::nullopt;
}

/// Launch description and parameters from the generated gpu.func.
LogicalResult describeKernel(gpu::GPUFuncOp kernel, ArtifactDesc &a) {
  a.entry = kernel.getName().str();
  auto block = kernel->getAttrOfType<DenseI64ArrayAttr>("attn.block");
  auto grid = kernel->getAttrOfType<DenseI64ArrayAttr>("attn.grid");
  auto shared = kernel->getAttrOfType<IntegerAttr>("attn.shared_bytes");
  if (!block || !grid || !shared || grid.size() != 9)
    return kernel.emitError("kernel lacks its attn launch attributes");
  for (int i = 0; i < 3; ++i) {
    a.block[i] = block[i];
    a.grid[i] = {int32_t(grid[3 * i]), int32_t(grid[3 * i + 1]),
                 grid[3 * i + 2]};
  }
  a.dynamicSharedBytes = shared.getInt();
  for (auto [index, type] : llvm::enumerate(kernel.getArgumentTypes())) {
    auto memref = cast<MemRefType>(type);
    std::optional<uint32_t> dtype = dtypeOf(memref.getElementType());
    if (!dtype)
      return kernel.emitError("unsupported parameter type ") << type;
    ParamDesc p;
    p.name = "arg" + std::to_string(index);
    p.kind = ParamDesc::Tensor;
    p.dtype = *dtype;
    p.shape.assign(memref.getShape().begin(), memref.getShape().end());
    for (int64_t &s : p.shape)
      if (ShapedType::isDynamic(s))
        s = -1;
    // q/k/v are read 16 bytes at a time (cp.async); the rest by element.
    bool vectorized = index < 3;
    unsigned bytes = std::max(1u, memref.getElementTypeBitWidth() / 8);
    p.alignment = vectorized ? 16 : bytes;
    p.innermostContiguous = vectorized;
    a.params.push_back(std::move(p));
  }
  return success();
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(argc, argv, "Attn kernel compiler\n");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::attn::AttnDialect>();
  MLIRContext context(registry);

  std::string error;
  auto file = openInputFile(inputFile, &error);
  if (!file)
    return fail(error);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return fail("cannot parse " + inputFile);

  PassManager kernels(&context);
  mlir::attn::buildAttnFrontendPipeline(kernels);
  kernels.addPass(mlir::attn::createAttnGPUKernels());
  if (failed(kernels.run(*module)))
    return fail("kernel generation failed");
  auto gpuFuncs = llvm::to_vector(module->getOps<gpu::GPUModuleOp>());
  if (gpuFuncs.size() != 1)
    return fail("the input must hold exactly one function with an "
                "attn.attention");
  ArtifactDesc artifact;
  gpu::GPUFuncOp kernel = *gpuFuncs.front().getOps<gpu::GPUFuncOp>().begin();
  if (failed(describeKernel(kernel, artifact)))
    return 1;

  PassManager binary(&context);
  mlir::attn::GpuPipelineOptions options;
  options.chip = chip;
  options.format = format;
  mlir::attn::buildGpuKernelsToBinaryPipeline(binary, options);
  if (failed(binary.run(*module)))
    return fail("lowering to " + format + " failed");
  auto binaries = llvm::to_vector(module->getOps<gpu::BinaryOp>());
  auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
  StringRef bytes = object.getObject().getValue();
  artifact.binary.assign(bytes.begin(), bytes.end());
  artifact.binaryKind =
      format == "bin" ? ArtifactDesc::Cubin : ArtifactDesc::Ptx;
  artifact.target = chip;
  artifact.key = artifact.entry + "." + chip;

  std::vector<uint8_t> serialized = serializeArtifact(artifact);
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
       << ": the kernel artifact of " << artifact.entry << ".\n"
       << "#include <cstddef>\n#include <cstdint>\n\n"
       << "extern const uint8_t " << symbol << "[] = {";
    for (size_t i = 0; i < serialized.size(); ++i)
      os << (i % 16 ? " " : "\n    ") << unsigned(serialized[i]) << ",";
    os << "\n};\nextern const size_t " << symbol
       << "_size = sizeof(" << symbol << ");\n";
    cpp->keep();
  }
  llvm::outs() << "attn-compile: " << artifact.entry << " (" << chip << ", "
               << format << ", " << serialized.size() << " bytes) -> "
               << outputFile << "\n";
  return 0;
}
