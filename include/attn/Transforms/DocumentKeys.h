//===- DocumentKeys.h - a document mask's keys from its ids -----*- C++ -*-===//
//
// The mask analysis cannot bound an #attn.document conjunct: which keys a
// row keeps depends on the ids. The CPU tiling and the GPU kernels read
// them instead, once per query tile, and narrow the kv schedule to the keys
// that can share a document with the tile's rows (DocumentKeys.cpp states
// the scan). A lowering says how the scan is spread (ScanLanes): one
// worker on the CPU, a warp's lanes on the GPU.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_DOCUMENTKEYS_H
#define ATTN_TRANSFORMS_DOCUMENTKEYS_H

#include "attn/Analysis/TileClassification.h"
#include "attn/IR/AttnOps.h"
#include "attn/Transforms/TilingContext.h"

#include <functional>

namespace mlir::attn {

/// The #attn.document conjunct among the op's masks whose keys the
/// schedule finds from the ids (null if none, or the ids are wider than 32
/// bits: the schedule then visits the keys the other masks keep).
DocumentAttr documentConjunct(AttentionOp op);

/// How one scan is spread: `lanes` workers, this one `lane` (index), each
/// reading `loadsInFlight` ids per step; `combine` reduces i32 values over
/// the lanes (all of which run the scan), value i with the op kinds[i],
/// several at once so that a lowering reducing through memory pays one
/// barrier per call.
struct ScanLanes {
  enum class Reduce { min, max, add };
  /// Values one scan combines in all (the rows' id min and max, then the
  /// keys' first, last and count): a lowering that stages partial results
  /// in memory gives each its own slot.
  static constexpr int64_t kCombinedValues = 5;
  int64_t lanes = 1;
  Value lane;
  int64_t loadsInFlight = 1;
  std::function<SmallVector<Value>(ValueRange, ArrayRef<Reduce>)> combine;

  /// A single worker (the CPU tiling).
  static ScanLanes oneLane(OpBuilder &b, Location loc);
};

/// The keys the document mask keeps for some / every row of [qLo, qHi),
/// among the keys [kLo, kHi) (all relative to sequence pos.b): live
/// [first, last + 1) of the keys whose id lies in the rows' id range, full
/// all of them when the rows hold one id and every key between does, else
/// none. The results are the same in every lane.
RowTileKeys<Value> emitDocumentKeys(OpBuilder &b, Location loc,
                                    const AttentionBuffers &buf,
                                    const TilePosition &pos, Value qLo,
                                    Value qHi, Value kLo, Value kHi,
                                    const ScanLanes &lanes);

/// The real keys [lo, hi) of `keys`' live interval (clipped to [0, seqK),
/// hi >= lo): the keys a document scan reads.
std::pair<Value, Value>
liveKeyRange(IndexArith &arith, const RowTileKeys<Value> &keys, Value seqK);

/// The keys of the query rows [pos.q0, q1) under the op's masks
/// (analyzeRowTile), with a document conjunct's keys read from the ids
/// (emitDocumentKeys over the keys the other masks keep). `narrowScan`
/// may shrink the scanned keys [kLo, kHi) first (a split-KV CTA's share);
/// the keys are then limited to them.
RowTileKeys<Value>
emitRowTileKeys(IndexArith &arith, AttentionOp op, const AttentionBuffers &buf,
                const TilePosition &pos, Value q1, const ScanLanes &lanes,
                function_ref<void(Value &, Value &)> narrowScan = nullptr);

} // namespace mlir::attn

#endif // ATTN_TRANSFORMS_DOCUMENTKEYS_H
