//===- KernelArtifact.cpp - attn.attention -> runtime artifact ------------===//

#include "attn/GPU/KernelArtifact.h"
#include "attn/Compiler/Registration.h"
#include "attn/Conversion/GpuTarget.h"
#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/Passes.h"
#include "attn/GPU/Pipeline.h"
#include "attn/IR/AttnAttrs.h"
#include "attn/IR/AttnDialect.h"
#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"
#include "attn/Support/SourceLimits.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace mlir;
using namespace ::attn::runtime;
using mlir::attn::kKernelBlockAttr;
using mlir::attn::kKernelGridAttr;
using mlir::attn::kKernelOnlyWhenSplitAttr;
using mlir::attn::kKernelOrderAttr;
using mlir::attn::kKernelParamAlignAttr;
using mlir::attn::kKernelParamNameAttr;
using mlir::attn::kKernelSharedBytesAttr;

namespace {
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
  if (isa<Float8E4M3FNType>(type))
    return ATTN_DTYPE_F8E4M3;
  return std::nullopt;
}

/// Launch description of one generated gpu.func.
LogicalResult describeLaunch(gpu::GPUFuncOp kernel, KernelDesc &k) {
  k.entry = kernel.getName().str();
  auto block = kernel->getAttrOfType<DenseI64ArrayAttr>(kKernelBlockAttr);
  auto grid = kernel->getAttrOfType<DenseI64ArrayAttr>(kKernelGridAttr);
  auto shared = kernel->getAttrOfType<IntegerAttr>(kKernelSharedBytesAttr);
  if (!block || !grid || !shared || grid.size() != 9)
    return kernel.emitError("kernel lacks its attn launch attributes");
  for (int i = 0; i < 3; ++i) {
    k.block[i] = block[i];
    k.grid[i] = {int32_t(grid[3 * i]), int32_t(grid[3 * i + 1]),
                 grid[3 * i + 2]};
  }
  k.dynamicSharedBytes = shared.getInt();
  k.onlyWhenSplit = kernel->hasAttr(kKernelOnlyWhenSplitAttr);
  return success();
}

/// The arguments of `kernel` before its tensor maps (which come last).
unsigned argumentsBeforeTensorMaps(gpu::GPUFuncOp kernel) {
  unsigned count = kernel.getNumArguments();
  while (count &&
         kernel.getArgAttr(count - 1, mlir::attn::kKernelTensorMapAttr))
    --count;
  return count;
}

/// The tensor maps of the main kernel, after its other arguments.
LogicalResult describeTensorMaps(gpu::GPUFuncOp kernel, ArtifactDesc &a) {
  for (unsigned index = argumentsBeforeTensorMaps(kernel);
       index < kernel.getNumArguments(); ++index) {
    auto map = kernel.getArgAttrOfType<mlir::attn::TensorMapAttr>(
        index, mlir::attn::kKernelTensorMapAttr);
    if (!map || map.getSource() >= int64_t(a.params.size()) ||
        a.params[map.getSource()].kind != ParamDesc::Tensor ||
        size_t(map.getBox().size()) != a.params[map.getSource()].shape.size())
      return kernel.emitError("tensor map argument ")
             << index << " does not describe a tensor parameter";
    TensorMapDesc m;
    m.source = map.getSource();
    for (int64_t extent : map.getBox().asArrayRef())
      m.box.push_back(extent);
    m.swizzle = map.getSwizzle();
    a.tensorMaps.push_back(std::move(m));
  }
  return success();
}

/// The parameters of the main kernel (all but the workspace, when there is
/// one, and the tensor maps): each one's name, dtype, shape, compiled-in
/// strides and alignment.
LogicalResult describeParams(gpu::GPUFuncOp kernel, bool hasWorkspace,
                             ArtifactDesc &a) {
  unsigned count = argumentsBeforeTensorMaps(kernel) - (hasWorkspace ? 1 : 0);
  for (unsigned index = 0; index < count; ++index) {
    Type type = kernel.getArgumentTypes()[index];
    ParamDesc p;
    auto name =
        kernel.getArgAttrOfType<StringAttr>(index, kKernelParamNameAttr);
    p.name = name ? name.str() : "arg" + std::to_string(index);
    // A scalar (attn.block_mask's lengths) is passed by value.
    if (type.isIndex() || type.isSignlessInteger(64)) {
      p.kind = ParamDesc::I64;
      p.alignment = 8;
      a.params.push_back(std::move(p));
      continue;
    }
    auto memref = dyn_cast<MemRefType>(type);
    std::optional<uint32_t> dtype =
        memref ? dtypeOf(memref.getElementType()) : std::nullopt;
    if (!dtype)
      return kernel.emitError("unsupported parameter type ") << type;
    p.kind = ParamDesc::Tensor;
    p.dtype = *dtype;
    auto dynamicAsMinusOne = [](int64_t v) {
      return ShapedType::isDynamic(v) ? int64_t(-1) : v;
    };
    for (int64_t s : memref.getShape())
      p.shape.push_back(dynamicAsMinusOne(s));
    // The strides the memref type fixes are compiled into the kernel; the
    // dynamic ones come from the tensor at launch.
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(memref.getStridesAndOffset(strides, offset)))
      return kernel.emitError("parameter ")
             << index << " has a layout without strides: " << type;
    for (int64_t s : strides)
      p.strides.push_back(dynamicAsMinusOne(s));
    // Parameters marked by the kernel generator (q/k/v, read 16 bytes at a
    // time by cp.async) need that alignment; the rest are read by element.
    auto align =
        kernel.getArgAttrOfType<IntegerAttr>(index, kKernelParamAlignAttr);
    unsigned bytes = std::max(1u, memref.getElementTypeBitWidth() / 8);
    p.alignment = align ? align.getInt() : bytes;
    a.params.push_back(std::move(p));
  }
  return success();
}

