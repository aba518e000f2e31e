//===- DecodeStrategy.cpp - few query rows: packed heads, split-KV --------===//
//
// Decode (one or a few query tokens against a long KV cache): the sm80
// kernel's machinery with the rows of all query heads of one kv head packed
// into one query tile (row r = s * G + g: query s of head hk * G + g, G =
// Hq / Hkv), so each K/V tile is read once per kv head instead of once per
// query head, and each sequence's keys split over CTAs (grid (splits, Hkv,
// B), the split count chosen at launch) whose partial rows the merge kernel
// combines (MergeKernel.h). Declines (sm80 then builds the op) where the
// query length is not static and at most 16, or the packed rows would not
// fit 64.
//
//===----------------------------------------------------------------------===//

#include "KernelStrategy.h"
#include "MergeKernel.h"
#include "Sm80Config.h"
#include "Sm80KernelBuilder.h"

#include "attn/Conversion/KernelABI.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
/// The most packed rows (query heads per kv head x query length) a decode
/// tile holds: 4 warps of 16; and the longest query it takes (decode steps,
/// speculative decoding's few tokens; longer queries fill sm80's tiles).
constexpr int64_t kMaxPackedRows = 64;
constexpr int64_t kMaxQueryLength = 16;
/// The most splits of one sequence's keys, and the fewest kv tiles a split
/// gets (fewer would spend more on the pipeline's start than it saves).
constexpr int64_t kMaxKvSplits = 128;
/// K/V tiles in flight: decode CTAs are one or two warps streaming the
/// cache, so a third stage keeps more bytes in flight per SM.
constexpr int64_t kStages = 3;
constexpr int64_t kMinTilesPerSplit = 2;

class DecodeStrategy : public KernelStrategy {
public:
  GpuStrategy kind() const override { return GpuStrategy::decode; }

  std::string unsupportedReason(AttentionOp op,
                                const GpuTarget &) const override {
    if (std::string why = sm80::unsupportedReason(op); !why.empty())
      return why;
    ProblemShape shape = op.getProblemShape();
    if (op.isVarlen())
      return "the decode strategy takes batched (not varlen) queries";
    if (op.getBlockSparseAttr())
      return "the decode strategy does not take block_sparse lists";
    if (op.getSequsedQ())
      return "the decode strategy does not take seqused_q";
    if (ShapedType::isDynamic(shape.seqQ) || shape.seqQ > kMaxQueryLength)
      return "the decode strategy needs a static query length of at most " +
             std::to_string(kMaxQueryLength);
    int64_t rows = shape.headsQ / shape.headsKV * shape.seqQ;
    if (rows > kMaxPackedRows)
      return "the decode strategy packs at most " +
             std::to_string(kMaxPackedRows) +
             " query rows per kv head (Hq / Hkv x Sq), got " +
             std::to_string(rows);
    return "";
  }

