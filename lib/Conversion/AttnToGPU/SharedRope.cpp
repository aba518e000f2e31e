//===- SharedRope.cpp - #attn.rope on shared-memory tiles -----------------===//
//
// RoPE in the kernels: a Q or K tile is rotated in shared memory after its
// copy lands and before any MMA reads it (RotaryEmbedding.h has the math,
// RopeAttr the definition). Every thread rotates a share of the tile's
// (row, column pair) units: a unit is columns 2c, 2c + 1 and their partners
// 2c + D/2, 2c + 1 + D/2 of one row, two 4-byte shared loads and stores.
// Where the threads divide the D/4 units of a row, each thread keeps one
// column pair (its two frequencies loaded once) and steps by whole rows; a
// warp then covers a row's consecutive words, free of bank conflicts.
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"

#include "attn/Transforms/RotaryEmbedding.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

/// Most (row, column pair) units a thread rotates unrolled.
static constexpr int64_t kUnrolledRopeUnits = 4;

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
                                     function_ref<Value(Value)> positionOf) {
  Value table = ropeFrequencies();
  int64_t half = headDim / 2, pairsPerRow = headDim / 4;
  int64_t threads = 32 * numWarps;
  int64_t units = tileRows * pairsPerRow;
  int64_t perThread = (units + threads - 1) / threads;
  bool fixedColumn = threads % pairsPerRow == 0;
  auto pairType = VectorType::get({2}, elementType);
  auto pairF32 = VectorType::get({2}, f32);
  Value col, freq[2];
  auto frequencies = [&](Value c) {
    for (int64_t e = 0; e < 2; ++e)
      freq[e] = memref::LoadOp::create(b, loc, table,
                                       ValueRange{addIdx(c, index(e))});
  };
  if (fixedColumn) {
    col = mulIdx(remIdx(tid, index(pairsPerRow)), 2);
    frequencies(col);
  }
  auto at = [&](Value r, Value c) {
    SmallVector<Value> indices;
    if (stage)
      indices.push_back(stage);
    indices.append({r, c});
    return indices;
  };
  auto rotateUnit = [&](Value r, Value c) {
    if (!fixedColumn)
      frequencies(c);
    Value c2 = addIdx(c, index(half));
    Value position = positionOf(r);
    auto load = [&](Value column) {
      Value v = vector::LoadOp::create(b, loc, pairType, tile, at(r, column));
      return arith::ExtFOp::create(b, loc, pairF32, v).getResult();
    };
    Value xs = load(c), ys = load(c2);
    Value outX = xs, outY = ys;
    for (int64_t e = 0; e < 2; ++e) {
      Value x = vector::ExtractOp::create(b, loc, xs, e);
      Value y = vector::ExtractOp::create(b, loc, ys, e);
      auto [rx, ry] =
          emitRopeRotation(b, loc, position, freq[e], x, y, [&](Value angle) {
            return emitSinCos(b, loc, angle);
          });
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
  Value firstRow = divIdx(tid, index(pairsPerRow));
  auto unitAt = [&](Value it) -> std::pair<Value, Value> {
    if (fixedColumn)
      return {addIdx(firstRow, mulIdx(it, threads / pairsPerRow)), col};
    Value unit = addIdx(tid, mulIdx(it, threads));
    return {divIdx(unit, index(pairsPerRow)),
            mulIdx(remIdx(unit, index(pairsPerRow)), 2)};
  };
  // Many units per thread (decode: one warp rotates a whole K tile): a
  // rolled loop, or the unrolled rotations' sines and cosines all live at
  // once (255 registers instead of 177 in the d128 decode kernel).
  if (perThread > kUnrolledRopeUnits && units % threads == 0) {
    auto loop =
        scf::ForOp::create(b, loc, index(0), index(perThread), index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    auto [r, c] = unitAt(loop.getInductionVar());
    rotateUnit(r, c);
    return;
  }
  for (int64_t it = 0; it < perThread; ++it) {
    auto [r, c] = unitAt(index(it));
    if ((it + 1) * threads <= units) {
      rotateUnit(r, c);
      continue;
    }
    // The last round: threads past the tile's units do nothing.
    auto inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, r,
                                        index(tileRows));
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    rotateUnit(r, c);
  }
}
