//===- Sm80Schedule.cpp - sm80 kernel: launch order and kv schedule -------===//
//
// Which tile a CTA takes (the launch order over query tiles, heads and
// batches) and which kv tiles it visits: the mask analysis' range (a
// document conjunct narrowed from its ids), or the listed blocks of a
// block-sparse mask, split over CTAs for split-KV.
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"
#include "attn/Analysis/TileClassification.h"
#include "attn/Transforms/DocumentKeys.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

/// Launch order over (query tile, head, batch) for sequences of one
/// length: the CTAs of the grid (tiles, H, B) are numbered in launch order
/// L = x + tiles * (y + H * z), and L is mapped so that the heads go in
/// groups whose K and V take kL2Bytes together and, inside a group, the
/// query tile varies slowest: the heaviest causal tiles of the group's
/// heads start first and the lightest last, while the tiles running at
/// once share their keys in L2. Group g holds heads [g G, g G + Gs) (Gs = G
/// but for the last group). Measured on an H100 (docs/perf-log.md
/// 2026-11-24, A/B against one head's tiles after another): 8 MiB groups
/// (4 heads at d128 and 4k keys, about one wave) +4% at d128 and d256
/// causal 4k, the rest within noise; 24 MiB and 4 MiB within noise; one
/// group of every head (L2 thrashed) -5 to -16%. `qt` in: blockIdx.x,
/// out: the tile counted from the last; pos.h and pos.b are set.
void KernelBuilder::orderTilesInHeadGroups(Value &qt) {
  constexpr int64_t kL2Bytes = 8 << 20;
  Value tiles = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  Value heads = gpu::GridDimOp::create(b, loc, gpu::Dimension::y);
  Value batch = gpu::GridDimOp::create(b, loc, gpu::Dimension::z);
  Value launched = addIdx(
      qt,
      mulIdx(tiles, addIdx(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y),
                           mulIdx(heads, gpu::BlockIdOp::create(
                                             b, loc, gpu::Dimension::z)))));
  Value pairs = mulIdx(heads, batch);
  // K and V bytes one query head reads; the query heads of a kv head
  // share them.
  unsigned seqDim = op.getLayout() == Layout::bshd ? 1 : 2;
  int64_t bytesPerKey = (headDim + headDimV) *
                        elementType.getIntOrFloatBitWidth() / 8 /
                        (shape.headsQ / shape.headsKV);
  Value headBytes = mulIdx(memref::DimOp::create(b, loc, buf.k, seqDim),
                           std::max<int64_t>(bytesPerKey, 1));
  Value group = minIdx(
      maxIdx(divIdx(index(kL2Bytes), maxIdx(headBytes, index(1))), index(1)),
      pairs);
  Value g = divIdx(launched, mulIdx(group, tiles));
  Value inGroup = remIdx(launched, mulIdx(group, tiles));
  Value first = mulIdx(g, group);
  Value size = minIdx(group, arith::SubIOp::create(b, loc, pairs, first));
  qt = divIdx(inGroup, size);
  Value pair = addIdx(first, remIdx(inGroup, size));
  pos.h = remIdx(pair, heads);
  pos.b = divIdx(pair, heads);
}

