//===- Sm80Config.cpp - sm80 strategy: legality, tiles --------------------===//

#include "Sm80Config.h"
#include "TensorMaps.h"
#include "Wgmma.h"

#include "attn/Transforms/DocumentKeys.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <numeric>

using namespace mlir;
using namespace mlir::attn;

namespace mlir::attn::sm80 {

Fp8Read fp8Read(AttentionOp op) {
  if (!op.hasFp8Kv())
    return Fp8Read::none;
  return op.getRopeAttr() ? Fp8Read::pass : Fp8Read::fragments;
}

/// Bytes of the tiles (and what reuses them): the Q tile and `stages`
/// stages of K and V tiles, rows padded by kPad halves (an odd number of
/// 16-byte chunks per row keeps ldmatrix free of bank conflicts).
static int64_t tileBytes(AttentionOp op, LoweringConfigAttr config) {
  ProblemShape shape = op.getProblemShape();
  int64_t headDim = shape.headDim, headDimV = shape.headDimV;
  int64_t stages = config.getStages();
  // sm90a: unpadded swizzled panels (Wgmma.h).
  if (config.getStrategy() == GpuStrategy::sm90a)
    return sm90::sharedTiles(
               config.getBlockQ(), config.getBlockK(), stages, headDim,
               headDimV,
               sm90::mbarrierCount(stages, config.getProducerWarps(),
                                   sm90::producerRotatesTiles(op, config)))
        .total;
  // An fp8 cache: `stages` byte tiles, and one dequantized K/V tile for
  // the MMAs where a pass dequantizes them (SharedDequant.cpp).
  int64_t staging = 0;
  if (Fp8Read read = fp8Read(op); read != Fp8Read::none) {
    staging =
        stages * config.getBlockK() * (fp8Pitch(headDim) + fp8Pitch(headDimV));
    stages = read == Fp8Read::pass ? 1 : 0;
  }
  int64_t tiles = (config.getBlockQ() + stages * config.getBlockK()) *
                      (headDim + kPad) * 2 +
                  stages * config.getBlockK() * (headDimV + kPad) * 2 + staging;
  // Several kv warps merge their states through the (then idle) tiles.
  int64_t merge = 4;
  for (int64_t extent : kvWarpScratchShape(config, headDimV))
    merge *= extent;
  return std::max(tiles, merge);
}

int64_t scanScratchBytes(AttentionOp op, LoweringConfigAttr config) {
  // Block lists replace the scan (Sm80Schedule.cpp); one warp combines
  // by shuffles alone.
  int64_t warps = config.getWarps() + config.getProducerWarps();
  if (!documentConjunct(op) || op.getBlockSparseAttr() || warps == 1)
    return 0;
  return ScanLanes::kCombinedValues * warps * 4;
}

int64_t sharedBytes(AttentionOp op, LoweringConfigAttr config) {
  return tileBytes(op, config) + scanScratchBytes(op, config);
}

/// Why `op` cannot (yet) become a GPU kernel, whatever the tile sizes, or
/// "" when it can.
std::string unsupportedReason(AttentionOp op) {
  ProblemShape shape = op.getProblemShape();
  Type element = op.getQ().getType().getElementType();
  if (!element.isF16() && !element.isBF16())
    return "the GPU kernel needs f16 or bf16 q/k/v";
  // m16n8k16 steps over D (Q K^T) and 8-wide column blocks of Dv (P V);
  // the cp.async tile copy moves rows of D / 8 16-byte chunks, and a
  // warp's 16 rows must split evenly over its 32 lanes: multiples of 16.
  for (int64_t d : {shape.headDim, shape.headDimV})
    if (d % 16 || d < 32 || d > 256)
      return "the GPU kernel supports head dims (q/k and v) that are "
             "multiples of 16 in [32, 256], got " +
             std::to_string(shape.headDim) + " and " +
             std::to_string(shape.headDimV);
  // Regions may read captured tensors, function arguments, with
  // tensor.extract only (it becomes a load from the kernel parameter).
  for (Region *region : {&op.getMaskMod(), &op.getScoreMod()}) {
    std::string why;
    region->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands()) {
        if (region->isAncestor(operand.getParentRegion()))
          continue;
        if (!isa<BlockArgument>(operand) ||
            !isa<RankedTensorType>(operand.getType()))
          why = "mask_mod/score_mod regions may capture only function "
                "arguments that are tensors";
        else if (!isa<tensor::ExtractOp>(nested))
          why = "a captured tensor may only be read with tensor.extract in "
                "a region compiled for the GPU ('" +
                nested->getName().getStringRef().str() + "' uses one)";
      }
    });
    if (!why.empty())
      return why;
  }
  return "";
}

