//===- DocumentKeys.cpp - a document mask's keys from its ids -------------===//
//
// With rows [qLo, qHi) holding ids in [lo, hi] (a min / max reduction over
// their ids), key j can be kept by some row only if doc_kv[j] is in
// [lo, hi], and by every row if lo == hi == doc_kv[j]. The lanes read the
// ids of keys [kLo, kHi), lane l the keys l, l + lanes, ... (loadsInFlight
// of them per step), and reduce over the keys whose id is in [lo, hi]:
//   liveLo   the first such key
//   liveHi   one past the last such key
//   count    how many there are
// The live keys are [liveLo, liveHi); all of them are full when lo == hi
// and count == liveHi - liveLo (every key between holds the rows' one id),
// else none is. For sorted ids (packed documents) that is exact: the
// schedule visits only the tiles of the rows' documents and runs the tiles
// inside one document without mask code. For any ids it is a superset of
// the kept keys and a subset of the keys every row keeps, so the
// per-element mask on the partial tiles still decides.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/DocumentKeys.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;

DocumentAttr mlir::attn::documentConjunct(AttentionOp op) {
  ArrayAttr masks = op.getMasksAttr();
  if (!masks || !op.getDocIdsQ())
    return nullptr;
  for (Value ids : {op.getDocIdsQ(), op.getDocIdsKv()})
    if (cast<ShapedType>(ids.getType()).getElementTypeBitWidth() > 32)
      return nullptr;
  for (Attribute atom : masks)
    if (auto document = dyn_cast<DocumentAttr>(atom))
      return document;
  return nullptr;
}

namespace {
using Reduce = ScanLanes::Reduce;
using P = arith::CmpIPredicate;

class DocumentScan {
public:
  DocumentScan(OpBuilder &b, Location loc, const AttentionBuffers &buf,
               const TilePosition &pos, const ScanLanes &lanes)
      : b(b), loc(loc), buf(buf), pos(pos), lanes(lanes) {}

  RowTileKeys<Value> run(Value qLo, Value qHi, Value kLo, Value kHi) {
    auto [lo, hi] = rowIdRange(qLo, qHi);
    // Keys, counts and the loops in i32 (keys stay below 2^31). Without
    // rows (lo > hi) no key is scanned.
    Value first = toI32(kLo);
    Value end = select(cmp(P::sle, lo, hi), toI32(kHi), first);
    // lo <= id <= hi as one unsigned compare: id - lo <=u hi - lo.
    Value span = sub(hi, lo);
    // Per lane: the first live key (end if none), the last (-1), how many.
    SmallVector<Value> state = {end, i32(-1), i32(0)};
    int64_t perStep = lanes.lanes * lanes.loadsInFlight;
    // Whole steps need no bounds checks; the last, partial one clamps its
    // reads and drops keys past the end.
    Value wholeEnd =
        add(first,
            arith::MulIOp::create(
                b, loc,
                arith::DivSIOp::create(b, loc, sub(end, first), i32(perStep)),
                i32(perStep)));
    auto loop =
        scf::ForOp::create(b, loc, first, wholeEnd, i32(perStep), state);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      scf::YieldOp::create(b, loc,
                           step(loop.getInductionVar(),
                                SmallVector<Value>(loop.getRegionIterArgs()),
                                lo, span, nullptr));
    }
    auto tail = scf::IfOp::create(b, loc, TypeRange(ValueRange(state)),
                                  cmp(P::slt, wholeEnd, end),
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(tail.thenBlock());
      scf::YieldOp::create(
          b, loc,
          step(wholeEnd, SmallVector<Value>(loop.getResults()), lo, span, end));
      b.setInsertionPointToStart(tail.elseBlock());
      scf::YieldOp::create(b, loc, loop.getResults());
    }
    SmallVector<Value> reduced = lanes.combine(
        tail.getResults(), {Reduce::min, Reduce::max, Reduce::add});
    Value liveLo = reduced[0];
    Value liveHi = add(reduced[1], i32(1));
    Value count = reduced[2];
    Value allFull = arith::AndIOp::create(
        b, loc, cmp(P::eq, lo, hi), cmp(P::eq, count, sub(liveHi, liveLo)));
    RowTileKeys<Value> result;
    result.live = {toIndex(liveLo), toIndex(liveHi)};
    result.full = KeyInterval<Value>{toIndex(liveLo),
                                     toIndex(select(allFull, liveHi, liveLo))};
    return result;
  }

private:
  /// One step of the scan at `base`: lane l reads keys base + c lanes + l
  /// (c < loadsInFlight, all reads first) and folds the live ones into
  /// `state` (first, last, count). With `end`, keys at or past it are
  /// dropped and reads clamped to end - 1.
  SmallVector<Value> step(Value base, SmallVector<Value> state, Value lo,
                          Value span, Value end) {
    Value lane = toI32(lanes.lane);
    SmallVector<Value> keys, ids;
    for (int64_t c = 0; c < lanes.loadsInFlight; ++c) {
      // No overflow (keys < 2^31): LLVM folds the constant into the read's
      // address.
      keys.push_back(arith::AddIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc, base, lane,
                                arith::IntegerOverflowFlags::nsw),
          i32(c * lanes.lanes), arith::IntegerOverflowFlags::nsw));
      Value at = end ? min(keys.back(), sub(end, i32(1))) : keys.back();
      ids.push_back(loadId(buf.docIdsKv, pos.kStart, toIndex(at)));
    }
    for (auto [key, id] : llvm::zip(keys, ids)) {
      Value live = cmp(P::ule, sub(id, lo), span);
      if (end)
        live = arith::AndIOp::create(b, loc, live, cmp(P::slt, key, end));
      state = {
          min(state[0], select(live, key, state[0])),
          max(state[1], select(live, key, state[1])),
          add(state[2], arith::ExtUIOp::create(b, loc, b.getI32Type(), live))};
    }
    return state;
  }

  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value toI32(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), v);
  }
  Value toIndex(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value cmp(P p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  /// The id of token `at` of the sequence, as i32 (doc ids are [B, S], or
  /// [T] packed for varlen).
  Value loadId(Value ids, Value start, Value at) {
    Value id = memref::LoadOp::create(
        b, loc, ids, tokenIndices(b, loc, ids, pos, start, at));
    if (id.getType().isInteger(32))
      return id;
    return arith::ExtSIOp::create(b, loc, b.getI32Type(), id);
  }

  /// The ids of rows [qLo, qHi): their min and max over the lanes
  /// (INT_MAX, INT_MIN without rows: no key is live).
  std::pair<Value, Value> rowIdRange(Value qLo, Value qHi) {
    auto loop = scf::ForOp::create(
        b, loc, arith::AddIOp::create(b, loc, qLo, lanes.lane), qHi,
        arith::ConstantIndexOp::create(b, loc, lanes.lanes),
        ValueRange{i32(std::numeric_limits<int32_t>::max()),
                   i32(std::numeric_limits<int32_t>::min())});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value id = loadId(buf.docIdsQ, pos.qStart, loop.getInductionVar());
      scf::YieldOp::create(b, loc,
                           ValueRange{min(loop.getRegionIterArg(0), id),
                                      max(loop.getRegionIterArg(1), id)});
    }
    SmallVector<Value> range =
        lanes.combine(loop.getResults(), {Reduce::min, Reduce::max});
    return {range[0], range[1]};
  }

  OpBuilder &b;
  Location loc;
  const AttentionBuffers &buf;
  const TilePosition &pos;
  const ScanLanes &lanes;
};
} // namespace