  /// block_q: the packed rows rounded up to 16 (a warp each 16). The key
  /// tile, kv warps and stages, best first, by measurement on an H100
  /// (bench/decode_bench.py, docs/perf-log.md 2026-11-23 and 2026-11-24):
  /// - an fp8 cache read as fragments: 128-key tiles over 4 kv warps, 2
  ///   stages (1-26% faster than one warp on 32-key tiles: the byte
  ///   conversions are the per-tile work one warp per scheduler could not
  ///   hide);
  /// - a paged cache: 32-key tiles over 2 kv warps, 3 stages (2% faster:
  ///   the page lookups);
  /// - else 32-key tiles, one warp, 3 stages (2 kv warps or 64-key tiles
  ///   measured within -1.3% / +2%): 5 one-warp CTAs share an SM.
  /// Then 16-key tiles where shared memory is short. Forced values replace
  /// the table's; a sparse-softmax kv_block is the key tile, over one warp
  /// (the threshold is decided per whole tile).
  FailureOr<LoweringConfigAttr> chooseConfig(AttentionOp op,
                                             const GpuTarget &target,
                                             const ForcedConfig &forced,
                                             std::string &why) const override {
    int64_t forcedBlockQ = forced.blockQ, forcedBlockK = forced.blockK;
    ProblemShape shape = op.getProblemShape();
    int64_t rows = shape.headsQ / shape.headsKV * shape.seqQ;
    int64_t blockQ = forcedBlockQ ? forcedBlockQ
                                  : (rows + sm80::kRowsPerWarp - 1) /
                                        sm80::kRowsPerWarp * sm80::kRowsPerWarp;
    if (blockQ < rows || blockQ % sm80::kRowsPerWarp) {
      why = "the decode strategy's block_q must be a multiple of 16 holding "
            "all " +
            std::to_string(rows) + " packed query rows, got " +
            std::to_string(blockQ);
      return failure();
    }
    if (why = forced.tmaReason(); !why.empty())
      return failure();
    if (forced.kvWarps && forced.kvWarps != 1 && forced.kvWarps != 2 &&
        forced.kvWarps != 4) {
      why = "kv_warps must be 1, 2 or 4, got " + std::to_string(forced.kvWarps);
      return failure();
    }
    struct Candidate {
      int64_t blockK, kvWarps, stages;
    };
    SmallVector<Candidate> table = {{32, 1, kStages}, {16, 1, kStages}};
    if (sm80::fp8Read(op) == sm80::Fp8Read::fragments)
      table.insert(table.begin(), {128, 4, 2});
    else if (op.isPagedKv())
      table.front().kvWarps = 2;
    if (SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr()) {
      if (forced.kvWarps > 1) {
        why = "sparse softmax decides per whole key tile: kv_warps must be "
              "1, got " +
              std::to_string(forced.kvWarps);
        return failure();
      }
      table = {{sparse.getKvBlock(), 1, kStages}};
    }
    SmallVector<sm80::ConfigCandidate> candidates;
    why.clear();
    for (Candidate c : table) {
      if (forcedBlockK)
        c.blockK = forcedBlockK;
      if (forced.stages)
        c.stages = forced.stages;
      if (forced.kvWarps)
        c.kvWarps = forced.kvWarps;
      if (c.blockK % (16 * c.kvWarps)) {
        // Each kv warp takes whole 16-key steps of P V: forced kv warps
        // skip the tile (an error where none is left), chosen ones drop to 1.
        if (forced.kvWarps) {
          if (why.empty())
            why = "kv_warps " + std::to_string(c.kvWarps) +
                  " needs block_k a multiple of " +
                  std::to_string(16 * c.kvWarps) + ", got " +
                  std::to_string(c.blockK);
          continue;
        }
        c.kvWarps = 1;
      }
      candidates.push_back({blockQ, {c.blockK}, c.stages, c.kvWarps});
    }
    if (candidates.empty())
      return failure();
    return sm80::firstFittingCandidate(op, target, GpuStrategy::decode,
                                       candidates, kMaxKvSplits,
                                       forced.producerWarpsOrNone(), why);
  }

  /// The split kernel, grid (splits, Hkv, B), and the merge kernel, grid
  /// (Sq, Hq, B), launched only when the keys are split.
  void build(KernelSet &kernels, LoweringConfigAttr config,
             const GpuTarget &target) const override {
    AttentionOp op = kernels.op();
    Location loc = op.getLoc();
    ProblemShape shape = op.getProblemShape();
    int64_t qParam = kernels.paramIndex(op.getQ());
    int64_t kParam = kernels.paramIndex(op.getK());
    int64_t seqDim = op.getLayout() == Layout::bhsd ? 2 : 1;
    int64_t shared = sm80::sharedBytes(op, config);
    // Resident CTAs per SM, from shared memory (1 KiB per CTA is the
    // driver's reserve).
    int64_t ctasPerSm =
        std::clamp<int64_t>(target.maxSharedBytes / (shared + 1024), 1, 32);
    // The keys that may be split: k's sequence dimension, or for a paged
    // cache the pages of the pool (counted as tiles; a split then gets at
    // least kMinTilesPerSplit tiles' worth of pages).
    int64_t keysDim = seqDim, keysPerTile = config.getBlockK(),
            minTiles = kMinTilesPerSplit;
    if (PagedKvAttr paged = op.getPagedKvAttr()) {
      keysDim = 0;
      keysPerTile = 1;
      minTiles = std::max<int64_t>(1, kMinTilesPerSplit * config.getBlockK() /
                                          paged.getPageSize());
    }
    kernels.setSplitRule({config.getKvSplits(), minTiles, ctasPerSm, kParam,
                          keysDim, keysPerTile, qParam, shape.headDimV + 1});
    OpBuilder b(op.getContext());
    KernelSet::Kernel main = kernels.add(
        b, "kernel", 32 * config.getWarps(), shared,
        {kGridSplits, 0, 1, kGridConstant, 0, shape.headsKV, qParam, 0, 1});
    sm80::KernelBuilder(b, loc, op, main.buffers, config, main.workspace)
        .build();
    b.setInsertionPointToEnd(&main.func.getBody().front());
    gpu::ReturnOp::create(b, loc);

    KernelSet::Kernel merge = kernels.add(
        b, "merge", kMergeThreads,
        mergeSharedBytes(config.getKvSplits(), shape.headDimV),
        {qParam, seqDim, 1, kGridConstant, 0, shape.headsQ, qParam, 0, 1},
        /*onlyWhenSplit=*/true);
    buildMergeKernel(b, loc, op, merge.buffers, merge.workspace,
                     config.getKvSplits());
    gpu::ReturnOp::create(b, loc);
  }
};
} // namespace

const KernelStrategy &mlir::attn::decodeStrategy() {
  static const DecodeStrategy strategy;
  return strategy;
}