/// Why `config` cannot build the kernel of `op` on `target`, or "".
std::string configReason(AttentionOp op, const GpuTarget &target,
                         LoweringConfigAttr config) {
  ProblemShape shape = op.getProblemShape();
  int64_t blockQ = config.getBlockQ(), blockK = config.getBlockK();
  // The loads are spread over the producer warps where there are some.
  int64_t producers = 32 * config.getProducerWarps();
  int64_t threads = producers ? producers : 32 * config.getWarps();
  std::string tiles = "block_q = " + std::to_string(blockQ) +
                      ", block_k = " + std::to_string(blockK);
  if (producers && config.getStrategy() != GpuStrategy::sm90a)
    return "a producer warpgroup (producer_warps) needs the sm90a strategy";
  if (32 * config.getWarps() + producers > 1024)
    return tiles + ": more than 1024 threads per CTA";
  // Each cp.async moves 16 bytes: a tile of `rows` rows of `dim` halves is
  // rows * dim / 8 copies, spread evenly over the loading threads.
  // (An fp8 cache's rows are dim / 16 copies.)
  int64_t perCopy = op.hasFp8Kv() ? 16 : 8;
  for (int64_t dim : {shape.headDim, shape.headDimV})
    if ((blockK * dim / perCopy) % threads)
      return tiles + ": a " + std::to_string(blockK) + " x " +
             std::to_string(dim) + " K/V tile does not split over " +
             std::to_string(threads) + " threads";
  if (int64_t bytes = sharedBytes(op, config); bytes > target.maxSharedBytes)
    return "head dims " + std::to_string(shape.headDim) + "/" +
           std::to_string(shape.headDimV) + " with " + tiles + " need " +
           std::to_string(bytes) + " bytes of shared memory, more than " +
           target.chip.str() + " offers (" +
           std::to_string(target.maxSharedBytes) + ")";
  if (SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr();
      sparse && sparse.getKvBlock() != blockK)
    return "sparse_softmax kv_block must equal the GPU kernel's key tile (" +
           tiles + ")";
  if (BlockSparseAttr blocks = op.getBlockSparseAttr();
      blocks && (blocks.getQBlock() % blockQ || blocks.getKvBlock() % blockK))
    return "block_sparse q_block and kv_block must be multiples of the GPU "
           "kernel's tiles (" +
           tiles + ")";
  return "";
}

/// The preferred (block_q, block_k) for the larger head dim, measured on an
/// H100 (bench/gpu_configs.py and bench/gpu_bench.py, docs/perf-log.md
/// 2026-11-23): heads up to 96 keep 64-key tiles; wider ones trade
/// key-tile length for shared memory (two CTAs per SM) and, past 128, 8
/// warps per CTA.
std::pair<int64_t, int64_t> preferredTiles(int64_t headDim) {
  if (headDim <= 96)
    return {64, 64};
  if (headDim <= 128)
    return {64, 32};
  return {128, 32};
}

/// The lowering config for `op` on `target`: the forced tile sizes where
/// given (0: choose); else the measured preference for the head dims, then
/// smaller tiles (64 or fewer query rows, 64/32/16 keys) until one fits the
/// chip and the block-sparse / sparse-softmax blocks (a block-sparse
/// q_block caps the query tile; a sparse-softmax op's key tile is its
/// kv_block). Fails with the reason the preferred candidate failed.
FailureOr<LoweringConfigAttr> chooseConfig(AttentionOp op,
                                           const GpuTarget &target,
                                           const ForcedConfig &forced,
                                           std::string &why) {
  if (why = forced.kvWarpsReason(); !why.empty())
    return failure();
  if (why = forced.tmaReason(); !why.empty())
    return failure();
  int64_t forcedBlockQ = forced.blockQ, forcedBlockK = forced.blockK;
  ProblemShape shape = op.getProblemShape();
  BlockSparseAttr blocks = op.getBlockSparseAttr();
  auto [preferQ, preferK] =
      preferredTiles(std::max(shape.headDim, shape.headDimV));
  SmallVector<int64_t> queryTiles = {preferQ, 64};
  if (blocks)
    queryTiles = {std::gcd(blocks.getQBlock(), preferQ),
                  std::gcd(blocks.getQBlock(), int64_t(64))};
  if (forcedBlockQ)
    queryTiles = {forcedBlockQ};
  SmallVector<int64_t> keyTiles = keyTileCandidates(op, preferK, forcedBlockK);
  SmallVector<ConfigCandidate> candidates;
  for (int64_t blockQ : queryTiles) {
    if (blockQ <= 0 || blockQ % kRowsPerWarp) {
      why = "block_q must be a positive multiple of 16 (16 query rows per "
            "warp), got " +
            std::to_string(blockQ) +
            (blocks ? " (from block_sparse q_block " +
                          std::to_string(blocks.getQBlock()) + ")"
                    : std::string());
      return failure();
    }
    candidates.push_back({blockQ, keyTiles, forced.stages ? forced.stages : 2});
  }
  return firstFittingCandidate(op, target, GpuStrategy::sm80, candidates, 1,
                               forced.producerWarpsOrNone(), why);
}