/// The CTA's threads scan the document ids together (every role of the
/// CTA needs the schedule): thread t reads keys t, t + threads, ..., 8
/// loads in flight. Each combine reduces its values within each warp by
/// xor-shuffle butterflies, stages the warps' results in shared memory
/// (scanScratchBytes) and, after one barrier, every thread reduces the
/// warps' slots. Warps scanning alone (each every key) issued 12x the
/// instructions at 12 warps: the scan took a sixth of a document6 kernel.
/// The barrier is the unaligned `barrier.sync` on its own id: the producer
/// and consumer roles reach it from different code. A CTA of one warp
/// (decode) combines by the shuffles alone.
ScanLanes KernelBuilder::ctaScanLanes() {
  constexpr int64_t kLanes = 32, kBarrierId = 1;
  int64_t warps = numWarps + producerWarps;
  ScanLanes lanes;
  lanes.lanes = kLanes * warps;
  lanes.lane = tid;
  lanes.loadsInFlight = 8;
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto slotsType =
      MemRefType::get({ScanLanes::kCombinedValues, warps}, b.getI32Type(),
                      MemRefLayoutAttrInterface{}, workgroup);
  Value slots, warpOfThread, laneOfThread;
  if (warps > 1) {
    slots = memref::ViewOp::create(
        b, loc, slotsType, sharedBase,
        index(sharedBytes(op, config) - scanScratchBytes(op, config)),
        ValueRange{});
    warpOfThread = arith::DivUIOp::create(b, loc, tid, index(kLanes));
    laneOfThread = arith::RemUIOp::create(b, loc, tid, index(kLanes));
  }
  // Slots used by the earlier combines: each value has its own, so no
  // barrier orders a combine's reads before a later one's writes.
  auto used = std::make_shared<int64_t>(0);
  lanes.combine = [=, this](ValueRange values,
                            ArrayRef<ScanLanes::Reduce> kinds) {
    int64_t first = *used;
    *used += values.size();
    assert(*used <= ScanLanes::kCombinedValues && "scan scratch too small");
    SmallVector<Value> partial;
    for (auto [v, kind] : llvm::zip(values, kinds))
      partial.push_back(warpReduce(b, loc, v, kind));
    if (warps == 1)
      return partial;
    emitIf(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, laneOfThread,
                                 index(0)),
           [&] {
             for (auto [i, v] : llvm::enumerate(partial))
               memref::StoreOp::create(
                   b, loc, v, slots,
                   ValueRange{index(first + i), warpOfThread});
           });
    LLVM::InlineAsmOp::create(
        b, loc, TypeRange(), ValueRange(),
        "barrier.sync " + std::to_string(kBarrierId) + ", " +
            std::to_string(lanes.lanes) + ";",
        "", /*has_side_effects=*/true, /*is_align_stack=*/false,
        LLVM::TailCallKind::None,
        LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
        /*operand_attrs=*/ArrayAttr());
    SmallVector<Value> result;
    for (auto [i, kind] : llvm::enumerate(kinds)) {
      Value v = memref::LoadOp::create(b, loc, slots,
                                       ValueRange{index(first + i), index(0)});
      for (int64_t w = 1; w < warps; ++w)
        v = scanReduce(
            b, loc, v,
            memref::LoadOp::create(b, loc, slots,
                                   ValueRange{index(first + i), index(w)}),
            kind);
      result.push_back(v);
    }
    return result;
  };
  return lanes;
}

/// The kv tiles the mask analysis keeps for this query tile, in order:
/// step t visits tile ktLo + t; tiles inside the full interval (and not
/// ragged: the zero-filled padding keys of a ragged tile must be masked)
/// run the mask-free code.
void KernelBuilder::scheduleKvRange() {
  IndexArith arith{b, loc};
  Value q1 =
      minIdx(arith::AddIOp::create(b, loc, pos.q0, index(tileQ)), pos.seqQ);
  // A document conjunct's keys come from the ids (DocumentKeys.h).
  // Split-KV: each split scans the ids of its own share of the key tiles
  // only (a long cache is read once over all splits, not once per split)
  // and the schedule is not split again.
  auto splitScan = [&](Value &kLo, Value &kHi) {
    Value tLo = arith::DivUIOp::create(b, loc, kLo, index(tileK));
    Value tHi = arith::CeilDivUIOp::create(b, loc, kHi, index(tileK));
    auto [first, count] = splitSteps(arith::SubIOp::create(b, loc, tHi, tLo));
    Value sliceLo = mulIdx(addIdx(tLo, first), tileK);
    Value sliceHi = mulIdx(addIdx(addIdx(tLo, first), count), tileK);
    kLo = maxIdx(kLo, sliceLo);
    kHi = maxIdx(minIdx(kHi, sliceHi), kLo);
    scheduleIsSplit = true;
  };
  RowTileKeys<Value> keys = emitRowTileKeys(
      arith, op, buf, pos, q1, ctaScanLanes(),
      workspace ? function_ref<void(Value &, Value &)>(splitScan) : nullptr);
  // A ragged last tile is padded with zero-filled keys: it needs its mask.
  KvTileRange<Value> range = kvTileRange(arith, keys, pos.seqK, tileK,
                                         /*raggedLastTileIsFull=*/false);
  Value ktLo = range.ktLo, ktHi = range.ktHi, fullLo = range.fullLo,
        fullHi = range.fullHi;
  tileCount = arith::SubIOp::create(b, loc, ktHi, ktLo);
  tileAt = [this, ktLo](Value t) { return addIdx(ktLo, t); };
  isFullTile = [this, fullLo, fullHi](Value, Value kt) -> Value {
    return arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, kt, fullLo),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, kt, fullHi));
  };
}

/// Split-KV: this CTA's (split blockIdx.x of gridDim.x) steps of `count`:
/// [lo, lo + ceil(count / splits)) clipped to count; a split past the end
/// keeps none (its rows then hold lse -inf for the merge).
std::pair<Value, Value> KernelBuilder::splitSteps(Value count) {
  Value split = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value splits = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  Value per = arith::CeilDivUIOp::create(b, loc, count, splits);
  Value lo = minIdx(arith::MulIOp::create(b, loc, split, per), count);
  return {lo, minIdx(per, arith::SubIOp::create(b, loc, count, lo))};
}

