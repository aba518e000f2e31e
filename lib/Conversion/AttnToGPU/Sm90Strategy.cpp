//===- Sm90Strategy.cpp - Hopper: the tiled kernel on wgmma ---------------===//
//
// The sm90a strategy: the sm80 kernel's schedule, cp.async pipeline, online
// softmax and epilogue (Sm80KernelBuilder.h) with S = Q K^T and O += P V on
// warpgroup MMAs (wgmma.mma_async m64nNk16) reading Q, K and V from
// 128-byte-swizzled shared memory (Sm90Math.cpp, Wgmma.h). One CTA of
// block_q / 64 warpgroups per query tile. Chosen before sm80 on sm_90a;
// declines (and sm80 builds the op) where the chip has no wgmma. Head dims
// that are multiples of 64 use the 128-byte swizzle, of 32 the 64-byte one,
// else (multiples of 16) the 32-byte one (Wgmma.h).
//
// Inside each warpgroup the S GEMM of tile t overlaps the softmax and the
// P V GEMM of tile t-1 (Sm90Pipeline.cpp); a producer warpgroup copies the
// tiles and hands them over on mbarriers (Sm90WarpSpecialized.cpp) unless
// two CTAs share an SM; one thread of it copies with TMA where the tensors
// allow (TensorMaps.h). Not yet here (issue 12): a persistent tile
// scheduler, a TMA-store epilogue.
//
//===----------------------------------------------------------------------===//

#include "KernelStrategy.h"
#include "Sm80Config.h"
#include "TensorMaps.h"
#include "Wgmma.h"

