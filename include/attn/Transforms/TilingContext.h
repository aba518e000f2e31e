//===- TilingContext.h - values shared by the tiling code -------*- C++ -*-===//
//
// The buffers and loop values that a tiled lowering (the CPU tiling pass,
// the GPU kernel generator) builds, and the element code (masks, score
// modifications, gates) that both share.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_TILINGCONTEXT_H
#define ATTN_TRANSFORMS_TILINGCONTEXT_H

#include "attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"

#include <functional>
#include <map>
#include <optional>
#include <vector>

namespace mlir::attn {

/// log2(e) and ln(2): scores are kept in log2 units so that every
/// exponential is an exp2 (one ex2 instruction on the GPU).
constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;

/// Memref views of the attention op's operands (null where absent) and of
/// its results.
struct AttentionBuffers {
  Value q, k, v;
  Value cuSeqlensQ, cuSeqlensK, sequsedQ, sequsedK;
  Value docIdsQ, docIdsKv, customMask, alibiSlopes, bias;
  Value kvNumBlocks, kvIndices, fullKvNumBlocks, fullKvIndices;
  Value sinks, gateAlpha, gateDelta;
  Value kvPageIndptr, kvPageIndices, kvLastPageLen;
  Value kScale, vScale;
  Value out, lse;
  /// Set by the GPU kernel generator: the memref holding a tensor that a
  /// mask_mod/score_mod region captures (null for anything else), so that
  /// the region's tensor.extract becomes a memref.load.
  std::function<Value(Value)> captured;
};

/// Index values of the current (batch, head, query tile, kv tile), all
/// relative to one sequence: query row i = q0 + r, key j = k0 + c.
struct TilePosition {
  Value b;          ///< batch (sequence) index
  Value h;          ///< query head
  Value hk;         ///< kv head, h / (Hq / Hkv)
  Value qStart;     ///< first packed row of the sequence (0 unless varlen)
  Value kStart;     ///< first packed key of the sequence (0 unless varlen)
  Value seqQ;       ///< query length of the sequence (after seqused_q)
  Value seqK;       ///< key length of the sequence (after seqused_k)
  Value layoutSeqQ; ///< query length from cu_seqlens (rows in memory)
  Value layoutSeqK; ///< key length from cu_seqlens (row pitch of a varlen
                    ///< custom mask)
  Value maskBase;   ///< varlen custom mask: offset of this sequence's
                    ///< matrix (elements, or bytes when packed)
  Value pageBase;   ///< paged KV: this sequence's first entry of
                    ///< kv_page_indices
  Value q0;         ///< first query row of the tile
  Value k0;         ///< first key of the tile
};

/// Fills pos.qStart/kStart, seqQ/seqK and layoutSeqQ/K of sequence pos.b:
/// offsets from cu_seqlens (clamped into the packed buffers) and lengths
/// after seqused for varlen ops; 0 and the sequence dimension otherwise;
/// for a paged KV cache, the key length from the page table and
/// pos.pageBase.
void emitSequenceBounds(OpBuilder &builder, Location loc, AttentionOp op,
                        const AttentionBuffers &buffers, TilePosition &pos);

/// One step of a row's online softmax (RowSoftmax.cpp states the math).
struct RowStep {
  Value m;          ///< the new running max m'
  Value correction; ///< 2^(m - m'): l and the accumulator are scaled by it
  Value apply;      ///< sparse softmax: i1, whether the tile counts (null
                    ///< without a threshold); where false the lowering
                    ///< drops the tile's weights (m' = m, correction 1)
};

/// The step of a row with running max `m` (log2 units) over a tile whose
/// kept scores have the maximum `tileMax`: `lazyLog2` (optional) keeps m
/// while the maximum grows by at most that much, `threshold` (optional f32)
/// is sparse softmax's. `exp2` is the lowering's.
RowStep emitRowStep(OpBuilder &builder, Location loc, Value m, Value tileMax,
                    std::optional<double> lazyLog2, Value threshold,
                    function_ref<Value(Value)> exp2);

/// The running sum after a step: l * correction + tileSum (the sum of the
/// tile's weights 2^(t - m')).
Value emitRowSum(OpBuilder &builder, Location loc, Value l, const RowStep &step,
                 Value tileSum);

/// The end of one row's online softmax (RowSoftmax.cpp states the math).
struct RowFinal {
  Value inverse; ///< factor / l: out = acc * inverse (0 for an empty row)
  Value lse2;    ///< log-sum-exp in log2 units (-inf for an empty row)
  Value lse;     ///< lse2 * ln 2
};

/// Finishes a row from its running max `m` and sum `l` (log2 units): the
/// optional `sink` logit joins the denominator; `kept` (optional i1) marks
/// rows that may keep keys at all. `exp2` / `log2` are the lowering's (math
/// ops on the CPU, single PTX instructions on the GPU).
RowFinal emitRowFinalize(OpBuilder &builder, Location loc, Value m, Value l,
                         Value sink, Value kept,
                         function_ref<Value(Value)> exp2,
                         function_ref<Value(Value)> log2);

/// A varlen custom mask: the cells (elements; bytes when packed, each
/// sequence starting on a fresh byte) sequence pos.b's matrix takes,
/// layoutSeqQ x layoutSeqK (pos filled by emitSequenceBounds).
Value emitMaskCells(OpBuilder &builder, Location loc, AttentionOp op,
                    const AttentionBuffers &buffers, const TilePosition &pos);

/// A varlen custom mask: where sequence `batch`'s matrix starts, the cells
/// of the sequences before it (a loop over them: for a kernel that handles
/// one sequence and cannot carry the running offset).
Value emitVarlenMaskBase(OpBuilder &builder, Location loc, AttentionOp op,
                         const AttentionBuffers &buffers, Value batch);

/// Paged KV: the pool page holding key `key` (within sequence pos.b), read
/// from kv_page_indices and clamped into both pools. `valid` (optional):
/// where it is false the table is not read and page 0 is used (an address
/// that is formed but not loaded from, e.g. a zero-filled copy).
Value emitKeyPage(OpBuilder &builder, Location loc, AttentionOp op,
                  const AttentionBuffers &buffers, const TilePosition &pos,
                  Value key, Value valid = nullptr);

/// Paged KV: the indices of column `col` of the key in slot `slot` of
/// `page`, kv head `head`: (page, slot, head, col) for nhd pages, (page,
/// head, slot, col) for hnd.
SmallVector<Value> pagedKeyIndices(AttentionOp op, Value page, Value slot,
                                   Value head, Value col);

/// The indices of token `index` of sequence pos.b in a per-token operand
/// (document ids): (pos.b, index) for [B, S], (start + index) for varlen
/// [T] (start: pos.qStart or pos.kStart).
SmallVector<Value> tokenIndices(OpBuilder &builder, Location loc, Value buffer,
                                const TilePosition &pos, Value start,
                                Value index);

/// The index into dimension `dim` of a [X|1, Y|1, ...] operand (custom
/// mask, bias, block lists): `index`, or 0 where the dimension has size 1
/// (broadcast). A dynamic dimension is tested at run time, so a size-1
/// operand passed for a `?` dimension is never read past its end.
Value emitBroadcastIndex(OpBuilder &builder, Location loc, Value memref,
                         unsigned dim, Value index);

/// The sparse-softmax threshold of sequence pos.b as an f32 value (the
/// attribute's, or flash_sparse_attn's default head_dim / Sk), or null
/// without sparse softmax.
Value emitSparseThreshold(OpBuilder &builder, Location loc, AttentionOp op,
                          const TilePosition &pos);

/// Results that the element code of one tile shares between its pairs: an
/// op of a mask_mod/score_mod region without memory effects, or a guarded
/// read of a captured tensor, that sees the same operands as an earlier one
/// reuses that one's results. The GPU kernel emits a pair's code per
/// accumulator element (64 per thread and 128-key tile), and LLVM does not
/// merge the branches of guarded reads: `docs[q_idx] == docs[kv_idx]` read
/// 128 ids per thread and tile instead of 2 + 32, and spilled. Valid while
/// one tile's element code is emitted into one block.
class ElementValueCache {
public:
  /// The results recorded under `key`, or an empty range.
  ArrayRef<Value> lookup(ArrayRef<const void *> key) const {
    auto it = entries.find(std::vector<const void *>(key.begin(), key.end()));
    return it == entries.end() ? ArrayRef<Value>() : ArrayRef(it->second);
  }
  void record(ArrayRef<const void *> key, ValueRange results) {
    entries[std::vector<const void *>(key.begin(), key.end())] =
        SmallVector<Value, 1>(results);
  }

private:
  std::map<std::vector<const void *>, SmallVector<Value, 1>> entries;
};

/// Whether a tile needs element code: score modifications and gates on
/// every tile, masks on partial ones.
bool hasElementCode(AttentionOp op, bool partial);

/// Whether the op's masks hold a mask_mod that reads a captured tensor at
/// an index derived from kv_idx (e.g. document ids), in or out of an `or`.
bool maskModReadsPerKey(AttentionOp op);

/// Emits, at the builder's insertion point, the keep flag of the pair
/// (query row i, key j) under the mask atoms `masks` (true without masks),
/// #attn.mask_mod inlining `maskMod`: for any op holding masks
/// (attn.block_mask's classification). The atoms reading operands
/// (document ids, a custom mask) read them from `buffers`.
Value emitMaskKeep(OpBuilder &builder, Location loc, ArrayAttr masks,
                   Region &maskMod, const AttentionBuffers &buffers,
                   const TilePosition &pos, Value i, Value j,
                   ElementValueCache *cache = nullptr);

/// Emits, at the builder's insertion point, the keep flag of the pair
/// (query row i, key j) under the op's masks alone (true without masks):
/// what a partial tile adds to its element code, independent of the score.
Value emitMaskKeep(OpBuilder &builder, AttentionOp op,
                   const AttentionBuffers &buffers, const TilePosition &pos,
                   Value i, Value j, ElementValueCache *cache = nullptr);

/// Emits, at the builder's insertion point, the modified score and the keep
/// flag of the pair (query row i, key j), both indices within the sequence.
/// With `cache`, the user regions' values are shared with the pairs emitted
/// before into the same block (pass the same i / j Values to share them).
std::pair<Value, Value> emitElement(OpBuilder &builder, AttentionOp op,
                                    const AttentionBuffers &buffers,
                                    const TilePosition &pos, bool partial,
                                    Value s, Value i, Value j,
                                    ElementValueCache *cache = nullptr);

/// Builds the `element` region of an attn.tile_update: score modifications
/// and gates on every tile, masks only when `partial`. Leaves the region
/// empty when there is nothing to compute.
void buildElementRegion(OpBuilder &builder, AttentionOp op,
                        const AttentionBuffers &buffers,
                        const TilePosition &pos, bool partial, Region &region);

} // namespace mlir::attn

#endif // ATTN_TRANSFORMS_TILINGCONTEXT_H
