//===- GPUKernelsPass.cpp - the attn-gpu-kernels pass ---------------------===//
//
// Replaces each function holding one attn.attention by a gpu.module with the
// kernels of the first strategy that applies (KernelStrategy.h), or the one
// `strategy=` names (a function holding one attn.block_mask: its kernel,
// BlockMaskKernel.h). The pass owns the kernel ABI (KernelABI.h): kernel
// parameters are the function's arguments, then its results, then the
// workspace of a split-KV strategy, as memrefs, each named after its
// operand; every kernel records its block, grid rule, shared memory and
// config, and the module its kernels' launch order and split rule.
//
//===----------------------------------------------------------------------===//

#include "BlockMaskKernel.h"
#include "KernelStrategy.h"
#include "NvvmMath.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include "attn/Conversion/GpuTarget.h"
#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/Passes.h"
#include "attn/Runtime/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNGPUKERNELS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
/// The kernels of one function's op, in one gpu.module.
class FunctionKernels : public KernelSet {
public:
  FunctionKernels(func::FuncOp func, AttentionOp attention,
                  gpu::GPUModuleOp module, LoweringConfigAttr config)
      : func(func), attention(attention), module(module), config(config),
        numArgs(func.getNumArguments()), params(kernelParamTypes(func)) {
    // Paged K/V pools are read with the caller's page stride, so that the
    // K and V halves of one [pages, 2, ...] cache are passed as they are.
    if (attention.isPagedKv())
      for (Value pool : {attention.getK(), attention.getV()}) {
        auto &type = params[paramIndex(pool)];
        auto memref = cast<MemRefType>(type);
        SmallVector<int64_t> strides;
        int64_t offset;
        if (failed(memref.getStridesAndOffset(strides, offset)))
          continue;
        strides.front() = ShapedType::kDynamic;
        type = MemRefType::get(
            memref.getShape(), memref.getElementType(),
            StridedLayoutAttr::get(func.getContext(), /*offset=*/0, strides));
      }
    if (config.getKvSplits() > 1)
      params.push_back(MemRefType::get({ShapedType::kDynamic},
                                       Float32Type::get(func.getContext())));
  }

  AttentionOp op() const override { return attention; }

  int64_t paramIndex(Value value) const override {
    if (auto arg = dyn_cast<BlockArgument>(value))
      return arg.getArgNumber();
    return numArgs + cast<OpResult>(value).getResultNumber();
  }

  Kernel add(OpBuilder &b, StringRef suffix, int64_t threads,
             int64_t sharedBytes, std::array<int64_t, 9> grid,
             bool onlyWhenSplit) override {
    Location loc = func.getLoc();
    auto kernel =
        addKernelFunc(b, loc, module, (func.getName() + "_" + suffix).str(),
                      params, threads, sharedBytes, grid);
    kernel->setAttr(kKernelConfigAttr, config);
    if (onlyWhenSplit)
      kernel->setAttr(kKernelOnlyWhenSplitAttr, b.getUnitAttr());

    Kernel result;
    result.func = kernel;
    Block &entry = kernel.getBody().front();
    auto argFor = [&](Value tensor) -> Value {
      return tensor ? entry.getArgument(paramIndex(tensor)) : nullptr;
    };
    AttentionOp op = attention;
    AttentionBuffers &buf = result.buffers;
    buf.q = argFor(op.getQ());
    buf.k = argFor(op.getK());
    buf.v = argFor(op.getV());
    buf.cuSeqlensQ = argFor(op.getCuSeqlensQ());
    buf.cuSeqlensK = argFor(op.getCuSeqlensK());
    buf.sequsedQ = argFor(op.getSequsedQ());
    buf.sequsedK = argFor(op.getSequsedK());
    buf.docIdsQ = argFor(op.getDocIdsQ());
    buf.docIdsKv = argFor(op.getDocIdsKv());
    buf.customMask = argFor(op.getCustomMask());
    buf.alibiSlopes = argFor(op.getAlibiSlopes());
    buf.bias = argFor(op.getBias());
    buf.kvNumBlocks = argFor(op.getKvNumBlocks());
    buf.kvIndices = argFor(op.getKvIndices());
    buf.fullKvNumBlocks = argFor(op.getFullKvNumBlocks());
    buf.fullKvIndices = argFor(op.getFullKvIndices());
    buf.sinks = argFor(op.getSinks());
    buf.gateAlpha = argFor(op.getGateAlpha());
    buf.gateDelta = argFor(op.getGateDelta());
    buf.kvPageIndptr = argFor(op.getKvPageIndptr());
    buf.kvPageIndices = argFor(op.getKvPageIndices());
    buf.kvLastPageLen = argFor(op.getKvLastPageLen());
    buf.kScale = argFor(op.getKScale());
    buf.vScale = argFor(op.getVScale());
    buf.captured = capturedArguments(func.getBody().front(), entry);
    buf.out = entry.getArgument(numArgs);
    if (op.getLse())
      buf.lse = entry.getArgument(numArgs + 1);
    if (config.getKvSplits() > 1)
      result.workspace = entry.getArguments().back();

    // The ABI, on the parameters themselves: each one's name (its operand
    // or result, or a region capture) and, for the tensors read 16 bytes
    // at a time by cp.async (q, k, v) or written 4 (out), their alignment.
    for (unsigned i = 0; i < numArgs; ++i)
      kernel.setArgAttr(i, kKernelParamNameAttr,
                        b.getStringAttr("capture" + std::to_string(i)));
    for (auto [name, value] : op.getNamedOperands())
      kernel.setArgAttr(paramIndex(value), kKernelParamNameAttr,
                        b.getStringAttr(name));
    kernel.setArgAttr(numArgs, kKernelParamNameAttr, b.getStringAttr("out"));
    if (op.getLse())
      kernel.setArgAttr(numArgs + 1, kKernelParamNameAttr,
                        b.getStringAttr("lse"));
    if (result.workspace)
      kernel.setArgAttr(params.size() - 1, kKernelParamNameAttr,
                        b.getStringAttr("workspace"));
    for (Value vectorized : {op.getQ(), op.getK(), op.getV()})
      kernel.setArgAttr(paramIndex(vectorized), kKernelParamAlignAttr,
                        b.getI64IntegerAttr(16));
    // The epilogue writes out two elements (4 bytes) at a time.
    kernel.setArgAttr(numArgs, kKernelParamAlignAttr, b.getI64IntegerAttr(4));
    b.setInsertionPointToStart(&entry);
    return result;
  }