FailureOr<LoweringConfigAttr>
firstFittingCandidate(AttentionOp op, const GpuTarget &target,
                      GpuStrategy strategy,
                      ArrayRef<ConfigCandidate> candidates, int64_t kvSplits,
                      int64_t producerWarps, std::string &why) {
  std::string first;
  for (const ConfigCandidate &c : candidates) {
    bool invalid = false;
    FailureOr<LoweringConfigAttr> config =
        firstFittingConfig(op, target, strategy, c.blockQ, c.keyTiles, kvSplits,
                           c.stages, why, invalid, producerWarps, c.kvWarps);
    if (succeeded(config) || invalid)
      return config;
    if (first.empty())
      first = why;
  }
  why = first;
  return failure();
}

SmallVector<int64_t> keyTileCandidates(AttentionOp op, int64_t preferK,
                                       int64_t forcedBlockK) {
  if (forcedBlockK)
    return {forcedBlockK};
  if (SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr())
    return {sparse.getKvBlock()};
  BlockSparseAttr blocks = op.getBlockSparseAttr();
  SmallVector<int64_t> keyTiles;
  for (int64_t tile : {preferK, int64_t(64), int64_t(32), int64_t(16)})
    if (!blocks || blocks.getKvBlock() % tile == 0)
      keyTiles.push_back(tile);
  if (keyTiles.empty())
    keyTiles = {16}; // reports why the smallest tile does not fit
  return keyTiles;
}

FailureOr<LoweringConfigAttr>
firstFittingConfig(AttentionOp op, const GpuTarget &target,
                   GpuStrategy strategy, int64_t blockQ,
                   ArrayRef<int64_t> keyTiles, int64_t kvSplits, int64_t stages,
                   std::string &why, bool &invalid, int64_t producerWarps,
                   int64_t kvWarps) {
  std::string first;
  for (int64_t blockK : keyTiles) {
    if (blockK <= 0 || blockK % 16) {
      why = "the key tile (block_k, or a sparse_softmax kv_block) must be "
            "a positive multiple of 16, got " +
            std::to_string(blockK);
      invalid = true;
      return failure();
    }
    auto config =
        LoweringConfigAttr::get(op.getContext(), strategy, blockQ, blockK,
                                blockQ / kRowsPerWarp * kvWarps, kvSplits,
                                stages, producerWarps, kvWarps, /*tma=*/false);
    std::string reason = configReason(op, target, config);
    if (reason.empty())
      return config;
    if (first.empty())
      first = reason;
  }
  why = first;
  return failure();
}

bool sharedFitsTwice(AttentionOp op, LoweringConfigAttr config,
                     int64_t maxSharedBytes) {
  return 2 * (sharedBytes(op, config) + 1024) <= maxSharedBytes + 1024;
}

bool twoCtasWithProducer(AttentionOp op, LoweringConfigAttr config) {
  if (config.getStrategy() != GpuStrategy::sm90a ||
      config.getProducerWarps() != 4 ||
      config.getBlockQ() != sm90::kWarpgroupRows)
    return false;
  llvm::Expected<GpuTarget> target = lookupGpuTarget("sm_90a");
  if (!target) {
    llvm::consumeError(target.takeError());
    return false;
  }
  // The strategy runs on sm_90a alone (wgmma).
  return sharedFitsTwice(op, config, target->maxSharedBytes);
}

} // namespace mlir::attn::sm80
