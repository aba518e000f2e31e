//===- DocumentKeys.cpp - a document mask's keys from its ids -------------===//
//
// With rows [qLo, qHi) holding ids in [lo, hi] (a warp's min / max
// reduction), key j can be kept by some row only if doc_kv[j] is in
// [lo, hi], and by every row if lo == hi == doc_kv[j]. The warp reads the
// ids of keys [kLo, kHi), each lane every 32nd key (eight loads in flight),
// and reduces over the keys whose id is in [lo, hi]:
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

#include "DocumentKeys.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

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
/// Lanes of the warp, and keys each lane reads per loop step (their loads
/// in flight together: 8 ran 5% faster than 4 on an H100, 16 the same as
/// 8; document6, b4 h16 s4096 d128).
constexpr int64_t kLanes = 32;
constexpr int64_t kChunks = 8;

class DocumentScan {
public:
  DocumentScan(OpBuilder &b, Location loc, const AttentionBuffers &buf,
               const TilePosition &pos)
      : b(b), loc(loc), buf(buf), pos(pos) {
    lane = gpu::LaneIdOp::create(b, loc, /*upperBound=*/nullptr);
  }

  RowTileKeys<Value> run(Value qLo, Value qHi, int64_t rows, Value kLo,
                         Value kHi) {
    auto [lo, hi] = rowIdRange(qLo, qHi, rows);
    // Keys, counts and the loop in i32 (keys stay below 2^31). Per lane:
    // the first live key (kHi if none), one past the last (kLo), how many.
    Value first = toI32(kLo), end = toI32(kHi);
    Value lane32 = toI32(lane);
    auto loop = scf::ForOp::create(b, loc, first, end, i32(kLanes * kChunks),
                                   ValueRange{end, first, i32(0)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value base = loop.getInductionVar();
      SmallVector<Value> state(loop.getRegionIterArgs());
      // All loads first: kChunks reads in flight per lane.
      SmallVector<Value> keys, ids;
      for (int64_t c = 0; c < kChunks; ++c) {
        keys.push_back(add(add(base, i32(c * kLanes)), lane32));
        // Clamped into [kLo, kHi): a lane past the end reads a real id and
        // ignores it.
        Value at =
            arith::MinSIOp::create(b, loc, keys.back(), sub(end, i32(1)));
        ids.push_back(
            loadId(buf.docIdsKv, pos.kStart,
                   arith::IndexCastOp::create(b, loc, b.getIndexType(), at)));
      }
      using P = arith::CmpIPredicate;
      for (int64_t c = 0; c < kChunks; ++c) {
        Value live = arith::AndIOp::create(
            b, loc, cmp(P::slt, keys[c], end),
            arith::AndIOp::create(b, loc, cmp(P::sge, ids[c], lo),
                                  cmp(P::sle, ids[c], hi)));
        state = {
            arith::MinSIOp::create(b, loc, state[0],
                                   select(live, keys[c], end)),
            arith::MaxSIOp::create(b, loc, state[1],
                                   select(live, add(keys[c], i32(1)), first)),
            add(state[2],
                arith::ExtUIOp::create(b, loc, b.getI32Type(), live))};
      }
      scf::YieldOp::create(b, loc, state);
    }
    Value liveLo = warpReduce<arith::MinSIOp>(loop.getResult(0));
    Value liveHi = warpReduce<arith::MaxSIOp>(loop.getResult(1));
    Value count = warpReduce<arith::AddIOp>(loop.getResult(2));
    using P = arith::CmpIPredicate;
    Value allFull = arith::AndIOp::create(
        b, loc, cmp(P::eq, lo, hi), cmp(P::eq, count, sub(liveHi, liveLo)));
    auto toIndex = [&](Value v) -> Value {
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    RowTileKeys<Value> result;
    result.live = {toIndex(liveLo), toIndex(liveHi)};
    result.full = KeyInterval<Value>{toIndex(liveLo),
                                     toIndex(select(allFull, liveHi, liveLo))};
    return result;
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value toI32(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), v);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  /// The id of token `at` of the sequence, as i32 (doc ids are [B, S], or
  /// [T] packed for varlen).
  Value loadId(Value ids, Value start, Value at) {
    Value id =
        cast<MemRefType>(ids.getType()).getRank() == 1
            ? memref::LoadOp::create(b, loc, ids, ValueRange{add(start, at)})
            : memref::LoadOp::create(b, loc, ids, ValueRange{pos.b, at});
    if (id.getType().isInteger(32))
      return id;
    return arith::ExtSIOp::create(b, loc, b.getI32Type(), id);
  }

  /// The ids of rows [qLo, qHi), at most `rows` of them: their min and max
  /// over the warp (INT_MAX, INT_MIN without rows: no key is live). The
  /// loads are unrolled, all in flight at once.
  std::pair<Value, Value> rowIdRange(Value qLo, Value qHi, int64_t rows) {
    Value lo = i32(std::numeric_limits<int32_t>::max());
    Value hi = i32(std::numeric_limits<int32_t>::min());
    // Clamped into [qLo, max(qHi, qLo + 1)): qLo is a row of the tile,
    // inside the operand even when seqused leaves the tile no rows.
    Value last = arith::MaxSIOp::create(b, loc, sub(qHi, index(1)), qLo);
    SmallVector<Value> valid, ids;
    for (int64_t c = 0; c * kLanes < rows; ++c) {
      Value row = add(add(qLo, index(c * kLanes)), lane);
      valid.push_back(cmp(arith::CmpIPredicate::slt, row, qHi));
      ids.push_back(loadId(buf.docIdsQ, pos.qStart,
                           arith::MinSIOp::create(b, loc, row, last)));
    }
    for (auto [ok, id] : llvm::zip(valid, ids)) {
      lo = arith::MinSIOp::create(b, loc, lo, select(ok, id, lo));
      hi = arith::MaxSIOp::create(b, loc, hi, select(ok, id, hi));
    }
    return {warpReduce<arith::MinSIOp>(lo), warpReduce<arith::MaxSIOp>(hi)};
  }

  /// The i32 `v` combined over the warp's lanes (a butterfly of xor
  /// shuffles).
  template <typename CombineOp> Value warpReduce(Value v) {
    for (int64_t offset = kLanes / 2; offset > 0; offset /= 2)
      v = CombineOp::create(b, loc, v,
                            gpu::ShuffleOp::create(b, loc, v, offset, kLanes,
                                                   gpu::ShuffleMode::XOR)
                                .getShuffleResult());
    return v;
  }

  OpBuilder &b;
  Location loc;
  const AttentionBuffers &buf;
  const TilePosition &pos;
  Value lane;
};
} // namespace

RowTileKeys<Value> mlir::attn::emitDocumentKeys(OpBuilder &b, Location loc,
                                                const AttentionBuffers &buf,
                                                const TilePosition &pos,
                                                Value qLo, Value qHi,
                                                int64_t rows, Value kLo,
                                                Value kHi) {
  return DocumentScan(b, loc, buf, pos).run(qLo, qHi, rows, kLo, kHi);
}
