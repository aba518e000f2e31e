//===- Sm80Config.h - sm80 strategy: legality, tiles ------------*- C++ -*-===//
//
// The sm80 kernel strategy (mma.sync m16n8k16, ldmatrix, cp.async; Ampere,
// Ada, and the fallback on newer chips): which attention ops it can build,
// and the #attn.lowering_config (tile sizes, warps) it builds them with.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_SM80CONFIG_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_SM80CONFIG_H

#include "KernelStrategy.h"

#include "attn/Conversion/GpuTarget.h"
#include "attn/IR/AttnAttrs.h"
#include "attn/IR/AttnOps.h"

#include <string>

namespace mlir::attn::sm80 {

constexpr int64_t kRowsPerWarp = 16; // m16n8k16: each warp owns 16 rows
constexpr int64_t kPad = 8;          // halves of padding per shared-memory row

/// How a kernel reads an fp8 (f8E4M3FN) cache, whose tiles land as bytes
/// (SharedDequant.cpp): `fragments`: converted while the MMA fragments are
/// loaded (no second tile, no barrier); `pass`: dequantized by the CTA into
/// one f16/bf16 K/V tile first, where the landed K tile is rewritten again
/// (by #attn.rope).
enum class Fp8Read { none, pass, fragments };
Fp8Read fp8Read(AttentionOp op);

/// Row pitch in bytes of an fp8 staging tile of `dim` values: 16 bytes of
/// padding put the 8 rows a fragment load touches in 8 different bank
/// pairs (and keep the rows 16-byte aligned for cp.async).
inline int64_t fp8Pitch(int64_t dim) { return dim + 16; }

/// Bytes of dynamic shared memory of `op`'s kernel with `config` (sm80,
/// decode or sm90a: the shared-memory layout follows the strategy; an fp8
/// cache's byte stages included; the document scan's scratch last).
int64_t sharedBytes(AttentionOp op, LoweringConfigAttr config);

/// Bytes at the end of the dynamic shared memory where the warps of a CTA
/// combine a document scan's partial results (one i32 slot per warp and
/// combined value; 0 without a document conjunct).
int64_t scanScratchBytes(AttentionOp op, LoweringConfigAttr config);

/// Why `op` cannot (yet) become an sm80 kernel, whatever the tile sizes, or
/// "" when it can.
std::string unsupportedReason(AttentionOp op);

/// Why `config` cannot build the kernel of `op` on `target`, or "".
std::string configReason(AttentionOp op, const GpuTarget &target,
                         LoweringConfigAttr config);

/// The lowering config for `op` on `target`: forced tile sizes and stage
/// count where given (0: choose). Fails with the reason in `why`.
FailureOr<LoweringConfigAttr> chooseConfig(AttentionOp op,
                                           const GpuTarget &target,
                                           const ForcedConfig &forced,
                                           std::string &why);

/// The key tiles to try, best first: the forced one, else a sparse-softmax
/// kv_block, else `preferK` then 64, 32, 16 where they divide a block-sparse
/// kv_block (16 when none does, to report why).
SmallVector<int64_t> keyTileCandidates(AttentionOp op, int64_t preferK,
                                       int64_t forcedBlockK);

/// The config of `strategy` with `blockQ` query rows and the first of
/// `keyTiles` that fits `target` (configReason). Fails with the first
/// candidate's reason in `why`, or, for a key tile that is not a positive
/// multiple of 16, with that reason and `invalid` set.
FailureOr<LoweringConfigAttr>
firstFittingConfig(AttentionOp op, const GpuTarget &target,
                   GpuStrategy strategy, int64_t blockQ,
                   ArrayRef<int64_t> keyTiles, int64_t kvSplits, int64_t stages,
                   std::string &why, bool &invalid, int64_t producerWarps = 0,
                   int64_t kvWarps = 1);

/// One set of tile sizes to try.
struct ConfigCandidate {
  int64_t blockQ;
  SmallVector<int64_t> keyTiles;
  int64_t stages;
  int64_t kvWarps = 1;
};
/// firstFittingConfig over `candidates` in order: the first config that
/// fits; failure at an invalid candidate (its reason), or where none fits
/// (the first candidate's reason).
FailureOr<LoweringConfigAttr>
firstFittingCandidate(AttentionOp op, const GpuTarget &target,
                      GpuStrategy strategy,
                      ArrayRef<ConfigCandidate> candidates, int64_t kvSplits,
                      int64_t producerWarps, std::string &why);

/// The f32 scratch through which a CTA merges its kv warps' softmax states
/// (KvWarpMerge.cpp): [kv warp - 1][row warp][slot][lane], a lane's slots
/// being m and l of rows g and g + 8 and 4 per 8 value columns of O.
inline SmallVector<int64_t, 4> kvWarpScratchShape(LoweringConfigAttr config,
                                                  int64_t headDimV) {
  return {config.getKvWarps() - 1, config.getBlockQ() / kRowsPerWarp,
          4 + 4 * (headDimV / 8), 32};
}

/// Adds the one kernel of the tiled strategies (sm80, sm90a) to `kernels`:
/// grid (ceil(Sq / block_q), Hq, B) from q, or for varlen
/// (ceil(T / block_q), Hq, B + 1) from q and cu_seqlens_q.
/// Returns the kernel.
gpu::GPUFuncOp buildTiledKernel(KernelSet &kernels, LoweringConfigAttr config);

/// Whether two CTAs of `config` fit one SM's `maxSharedBytes` of shared
/// memory (each also holds the 1 KiB the driver reserves).
bool sharedFitsTwice(AttentionOp op, LoweringConfigAttr config,
                     int64_t maxSharedBytes);

/// sm90a: a kernel of one consumer warpgroup (block_q 64) and a producer
/// warpgroup whose shared memory fits twice in sm_90a's: two of its CTAs
/// share each SM (minctasm 2; each gets half the register file), hiding
/// each other's copies, epilogue and turnaround.
bool twoCtasWithProducer(AttentionOp op, LoweringConfigAttr config);

} // namespace mlir::attn::sm80

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_SM80CONFIG_H