void KernelBuilder::splitSchedule() {
  auto [lo, count] = splitSteps(tileCount);
  tileCount = count;
  auto whole = tileAt;
  auto wholeIsFull = isFullTile;
  tileAt = [this, whole, lo](Value t) { return whole(addIdx(lo, t)); };
  isFullTile = [this, wholeIsFull, lo](Value t, Value kt) {
    return wholeIsFull(addIdx(lo, t), kt);
  };
}

/// Block-sparse (FlexAttention BlockMask): the kv blocks listed for this
/// tile's query block, partial ones first (masks evaluated), then the full
/// ones (no mask code unless ragged). A block of kv_block keys is
/// kv_block / block_k consecutive tiles; step t maps to a listed block and a
/// tile inside it.
void KernelBuilder::scheduleListedBlocks() {
  BlockSparseAttr blocks = op.getBlockSparseAttr();
  int64_t ratio = blocks.getKvBlock() / tileK;
  Value qb = arith::DivUIOp::create(b, loc, pos.q0, index(blocks.getQBlock()));
  // Captured by value: tileAt and isFullTile run after this returns.
  auto at = [=, this](Value memref, Value last) {
    SmallVector<Value> idx = {emitBroadcastIndex(b, loc, memref, 0, pos.b),
                              emitBroadcastIndex(b, loc, memref, 1, pos.h), qb};
    if (last)
      idx.push_back(last);
    return idx;
  };
  auto loadIdx = [this](Value memref, ArrayRef<Value> idx) -> Value {
    return arith::IndexCastOp::create(
        b, loc, b.getIndexType(), memref::LoadOp::create(b, loc, memref, idx));
  };
  // Tiles listed: a corrupt count is clamped to the list's columns.
  auto listedTiles = [&](Value counts, Value indices) -> Value {
    if (!counts)
      return index(0);
    Value n = loadIdx(counts, at(counts, nullptr));
    Value columns = memref::DimOp::create(b, loc, indices, 3);
    return mulIdx(maxIdx(minIdx(n, columns), index(0)), ratio);
  };
  Value partialTiles = listedTiles(buf.kvNumBlocks, buf.kvIndices);
  tileCount =
      addIdx(partialTiles, listedTiles(buf.fullKvNumBlocks, buf.fullKvIndices));
  Value lastTile = arith::CeilDivSIOp::create(b, loc, pos.seqK, index(tileK));
  Value count = tileCount;
  tileAt = [=, this](Value t) -> Value {
    // Step t reads its list entry only when t < count; a step past the
    // end (the prefetch after the last tile) maps to the empty tile at Sk.
    auto lookup = [&](Value indices, Value tt) -> Value {
      Value block = loadIdx(
          indices,
          at(indices, arith::DivUIOp::create(b, loc, tt, index(ratio))));
      return addIdx(mulIdx(block, ratio),
                    arith::RemUIOp::create(b, loc, tt, index(ratio)));
    };
    Value inPartial = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                            t, partialTiles);
    Value inList =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, t, count);
    auto outer = scf::IfOp::create(b, loc, b.getIndexType(), inPartial,
                                   /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(outer.thenBlock());
      scf::YieldOp::create(b, loc, lookup(buf.kvIndices, t));
      b.setInsertionPointToStart(outer.elseBlock());
      Value result = lastTile;
      if (buf.fullKvIndices) {
        auto inner = scf::IfOp::create(b, loc, b.getIndexType(), inList,
                                       /*withElseRegion=*/true);
        b.setInsertionPointToStart(inner.thenBlock());
        scf::YieldOp::create(
            b, loc,
            lookup(buf.fullKvIndices,
                   arith::SubIOp::create(b, loc, t, partialTiles)));
        b.setInsertionPointToStart(inner.elseBlock());
        scf::YieldOp::create(b, loc, lastTile);
        b.setInsertionPointAfter(inner);
        result = inner.getResult(0);
      }
      scf::YieldOp::create(b, loc, result);
    }
    // A listed block outside the sequence would read out of bounds.
    return maxIdx(minIdx(outer.getResult(0), lastTile), index(0));
  };
  isFullTile = [=, this](Value t, Value kt) -> Value {
    Value end = mulIdx(addIdx(kt, index(1)), tileK);
    return arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, t,
                              partialTiles),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, end,
                              pos.seqK));
  };
}
