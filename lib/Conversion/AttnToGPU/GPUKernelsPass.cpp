//===- GPUKernelsPass.cpp - the attn-gpu-kernels pass ---------------------===//
//
// Replaces each function holding one attn.attention by a gpu.module with one
// kernel: checks the chip and the op, chooses the lowering config (the
// sm80 strategy, Sm80Config.h), writes the kernel ABI on the gpu.func
// (parameter names and alignments, block, grid rule, shared memory, the
// config: KernelABI.h) and has Sm80KernelBuilder build the body. Kernel
// parameters: the function's arguments, then its results, as memrefs.
//
//===----------------------------------------------------------------------===//

#include "Sm80Config.h"
#include "Sm80KernelBuilder.h"

#include "attn/Conversion/GpuTarget.h"
#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNGPUKERNELS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

namespace {
struct GPUKernelsPass : public attn::impl::AttnGPUKernelsBase<GPUKernelsPass> {
  using AttnGPUKernelsBase::AttnGPUKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<GpuTarget> target = lookupGpuTarget(chip);
    if (!target) {
      mlir::emitError(module.getLoc(), "attn-gpu-kernels: ")
          << llvm::toString(target.takeError());
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs)
      if (failed(convert(module, func, *target)))
        return signalPassFailure();
  }

  LogicalResult convert(ModuleOp module, func::FuncOp func,
                        const GpuTarget &target) {
    SmallVector<AttentionOp> ops;
    func.walk([&](AttentionOp op) { ops.push_back(op); });
    if (ops.empty())
      return success();
    if (ops.size() != 1)
      return func.emitError(
          "attn-gpu-kernels: one attn.attention per function");
    AttentionOp op = ops.front();
    if (std::string why = unsupportedReason(op); !why.empty())
      return op.emitError("attn-gpu-kernels: ") << why;
    std::string why;
    FailureOr<LoweringConfigAttr> config =
        chooseConfig(op, target, blockQ, blockK, why);
    if (failed(config))
      return op.emitError("attn-gpu-kernels: ") << why;
    auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    if (ret.getOperands() != ValueRange(op.getResults()))
      return func.emitError("attn-gpu-kernels: the function must return the "
                            "attn.attention results directly");

    // Kernel parameters: function arguments, then results, as memrefs.
    SmallVector<Type> params;
    for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                           func.getResultTypes())) {
      auto tensor = dyn_cast<RankedTensorType>(t);
      if (!tensor)
        return func.emitError("attn-gpu-kernels: arguments and results must be "
                              "ranked tensors");
      params.push_back(
          MemRefType::get(tensor.getShape(), tensor.getElementType()));
    }

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    Location loc = func.getLoc();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    auto gpuModule =
        gpu::GPUModuleOp::create(b, loc, (func.getName() + "_kernels").str());
    b.setInsertionPointToStart(gpuModule.getBody());
    auto kernel =
        gpu::GPUFuncOp::create(b, loc, (func.getName() + "_kernel").str(),
                               b.getFunctionType(params, {}));
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    ProblemShape shape = op.getProblemShape();
    int64_t shared = sharedBytes(shape.headDim, shape.headDimV, *config);
    int64_t threads = 32 * config->getWarps();
    kernel->setAttr(kKernelConfigAttr, *config);
    kernel->setAttr(kKernelBlockAttr, b.getDenseI64ArrayAttr({threads, 1, 1}));
    kernel->setAttr(kKernelSharedBytesAttr, b.getI64IntegerAttr(shared));
    kernel.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));

    // Map the op's operands to kernel arguments.
    Block &entry = kernel.getBody().front();
    auto argFor = [&](Value tensor) -> Value {
      if (!tensor)
        return nullptr;
      if (auto arg = dyn_cast<BlockArgument>(tensor);
          arg && arg.getOwner() == &func.getBody().front())
        return entry.getArgument(arg.getArgNumber());
      return nullptr;
    };
    AttentionBuffers buf;
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
    for (Value operand : op->getOperands())
      if (!argFor(operand))
        return op.emitError("attn-gpu-kernels: every attn.attention operand "
                            "must be an argument of the function");
    buf.captured = [&func, &entry](Value tensor) -> Value {
      auto arg = dyn_cast<BlockArgument>(tensor);
      if (!arg || arg.getOwner() != &func.getBody().front())
        return nullptr;
      return entry.getArgument(arg.getArgNumber());
    };
    unsigned numArgs = func.getNumArguments();
    buf.out = entry.getArgument(numArgs);
    if (op.getLse())
      buf.lse = entry.getArgument(numArgs + 1);
    // The ABI, on the parameters themselves: each one's name (its operand
    // or result, or a region capture) and, for the tensors read 16 bytes
    // at a time by cp.async (q, k, v), their alignment.
    for (unsigned i = 0; i < numArgs; ++i)
      kernel.setArgAttr(i, kKernelParamNameAttr,
                        b.getStringAttr("capture" + std::to_string(i)));
    for (auto [name, value] : op.getNamedOperands())
      kernel.setArgAttr(cast<BlockArgument>(value).getArgNumber(),
                        kKernelParamNameAttr, b.getStringAttr(name));
    kernel.setArgAttr(numArgs, kKernelParamNameAttr, b.getStringAttr("out"));
    if (op.getLse())
      kernel.setArgAttr(numArgs + 1, kKernelParamNameAttr,
                        b.getStringAttr("lse"));
    for (Value vectorized : {op.getQ(), op.getK(), op.getV()})
      kernel.setArgAttr(cast<BlockArgument>(vectorized).getArgNumber(),
                        kKernelParamAlignAttr, b.getI64IntegerAttr(16));
    // grid = (ceil(Sq / block_q), Hq, B), from q (parameter index of q);
    // varlen: (ceil(T / block_q), Hq, B + 1) from q and cu_seqlens_q.
    int64_t qParam = cast<BlockArgument>(op.getQ()).getArgNumber();
    int64_t batchParam = qParam;
    int64_t rowDim = op.getLayout() == Layout::bhsd ? 2 : 1;
    if (op.isVarlen()) {
      batchParam = cast<BlockArgument>(op.getCuSeqlensQ()).getArgNumber();
      rowDim = 0;
    }
    kernel->setAttr(kKernelGridAttr,
                    b.getDenseI64ArrayAttr({qParam, rowDim, config->getBlockQ(),
                                            -1, 0, op.getProblemShape().headsQ,
                                            batchParam, 0, 1}));

    b.setInsertionPointToStart(&entry);
    KernelBuilder(b, op.getLoc(), op, buf, *config).build();
    b.setInsertionPointToEnd(&entry); // build() may end inside an scf.if
    gpu::ReturnOp::create(b, loc);
    func.erase();
    return success();
  }
};
} // namespace
