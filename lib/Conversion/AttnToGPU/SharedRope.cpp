//===- SharedRope.cpp - #attn.rope on shared-memory tiles -----------------===//
//
// RoPE in the kernels: a Q or K tile is rotated in shared memory after its
// copy lands and before any MMA reads it (RotaryEmbedding.h has the math,
// RopeAttr the definition). Every loading thread (the CTA's, or a
// producer warpgroup's) rotates a share of the tile's
// (row, column pair) units (forEachTileUnit): a unit is columns 2u, 2u + 1
// and their partners 2u + D/2, 2u + 1 + D/2 of one row, two 4-byte shared
// loads and stores. Where a thread keeps one column pair, its two
// frequencies are loaded once; in a K tile (consecutive positions) its
// rows' angles then step by a fixed turn, so sin/cos run once per thread
// and tile instead of once per unit.
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"

#include "attn/Transforms/RotaryEmbedding.h"

#include <array>
#include <numeric>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

Value KernelBuilder::ropeFrequencies() {
  if (ropeTable)
    return ropeTable;
  RopeAttr rope = op.getRopeAttr();
  SmallVector<float> table = rope.inverseFrequencies(headDim);
  auto type = MemRefType::get({int64_t(table.size())}, f32);
  // One constant global per kernel module: f_d, RopeAttr's one table.
  auto module =
      b.getInsertionBlock()->getParentOp()->getParentOfType<gpu::GPUModuleOp>();
  OpBuilder::InsertPoint kernel = b.saveInsertionPoint();
  b.setInsertionPointToStart(module.getBody());
  auto global = memref::GlobalOp::create(
      b, loc, "attn_rope_frequencies", b.getStringAttr("private"), type,
      DenseElementsAttr::get(RankedTensorType::get(type.getShape(), f32),
                             ArrayRef<float>(table)),
      /*constant=*/true, /*alignment=*/nullptr);
  SymbolTable(module).insert(global);
  b.restoreInsertionPoint(kernel);
  return ropeTable =
             memref::GetGlobalOp::create(b, loc, type, global.getSymName());
}