/// The kernels of `module` in launch order, their shared parameters and the
/// split rule.
LogicalResult describeModule(gpu::GPUModuleOp module, ArtifactDesc &a) {
  SmallVector<gpu::GPUFuncOp> kernels;
  if (auto order = module->getAttrOfType<ArrayAttr>(kKernelOrderAttr)) {
    for (Attribute name : order) {
      auto kernel = module.lookupSymbol<gpu::GPUFuncOp>(
          cast<FlatSymbolRefAttr>(name).getValue());
      if (!kernel)
        return module.emitError("attn.kernels names a missing kernel");
      kernels.push_back(kernel);
    }
  } else {
    kernels = llvm::to_vector(module.getOps<gpu::GPUFuncOp>());
  }
  if (kernels.empty() || kernels.size() > ArtifactDesc::kMaxKernels)
    return module.emitError("expected 1 to ")
           << ArtifactDesc::kMaxKernels << " kernels, got " << kernels.size();
  // Only the main kernel takes tensor maps (after the shared parameters).
  auto shared = kernels.front().getArgumentTypes().take_front(
      argumentsBeforeTensorMaps(kernels.front()));
  for (gpu::GPUFuncOp kernel : kernels) {
    if (kernel != kernels.front() && kernel.getArgumentTypes() != shared)
      return kernel.emitError("the kernels of one artifact must take the "
                              "same parameters");
    if (failed(describeLaunch(kernel, a.kernels.emplace_back())))
      return failure();
  }
  if (auto rule = module->getAttrOfType<DenseI64ArrayAttr>(
          mlir::attn::kKernelSplitRuleAttr)) {
    if (rule.size() != 8)
      return module.emitError("attn.split_rule takes 8 integers");
    a.split = {uint32_t(rule[0]), uint32_t(rule[1]), uint32_t(rule[2]),
               int32_t(rule[3]),  int32_t(rule[4]),  rule[5],
               int32_t(rule[6]),  uint32_t(rule[7])};
  }
  if (failed(describeParams(kernels.front(), a.split.maxSplits > 1, a)))
    return failure();
  return describeTensorMaps(kernels.front(), a);
}
} // namespace

llvm::Expected<mlir::attn::KernelArtifact>
mlir::attn::compileKernelArtifact(llvm::StringRef source, llvm::StringRef chip,
                                  llvm::StringRef format, KernelChoice choice) {
  if (format != "isa" && format != "bin")
    return llvm::createStringError("attn compile: format must be 'isa' or "
                                   "'bin', got '" +
                                   format.str() + "'");
  if (llvm::Expected<GpuTarget> target = lookupGpuTarget(chip); !target)
    return llvm::createStringError("attn compile: " +
                                   llvm::toString(target.takeError()));
  DialectRegistry registry;
  registerCompilerDialects(registry);
  MLIRContext context(registry);
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    diagStream << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  auto error = [&](const llvm::Twine &what) {
    return llvm::createStringError("attn compile: " + what.str() +
                                   (diagnostics.empty() ? "" : ":\n") +
                                   diagnostics);
  };

  OwningOpRef<ModuleOp> module =
      parseModuleWithLimits(source, &context, "attention.mlir");
  if (!module)
    return error("cannot parse the module");
  PassManager kernels(&context);
  buildAttnFrontendPipeline(kernels);
  AttnGPUKernelsOptions kernelOptions;
  kernelOptions.chip = chip.str();
  kernelOptions.strategy = choice.strategy;
  kernelOptions.blockQ = choice.blockQ;
  kernelOptions.blockK = choice.blockK;
  kernelOptions.stages = choice.stages;
  kernelOptions.producerWarps = choice.producerWarps;
  kernelOptions.kvWarps = choice.kvWarps;
  kernelOptions.tma = choice.tma;
  kernels.addPass(createAttnGPUKernels(kernelOptions));
  if (failed(kernels.run(*module)))
    return llvm::make_error<llvm::StringError>(
        "attn compile: no GPU kernel for this attention on " + chip.str() +
            ":\n" + diagnostics,
        std::make_error_code(std::errc::not_supported));
  auto gpuModules = llvm::to_vector(module->getOps<gpu::GPUModuleOp>());
  if (gpuModules.size() != 1)
    return error("the input must hold exactly one function with an "
                 "attn.attention or attn.block_mask");
  ArtifactDesc artifact;
  if (failed(describeModule(gpuModules.front(), artifact)))
    return error("cannot describe the kernels");

  PassManager binary(&context);
  GpuPipelineOptions options;
  options.chip = chip.str();
  options.format = format.str();
  buildGpuKernelsToBinaryPipeline(binary, options);
  if (failed(binary.run(*module)))
    return error("lowering to " + format + " failed");
  auto binaries = llvm::to_vector(module->getOps<gpu::BinaryOp>());
  auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
  StringRef bytes = object.getObject().getValue();
  artifact.binary.assign(bytes.begin(), bytes.end());
  artifact.binaryKind =
      format == "bin" ? ArtifactDesc::Cubin : ArtifactDesc::Ptx;
  artifact.target = chip.str();
  artifact.key = artifact.entry() + "." + chip.str();
  return KernelArtifact{artifact.entry(), serializeArtifact(artifact)};
}