  Value addTensorMap(Kernel &kernel, TensorMapAttr map) override {
    gpu::GPUFuncOp func = kernel.func;
    MLIRContext *context = func.getContext();
    Builder b(context);
    unsigned position = func.getNumArguments();
    // Its position in the lowered signature (a memref's descriptor words,
    // Artifact.h), for attn-grid-constant-params.
    int64_t lowered = 0;
    for (Type type : func.getArgumentTypes()) {
      auto memref = dyn_cast<MemRefType>(type);
      lowered += memref ? ::attn::runtime::memrefWords(memref.getRank()) : 1;
    }
    auto source = func.getArgAttrOfType<StringAttr>(map.getSource(),
                                                    kKernelParamNameAttr);
    NamedAttrList attrs;
    attrs.append(kKernelParamNameAttr,
                 b.getStringAttr(source.getValue() + "_map"));
    attrs.append(kKernelTensorMapAttr, map);
    attrs.append(LLVM::LLVMDialect::getAlignAttrName(),
                 b.getI64IntegerAttr(64));
    LogicalResult inserted =
        func.insertArgument(position, LLVM::LLVMPointerType::get(context),
                            attrs.getDictionary(context), func.getLoc());
    assert(succeeded(inserted) && "a gpu.func takes new arguments");
    (void)inserted;
    SmallVector<int64_t> positions;
    if (auto earlier =
            func->getAttrOfType<DenseI64ArrayAttr>(kKernelGridConstantsAttr))
      positions.assign(earlier.asArrayRef().begin(),
                       earlier.asArrayRef().end());
    positions.push_back(lowered);
    func->setAttr(kKernelGridConstantsAttr, b.getDenseI64ArrayAttr(positions));
    return func.getArgument(position);
  }

  void setSplitRule(std::array<int64_t, 8> rule) override {
    module->setAttr(kKernelSplitRuleAttr,
                    DenseI64ArrayAttr::get(module.getContext(), rule));
  }

private:
  func::FuncOp func;
  AttentionOp attention;
  gpu::GPUModuleOp module;
  LoweringConfigAttr config;
  unsigned numArgs;
  SmallVector<Type> params;
};