RowTileKeys<Value> mlir::attn::emitDocumentKeys(OpBuilder &b, Location loc,
                                                const AttentionBuffers &buf,
                                                const TilePosition &pos,
                                                Value qLo, Value qHi, Value kLo,
                                                Value kHi,
                                                const ScanLanes &lanes) {
  return DocumentScan(b, loc, buf, pos, lanes).run(qLo, qHi, kLo, kHi);
}

ScanLanes ScanLanes::oneLane(OpBuilder &b, Location loc) {
  ScanLanes one;
  one.lane = arith::ConstantIndexOp::create(b, loc, 0);
  one.combine = [](ValueRange values, ArrayRef<Reduce>) {
    return SmallVector<Value>(values);
  };
  return one;
}

std::pair<Value, Value> mlir::attn::liveKeyRange(IndexArith &arith,
                                                 const RowTileKeys<Value> &keys,
                                                 Value seqK) {
  Value lo = arith.max(*keys.live.lo, arith.constant(0));
  return {lo, arith.max(arith.min(*keys.live.hi, seqK), lo)};
}

RowTileKeys<Value> mlir::attn::emitRowTileKeys(
    IndexArith &arith, AttentionOp op, const AttentionBuffers &buf,
    const TilePosition &pos, Value q1, const ScanLanes &lanes,
    function_ref<void(Value &, Value &)> narrowScan) {
  OpBuilder &b = arith.builder;
  Location loc = arith.loc;
  DocumentAttr document = documentConjunct(op);
  RowTileKeys<Value> keys =
      analyzeRowTile(arith, op.getMasksAttr(), pos.q0, q1, pos.seqQ, pos.seqK,
                     [&](Attribute atom) { return atom == document; });
  if (!document)
    return keys;
  // The scan covers only the keys the other masks keep.
  auto [kLo, kHi] = liveKeyRange(arith, keys, pos.seqK);
  if (narrowScan) {
    narrowScan(kLo, kHi);
    keys =
        intersectRowTileKeys(arith, keys,
                             RowTileKeys<Value>{KeyInterval<Value>{kLo, kHi},
                                                KeyInterval<Value>{kLo, kHi}});
  }
  return intersectRowTileKeys(
      arith, keys,
      emitDocumentKeys(b, loc, buf, pos, pos.q0, q1, kLo, kHi, lanes));
}
