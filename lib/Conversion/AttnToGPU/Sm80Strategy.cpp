//===- Sm80Strategy.cpp - the sm80 strategy and the strategy list ---------===//
//
// The sm80 strategy (Sm80Config.h: legality and tiles; Sm80KernelBuilder.h:
// the kernel) as a KernelStrategy, and the order attn-gpu-kernels tries the
// strategies in.
//
//===----------------------------------------------------------------------===//

#include "KernelStrategy.h"
#include "Sm80Config.h"
#include "Sm80KernelBuilder.h"
#include "TensorMaps.h"

#include "attn/Conversion/KernelABI.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
class Sm80Strategy : public KernelStrategy {
public:
  GpuStrategy kind() const override { return GpuStrategy::sm80; }

  std::string unsupportedReason(AttentionOp op,
                                const GpuTarget &) const override {
    return sm80::unsupportedReason(op);
  }

  FailureOr<LoweringConfigAttr> chooseConfig(AttentionOp op,
                                             const GpuTarget &target,
                                             const ForcedConfig &forced,
                                             std::string &why) const override {
    return sm80::chooseConfig(op, target, forced, why);
  }

  void build(KernelSet &kernels, LoweringConfigAttr config,
             const GpuTarget &) const override {
    sm80::buildTiledKernel(kernels, config);
  }
};
} // namespace

gpu::GPUFuncOp sm80::buildTiledKernel(KernelSet &kernels,
                                      LoweringConfigAttr config) {
  AttentionOp op = kernels.op();
  ProblemShape shape = op.getProblemShape();
  int64_t qParam = kernels.paramIndex(op.getQ());
  int64_t batchParam = qParam;
  int64_t rowDim = op.getLayout() == Layout::bhsd ? 2 : 1;
  if (op.isVarlen()) {
    batchParam = kernels.paramIndex(op.getCuSeqlensQ());
    rowDim = 0;
  }
  OpBuilder b(op.getContext());
  KernelSet::Kernel kernel = kernels.add(
      b, "kernel", 32 * (config.getWarps() + config.getProducerWarps()),
      sm80::sharedBytes(op, config),
      {qParam, rowDim, config.getBlockQ(), kGridConstant, 0, shape.headsQ,
       batchParam, 0, 1});
  sm80::KernelBuilder builder(b, op.getLoc(), op, kernel.buffers, config);
  if (config.getTma()) {
    auto map = [&](Value tensor, int64_t rows, int64_t dim) {
      return kernels.addTensorMap(
          kernel,
          sm90::tileTensorMap(op, kernels.paramIndex(tensor), rows, dim));
    };
    // In this order after the other parameters: q, k, v.
    Value q = map(op.getQ(), config.getBlockQ(), shape.headDim);
    Value k = map(op.getK(), config.getBlockK(), shape.headDim);
    Value v = map(op.getV(), config.getBlockK(), shape.headDimV);
    builder.copyWithTensorMaps(q, k, v);
  }
  builder.build();
  b.setInsertionPointToEnd(&kernel.func.getBody().front());
  gpu::ReturnOp::create(b, op.getLoc());
  return kernel.func;
}

const KernelStrategy &mlir::attn::sm80Strategy() {
  static const Sm80Strategy strategy;
  return strategy;
}

ArrayRef<const KernelStrategy *> mlir::attn::kernelStrategies() {
  static const KernelStrategy *const order[] = {
      &decodeStrategy(), &sm90aStrategy(), &sm80Strategy()};
  return order;
}