struct GPUKernelsPass
    : public mlir::attn::impl::AttnGPUKernelsBase<GPUKernelsPass> {
  using AttnGPUKernelsBase::AttnGPUKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<GpuTarget> target = lookupGpuTarget(chip);
    if (!target) {
      mlir::emitError(module.getLoc(), "attn-gpu-kernels: ")
          << llvm::toString(target.takeError());
      return signalPassFailure();
    }
    SmallVector<const KernelStrategy *> candidates;
    for (const KernelStrategy *s : kernelStrategies())
      if (strategy.empty() || stringifyGpuStrategy(s->kind()) == strategy)
        candidates.push_back(s);
    if (candidates.empty()) {
      mlir::emitError(module.getLoc(), "attn-gpu-kernels: unknown strategy '")
          << strategy << "' (sm80, sm90a or decode)";
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs)
      if (failed(convert(module, func, *target, candidates)))
        return signalPassFailure();
  }

  /// The first candidate that can build `op`, and its config; the reason
  /// the last one gave when none can.
  FailureOr<std::pair<const KernelStrategy *, LoweringConfigAttr>>
  choose(AttentionOp op, const GpuTarget &target,
         ArrayRef<const KernelStrategy *> candidates, std::string &why) {
    for (const KernelStrategy *s : candidates) {
      why = s->unsupportedReason(op, target);
      if (!why.empty())
        continue;
      FailureOr<LoweringConfigAttr> config = s->chooseConfig(
          op, target, {blockQ, blockK, stages, producerWarps, kvWarps, tma},
          why);
      if (succeeded(config))
        return std::make_pair(s, *config);
    }
    return failure();
  }

  LogicalResult convert(ModuleOp module, func::FuncOp func,
                        const GpuTarget &target,
                        ArrayRef<const KernelStrategy *> candidates) {
    SmallVector<AttentionOp> ops;
    func.walk([&](AttentionOp op) { ops.push_back(op); });
    SmallVector<BlockMaskOp> blockMasks;
    func.walk([&](BlockMaskOp op) { blockMasks.push_back(op); });
    if (ops.size() + blockMasks.size() > 1)
      return func.emitError("attn-gpu-kernels: one attn.attention or "
                            "attn.block_mask per function");
    if (!blockMasks.empty())
      return buildBlockMaskKernel(module, func, blockMasks.front());
    if (ops.empty())
      return success();
    AttentionOp op = ops.front();
    auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    if (ret.getOperands() != ValueRange(op.getResults()))
      return func.emitError("attn-gpu-kernels: the function must return the "
                            "attn.attention results directly");
    for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                           func.getResultTypes()))
      if (!isa<RankedTensorType>(t))
        return func.emitError("attn-gpu-kernels: arguments and results must be "
                              "ranked tensors");
    for (Value operand : op->getOperands()) {
      auto arg = dyn_cast<BlockArgument>(operand);
      if (!arg || arg.getOwner() != &func.getBody().front())
        return op.emitError("attn-gpu-kernels: every attn.attention operand "
                            "must be an argument of the function");
    }
    std::string why;
    auto chosen = choose(op, target, candidates, why);
    if (failed(chosen))
      return op.emitError("attn-gpu-kernels: ") << why;
    auto [strategyImpl, config] = *chosen;

    OpBuilder b(module.getBodyRegion());
    gpu::GPUModuleOp gpuModule = createKernelModule(module, func);
    FunctionKernels kernels(func, op, gpuModule, config);
    strategyImpl->build(kernels, config, target);
    // The element code's tanh (soft-capping) on the SFU: libdevice's
    // accurate tanhf costs an exp2, a reciprocal and a dozen more
    // instructions per score.
    gpuModule.walk([](math::TanhOp tanh) {
      if (!tanh.getType().isF32())
        return;
      OpBuilder b(tanh);
      tanh.replaceAllUsesWith(emitTanh(b, tanh.getLoc(), tanh.getOperand()));
      tanh.erase();
    });
    // |x| as max(x, -x) (one max.NaN.f32): the NVVM lowering turns
    // math.absf and llvm.fabs into calls of libdevice's fabsf, which a PTX
    // artifact cannot link.
    gpuModule.walk([](math::AbsFOp abs) {
      OpBuilder b(abs);
      Value x = abs.getOperand();
      abs.replaceAllUsesWith(
          arith::MaximumFOp::create(b, abs.getLoc(), x,
                                    arith::NegFOp::create(b, abs.getLoc(), x))
              .getResult());
      abs.erase();
    });
    func.erase();
    return success();
  }
};
} // namespace

gpu::GPUModuleOp mlir::attn::createKernelModule(ModuleOp module,
                                                func::FuncOp func) {
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  return gpu::GPUModuleOp::create(b, func.getLoc(),
                                  (func.getName() + "_kernels").str());
}

SmallVector<Type> mlir::attn::kernelParamTypes(func::FuncOp func) {
  SmallVector<Type> params;
  for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                         func.getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    params.push_back(
        tensor ? MemRefType::get(tensor.getShape(), tensor.getElementType())
               : t);
  }
  return params;
}

gpu::GPUFuncOp mlir::attn::addKernelFunc(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name, TypeRange params,
                                         int64_t threads, int64_t sharedBytes,
                                         ArrayRef<int64_t> grid) {
  b.setInsertionPointToEnd(module.getBody());
  auto kernel =
      gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(params, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  kernel->setAttr(kKernelBlockAttr, b.getDenseI64ArrayAttr({threads, 1, 1}));
  kernel->setAttr(kKernelSharedBytesAttr, b.getI64IntegerAttr(sharedBytes));
  kernel->setAttr(kKernelGridAttr, b.getDenseI64ArrayAttr(grid));
  kernel.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  SmallVector<Attribute> order;
  if (auto earlier = module->getAttrOfType<ArrayAttr>(kKernelOrderAttr))
    order.assign(earlier.begin(), earlier.end());
  order.push_back(FlatSymbolRefAttr::get(kernel.getNameAttr()));
  module->setAttr(kKernelOrderAttr, b.getArrayAttr(order));
  return kernel;
}

std::function<Value(Value)> mlir::attn::capturedArguments(Block &source,
                                                          Block &entry) {
  return [&source, &entry](Value tensor) -> Value {
    auto arg = dyn_cast<BlockArgument>(tensor);
    if (!arg || arg.getOwner() != &source)
      return nullptr;
    return entry.getArgument(arg.getArgNumber());
  };
}