void KernelBuilder::rotateSharedTile(Value tile, Value stage, int64_t tileRows,
                                     function_ref<Value(Value)> positionOf,
                                     Value firstPosition) {
  Value table = ropeFrequencies();
  int64_t half = headDim / 2;
  auto pairType = VectorType::get({2}, elementType);
  auto pairF32 = VectorType::get({2}, f32);
  Value freq[2];
  // sm90a: flat 128-byte-swizzled panels (a pair of adjacent halves stays
  // inside its 16-byte chunk); else padded rows.
  auto at = [&](Value r, Value c) {
    return sharedTileIndices(stage, r, c, tileRows, headDim);
  };
  // Unit (r, u): columns c = 2u, 2u + 1 and their partners c + D/2.
  auto frequencies = [&](Value u) {
    for (int64_t e = 0; e < 2; ++e)
      freq[e] = memref::LoadOp::create(
          b, loc, table, ValueRange{addIdx(mulIdx(u, 2), index(e))});
  };
  // The unit's two pairs: (x0, x1) at columns c, c + 1 and their
  // partners (y0, y1) at c + D/2, c + 1 + D/2, as f32.
  auto loadUnit = [&](Value r, Value u) {
    Value c = mulIdx(u, 2);
    auto load = [&](Value column) {
      Value v = vector::LoadOp::create(b, loc, pairType, tile, at(r, column));
      return arith::ExtFOp::create(b, loc, pairF32, v).getResult();
    };
    return std::make_pair(load(c), load(addIdx(c, index(half))));
  };
  // Turns the loaded pairs by the angles of (cos, sin) turn[e] and stores
  // them back.
  auto turnLoaded = [&](Value r, Value u, std::pair<Value, Value> loaded,
                        ArrayRef<std::pair<Value, Value>> turn) {
    Value c = mulIdx(u, 2);
    Value c2 = addIdx(c, index(half));
    auto [xs, ys] = loaded;
    Value outX = xs, outY = ys;
    for (int64_t e = 0; e < 2; ++e) {
      Value x = vector::ExtractOp::create(b, loc, xs, e);
      Value y = vector::ExtractOp::create(b, loc, ys, e);
      auto [rx, ry] = emitRopeTurn(b, loc, x, y, turn[e].first, turn[e].second);
      outX = vector::InsertOp::create(b, loc, rx, outX, e);
      outY = vector::InsertOp::create(b, loc, ry, outY, e);
    }
    auto store = [&](Value v, Value column) {
      vector::StoreOp::create(b, loc,
                              arith::TruncFOp::create(b, loc, pairType, v),
                              tile, at(r, column));
    };
    store(outX, c);
    store(outY, c2);
  };
  auto turnUnit = [&](Value r, Value u,
                      ArrayRef<std::pair<Value, Value>> turn) {
    turnLoaded(r, u, loadUnit(r, u), turn);
  };
  // (cos, sin) of an angle.
  auto cosSin = [&](Value angle) {
    auto [sin, cos] = emitSinCos(b, loc, angle);
    return std::make_pair(cos, sin);
  };
  int64_t threads = loadThreads, perRow = headDim / 4;
  int64_t step = threads % perRow == 0 ? threads / perRow : 0;
  if (firstPosition && step && tileRows % step == 0) {
    // Consecutive positions (a K tile): each thread keeps one column pair
    // and visits rows r0, r0 + step, ...; the angle of row r0 + k step is
    // row r0's turned by k step f_d (cos/sin addition, 4 FMAs per pair), so
    // the SFU's sin/cos run once per pair, thread and power, not once per
    // row (2 x 8192 of them per 128-key sm90a tile throttled the loop).
    // `unroll` rows per iteration: their loads first (the stores to the
    // same tile would otherwise order them one unit at a time), their
    // angles turned from the iteration's first by independent powers (no
    // dependent chain of turns within an iteration).
    Value u = remIdx(loadThread, index(perRow));
    Value r0 = divIdx(loadThread, index(perRow));
    frequencies(u);
    int64_t rows = tileRows / step;
    int64_t unroll = std::gcd(rows, int64_t(4));
    SmallVector<Value> init;
    // stepTurn[k][e]: the turn by (k + 1) step f_e.
    SmallVector<std::array<std::pair<Value, Value>, 2>> stepTurn(unroll);
    for (int64_t e = 0; e < 2; ++e) {
      auto [c, s] =
          cosSin(emitRopeAngle(b, loc, addIdx(firstPosition, r0), freq[e]));
      init.append({c, s});
      for (int64_t k = 0; k < unroll; ++k)
        stepTurn[k][e] = cosSin(
            arith::MulFOp::create(b, loc, f(double((k + 1) * step)), freq[e]));
    }
    auto loop = scf::ForOp::create(b, loc, index(0), index(rows / unroll),
                                   index(1), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    ValueRange carried = loop.getRegionIterArgs();
    Value first = addIdx(r0, mulIdx(loop.getInductionVar(), unroll * step));
    std::pair<Value, Value> base[2] = {{carried[0], carried[1]},
                                       {carried[2], carried[3]}};
    auto turned = [&](int64_t k, int64_t e) {
      return k == 0 ? base[e]
                    : emitRopeTurn(b, loc, base[e].first, base[e].second,
                                   stepTurn[k - 1][e].first,
                                   stepTurn[k - 1][e].second);
    };
    SmallVector<Value> rowsOf;
    SmallVector<std::pair<Value, Value>> loaded;
    for (int64_t k = 0; k < unroll; ++k) {
      rowsOf.push_back(addIdx(first, index(k * step)));
      loaded.push_back(loadUnit(rowsOf.back(), u));
    }
    for (int64_t k = 0; k < unroll; ++k) {
      std::pair<Value, Value> turn[2] = {turned(k, 0), turned(k, 1)};
      turnLoaded(rowsOf[k], u, loaded[k], turn);
    }
    SmallVector<Value> next;
    for (int64_t e = 0; e < 2; ++e) {
      auto [c, s] = emitRopeTurn(b, loc, base[e].first, base[e].second,
                                 stepTurn[unroll - 1][e].first,
                                 stepTurn[unroll - 1][e].second);
      next.append({c, s});
    }
    scf::YieldOp::create(b, loc, next);
    return;
  }
  auto rotateUnit = [&](Value r, Value u) {
    Value position = positionOf(r);
    std::pair<Value, Value> turn[2];
    for (int64_t e = 0; e < 2; ++e)
      turn[e] = cosSin(emitRopeAngle(b, loc, position, freq[e]));
    turnUnit(r, u, turn);
  };
  forEachTileUnit(tileRows, perRow, rotateUnit, frequencies);
}