#include "attn/Conversion/KernelABI.h"
#include "attn/Transforms/DocumentKeys.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include <numeric>

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Query rows per CTA: two warpgroups (FA3's 128-row tiles).
constexpr int64_t kBlockQ = 128;
/// K/V stages of the overlapped loop (Sm90Pipeline.cpp).
constexpr int64_t kStages = 2;
/// K/V stages with a producer warpgroup, where shared memory holds them.
constexpr int64_t kDeepStages = 3;
/// Head dims up to 64: three consumer warpgroups (FA3's 192-row tiles)
/// over 64-key tiles, four stages; their fragments fit the 160 registers
/// per thread that 384 consumer threads get (Sm90WarpSpecialized.cpp).
constexpr int64_t kWideBlockQ = 192;
constexpr int64_t kWideBlockK = 64;
constexpr int64_t kWideStages = 4;
constexpr int64_t kWideMaxDim = 64;
/// Short rows (document masks): one consumer warpgroup over 64-key tiles,
/// two stages, two CTAs per SM, at head dims up to kPairMaxDim.
constexpr int64_t kPairBlockK = 64;
constexpr int64_t kPairStages = 2;
constexpr int64_t kPairMaxDim = 128;

/// Whether two CTAs of `config` fit one SM: shared memory allows it and
/// the fragments are small (Dv and block_k at most 64: S, O and P take 80
/// registers per thread, so 128 per thread for 256 threads suffice).
bool twoCtasPerSm(AttentionOp op, LoweringConfigAttr config,
                  const GpuTarget &target) {
  return sm80::sharedFitsTwice(op, config, target.maxSharedBytes) &&
         op.getProblemShape().headDimV <= 64 && config.getBlockK() <= 64 &&
         !config.getProducerWarps();
}

class Sm90Strategy : public KernelStrategy {
public:
  GpuStrategy kind() const override { return GpuStrategy::sm90a; }

  std::string unsupportedReason(AttentionOp op,
                                const GpuTarget &target) const override {
    if (!target.wgmma)
      return "the sm90a strategy needs wgmma (chip sm_90a), not " +
             target.chip.str();
    // An fp8 cache is converted between its copy and its MMA; wgmma reads
    // its stages straight from shared memory with no step for it.
    if (op.hasFp8Kv())
      return "the sm90a strategy does not read f8E4M3FN k/v yet";
    return sm80::unsupportedReason(op);
  }

  /// The config of chooseTiles, its producer copying with TMA where the op
  /// allows it (TensorMaps.h) unless told otherwise.
  FailureOr<LoweringConfigAttr> chooseConfig(AttentionOp op,
                                             const GpuTarget &target,
                                             const ForcedConfig &forced,
                                             std::string &why) const override {
    if (forced.tma != -1 && forced.tma != 0 && forced.tma != 1) {
      why = "tma must be 0 or 1, got " + std::to_string(forced.tma);
      return failure();
    }
    FailureOr<LoweringConfigAttr> config = chooseTiles(op, target, forced, why);
    if (failed(config) || forced.tma == 0)
      return config;
    std::string reason = config->getProducerWarps()
                             ? sm90::tensorMapsReason(op)
                             : "TMA copies need a producer warpgroup";
    if (!reason.empty()) {
      if (forced.tma != 1)
        return config;
      why = "the sm90a strategy cannot copy with TMA: " + reason;
      return failure();
    }
    LoweringConfigAttr c = *config;
    return LoweringConfigAttr::get(
        op.getContext(), c.getStrategy(), c.getBlockQ(), c.getBlockK(),
        c.getWarps(), c.getKvSplits(), c.getStages(), c.getProducerWarps(),
        c.getKvWarps(), /*tma=*/true);
  }

private:
  /// Measured on an H100 (bench/gpu_configs.py --strategy sm90a,
  /// docs/perf-log.md 2026-11-23 and 2026-11-24): up to head dim 64, three
  /// warpgroups (192 rows) over 64-key tiles, a producer, four stages;
  /// else two warpgroups (128 rows), keys per tile 128 up to 128, 96 up to
  /// 192, else 64 (shared memory: Q and two K/V stages of 64 x 256 halves
  /// fill 193 KiB), three stages where they fit. Where no producer is
  /// chosen (rope, block lists at d64), two stages and two CTAs per SM. A
  /// block-sparse q_block caps the query tile.
  FailureOr<LoweringConfigAttr> chooseTiles(AttentionOp op,
                                            const GpuTarget &target,
                                            const ForcedConfig &forced,
                                            std::string &why) const {
    if (why = forced.kvWarpsReason(); !why.empty())
      return failure();
    ProblemShape shape = op.getProblemShape();
    BlockSparseAttr blocks = op.getBlockSparseAttr();
    int64_t widest = std::max(shape.headDim, shape.headDimV);
    int64_t blockQ = forced.blockQ ? forced.blockQ : kBlockQ;
    if (blocks && !forced.blockQ)
      blockQ = std::gcd(blocks.getQBlock(), blockQ);
    // Each thread holds S and O fragments (up to ~240 registers): more than
    // two warpgroups fit the 64K-register file only with small fragments
    // (head dims up to 64) and a producer warpgroup to give registers.
    bool wide = blockQ == kWideBlockQ && widest <= kWideMaxDim &&
                forced.producerWarps != 0 && !op.getRopeAttr();
    if (blockQ <= 0 || blockQ % sm90::kWarpgroupRows ||
        (blockQ > kBlockQ && !wide)) {
      why = "the sm90a strategy's block_q must be 64 or 128 (one or two "
            "warpgroups of 64 rows), or 192 with a producer warpgroup at "
            "head dims up to 64, got " +
            std::to_string(blockQ);
      return failure();
    }
    int64_t preferK = widest <= 64    ? 64
                      : widest <= 128 ? 128
                      : widest <= 192 ? 96
                                      : 64;
    SmallVector<int64_t> keyTiles =
        sm80::keyTileCandidates(op, preferK, forced.blockK);
    int64_t stages = forced.stages ? forced.stages : kStages;
    int64_t producers = forced.producerWarps;
    if (producers != -1 && producers != 0 && producers != 4) {
      why = "the sm90a strategy's producer warps must be 0 or 4 (one "
            "warpgroup), got " +
            std::to_string(producers);
      return failure();
    }
    // #attn.rope rotates the landed Q and K tiles between copy and wgmma:
    // with TMA copies the producer warpgroup's threads do it (they copy
    // nothing else), else every thread of a CTA without a producer.
    if (op.getRopeAttr() &&
        (forced.tma == 0 || !sm90::tensorMapsReason(op).empty())) {
      if (producers == 4) {
        why = "the sm90a strategy rotates q/k (#attn.rope) with a producer "
              "warpgroup only when it copies with TMA (dense q/k/v, tma not "
              "0)";
        return failure();
      }
      producers = 0;
    }
    bool invalid = false;
    auto fit = [&](int64_t rows, ArrayRef<int64_t> keys, int64_t depth,
                   int64_t producerWarps, std::string &reason) {
      return sm80::firstFittingConfig(op, target, GpuStrategy::sm90a, rows,
                                      keys, 1, depth, reason, invalid,
                                      producerWarps);
    };
    std::string alternativeWhy; // an alternative's failure is not reported
    // Head dims up to 64 (measured on an H100, docs/perf-log.md
    // 2026-11-24, session 24): 192 x 64 tiles, a producer and four stages
    // beat 128 x 64 with two CTAs per SM by 2-4% at 4k and 4-10% at 16k.
    // Gates and document ids keep per-row state that spills at 160
    // registers (20-44 bytes): those keep the two-warpgroup tiles.
    if (!forced.blockQ && !forced.blockK && !forced.stages && !blocks &&
        widest <= kWideMaxDim && producers == -1 && !op.getGateAttr() &&
        !op.getDocIdsQ()) {
      FailureOr<LoweringConfigAttr> config =
          fit(kWideBlockQ, {kWideBlockK}, kWideStages, 4, alternativeWhy);
      if (succeeded(config))
        return config;
      invalid = false;
    }
    // A document mask keeps rows short (the bench's 6 documents: ~4 kv
    // tiles per query tile), so each CTA's fixed cost (its Q copy, the
    // pipeline's fill, the epilogue, the turnaround) weighs as much as its
    // loop: 64 x 64 tiles, two stages and a TMA producer fit twice per SM,
    // so that two CTAs hide each other's. Measured on an H100
    // (docs/perf-log.md 2026-11-24, session 27): document6 197 -> 228
    // TFLOP/s; with one CTA per SM (240 registers) 161.
    if (!forced.blockQ && !forced.blockK && !forced.stages && producers == -1 &&
        forced.tma != 0 && widest <= kPairMaxDim && documentConjunct(op) &&
        sm90::tensorMapsReason(op).empty()) {
      FailureOr<LoweringConfigAttr> pair = fit(
          sm90::kWarpgroupRows, {kPairBlockK}, kPairStages, 4, alternativeWhy);
      if (succeeded(pair) && sm80::twoCtasWithProducer(op, *pair))
        return pair;
      invalid = false;
    }
    // Three consumer warpgroups take their registers from the producer's.
    if (blockQ > kBlockQ)
      return fit(blockQ, keyTiles, stages, 4, why);
    FailureOr<LoweringConfigAttr> config =
        fit(blockQ, keyTiles, stages, forced.producerWarpsOrNone(), why);
    // Chosen: a producer warpgroup unless two CTAs share each SM (they
    // hide each other's copies; 384 threads would not leave two of them
    // registers enough). Measured on an H100 (docs/perf-log.md 2026-11-24):
    // d128 454 -> 506 TFLOP/s with it, d64 causal 353 -> 316 with it.
    if (failed(config) || producers != -1 || twoCtasPerSm(op, *config, target))
      return config;
    config = fit(blockQ, keyTiles, stages, 4, why);
    // The producer publishes a step without waiting for its copies
    // (Sm90WarpSpecialized.cpp), so a third stage keeps two steps in flight
    // where it fits with the same key tile. Measured on an H100
    // (docs/perf-log.md 2026-11-24, session 24): d96 +5-6%, d128 at 4k +2%.
    if (failed(config) || forced.stages)
      return config;
    FailureOr<LoweringConfigAttr> deeper =
        fit(blockQ, {config->getBlockK()}, kDeepStages, 4, alternativeWhy);
    return succeeded(deeper) ? deeper : config;
  }

public:
  /// Where two CTAs fit one SM (twoCtasPerSm), registers are capped so
  /// that they do (128 per thread for 256 threads; ptxas may otherwise take
  /// a few more and halve the CTAs per SM: d64 causal ran 257 instead of
  /// 317 TFLOP/s on an H100).
  void build(KernelSet &kernels, LoweringConfigAttr config,
             const GpuTarget &target) const override {
    gpu::GPUFuncOp kernel = sm80::buildTiledKernel(kernels, config);
    Builder attrs(kernel.getContext());
    // The epilogue writes out 16 bytes at a time from the staged tile.
    ProblemShape shape = kernels.op().getProblemShape();
    if (sm90::outputFitsQTile(shape.headDim, shape.headDimV))
      kernel.setArgAttr(kernels.paramIndex(kernels.op().getResult(0)),
                        kKernelParamAlignAttr, attrs.getI64IntegerAttr(16));
    // setmaxnreg needs the entry register count ptxas derives from the
    // block size and the CTAs per SM (else it ignores it: C7508): one, or
    // two where they fit (their budgets then share half the file).
    if (config.getProducerWarps()) {
      kernel->setAttr(
          NVVM::NVVMDialect::getMinctasmAttrName(),
          attrs.getI32IntegerAttr(
              sm80::twoCtasWithProducer(kernels.op(), config) ? 2 : 1));
      return;
    }
    // The thread count ptxas divides the registers by is the kernel's
    // known block size (maxntid).
    if (twoCtasPerSm(kernels.op(), config, target))
      kernel->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                      attrs.getI32IntegerAttr(2));
  }
};
} // namespace

const KernelStrategy &mlir::attn::sm90aStrategy() {
  static const Sm90Strategy strategy;
  return strategy;
}
