//===- KernelStrategy.h - the GPU kernel strategy seam ----------*- C++ -*-===//
//
// A kernel strategy is one way to turn an attn.attention into GPU kernels:
// whether it applies to an op on a chip, the #attn.lowering_config it
// builds the op with, and the kernels it builds. attn-gpu-kernels asks the
// strategies in preference order (or the one it is told to use) and the
// first that applies builds the kernels into a KernelSet, which owns the
// kernel ABI: every kernel takes the function's arguments, then its
// results, then (for split-KV) the workspace, with their names and
// alignments written on them (KernelABI.h).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELSTRATEGY_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELSTRATEGY_H

#include "attn/Conversion/GpuTarget.h"
#include "attn/IR/AttnAttrs.h"
#include "attn/IR/AttnOps.h"
#include "attn/Transforms/DocumentKeys.h"
#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include <array>
#include <functional>
#include <string>

namespace mlir::attn {

/// What attn-gpu-kernels was told to use (0, or -1 for producerWarps: the
/// strategy chooses).
struct ForcedConfig {
  int64_t blockQ = 0;
  int64_t blockK = 0;
  int64_t stages = 0;
  int64_t producerWarps = -1;
  /// Warps sharing each query row (decode; 0: chosen).
  int64_t kvWarps = 0;
  /// TMA copies (sm90a with a producer): 0 no, 1 yes, -1 chosen.
  int64_t tma = -1;

  /// The producer warps where the strategy does not choose them: the forced
  /// count, or none.
  int64_t producerWarpsOrNone() const {
    return producerWarps < 0 ? 0 : producerWarps;
  }

  /// Why a strategy with one warp per query row cannot take the forced
  /// kv warps, or "".
  std::string kvWarpsReason() const {
    return kvWarps > 1 ? "kv_warps > 1 needs the decode strategy (got " +
                             std::to_string(kvWarps) + ")"
                       : "";
  }

  /// Why a strategy without a producer warpgroup cannot take forced TMA
  /// copies, or "".
  std::string tmaReason() const {
    return tma == 1 ? "tma = 1 needs the sm90a strategy with a producer "
                      "warpgroup"
                    : "";
  }
};

/// The kernels of one op being built: a strategy adds them in launch order.
class KernelSet {
public:
  /// One added kernel: its function, the op's operands and results as its
  /// arguments, and the workspace argument (null without split-KV).
  struct Kernel {
    gpu::GPUFuncOp func;
    AttentionBuffers buffers;
    Value workspace;
  };

  virtual ~KernelSet() = default;

  /// The op the kernels compute.
  virtual AttentionOp op() const = 0;

  /// The parameter index of an operand or result of the op (a function
  /// argument), for grid and split rules.
  virtual int64_t paramIndex(Value operandOrResult) const = 0;

  /// Adds the kernel `<function>_<suffix>` with `threads` threads per CTA,
  /// `sharedBytes` of dynamic shared memory and `grid` (three (parameter,
  /// dimension, divisor) triples, KernelABI.h); `b` is left at the start
  /// of its body. `onlyWhenSplit`: launched only when the keys are split.
  virtual Kernel add(OpBuilder &b, StringRef suffix, int64_t threads,
                     int64_t sharedBytes, std::array<int64_t, 9> grid,
                     bool onlyWhenSplit = false) = 0;

  /// Appends to `kernel` an argument holding the tensor map `map` (an
  /// `!llvm.ptr` to the 128 bytes the runtime encodes; KernelABI.h) after
  /// its others, and returns it.
  virtual Value addTensorMap(Kernel &kernel, TensorMapAttr map) = 0;

  /// Records the split-KV rule (attn::runtime::SplitRule, in the order of
  /// kKernelSplitRuleAttr).
  virtual void setSplitRule(std::array<int64_t, 8> rule) = 0;
};

/// The kernel ABI's pieces that every generated kernel shares (defined with
/// the pass, GPUKernelsPass.cpp):
///
/// The gpu.module `<function>_kernels` that will hold `func`'s kernels, at
/// the end of `module` (marked a GPU container module).
gpu::GPUModuleOp createKernelModule(ModuleOp module, func::FuncOp func);

/// The kernel parameter types of `func`: its arguments, then its results,
/// ranked tensors as memrefs of their shape (identity layout), index
/// scalars as they are.
SmallVector<Type> kernelParamTypes(func::FuncOp func);

/// Adds the kernel `name` to `module`, after its other kernels in launch
/// order: `params`, `threads` per CTA, `sharedBytes` of dynamic shared
/// memory and `grid` (three (parameter, dimension, divisor) triples,
/// KernelABI.h).
gpu::GPUFuncOp addKernelFunc(OpBuilder &b, Location loc,
                             gpu::GPUModuleOp module, StringRef name,
                             TypeRange params, int64_t threads,
                             int64_t sharedBytes, ArrayRef<int64_t> grid);

/// AttentionBuffers::captured for a kernel whose parameters start with the
/// arguments of the function block `source`: a tensor that is one of them
/// becomes the kernel's argument of the same number in `entry`.
std::function<Value(Value)> capturedArguments(Block &source, Block &entry);

/// x and y reduced by `kind` (i32).
Value scanReduce(OpBuilder &b, Location loc, Value x, Value y,
                 ScanLanes::Reduce kind);

/// The i32 `value` reduced by `kind` over the 32 lanes of a warp (xor
/// shuffles: every lane gets the result; ScanLanes.cpp).
Value warpReduce(OpBuilder &b, Location loc, Value value,
                 ScanLanes::Reduce kind);

/// A document scan over the lanes of one warp (`threadId` modulo 32),
/// combined by shuffles alone: every warp of a CTA that runs it gets the
/// same result, with no shared memory and no barrier.
ScanLanes warpScanLanes(OpBuilder &b, Location loc, Value threadId);

/// One way to build the kernels of an attention op.
class KernelStrategy {
public:
  virtual ~KernelStrategy() = default;

  /// The strategy's name in #attn.lowering_config and `strategy=`.
  virtual GpuStrategy kind() const = 0;

  /// Why the strategy cannot build `op` on `target` whatever the tile
  /// sizes, or "" when it can.
  virtual std::string unsupportedReason(AttentionOp op,
                                        const GpuTarget &target) const = 0;

  /// The config to build `op` with on `target`, with what is forced.
  /// Fails with the reason in `why`.
  virtual FailureOr<LoweringConfigAttr>
  chooseConfig(AttentionOp op, const GpuTarget &target,
               const ForcedConfig &forced, std::string &why) const = 0;

  /// Builds the kernels of `config` into `kernels`.
  virtual void build(KernelSet &kernels, LoweringConfigAttr config,
                     const GpuTarget &target) const = 0;
};

/// The strategies in the order attn-gpu-kernels tries them; the last one
/// (sm80) is the fallback whose reason is reported when none applies.
ArrayRef<const KernelStrategy *> kernelStrategies();

/// The strategies, by kind.
const KernelStrategy &sm80Strategy();
const KernelStrategy &decodeStrategy();
const KernelStrategy &sm90aStrategy();

} // namespace mlir::attn

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELSTRATEGY_H
