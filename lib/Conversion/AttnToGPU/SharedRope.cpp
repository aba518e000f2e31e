//===- SharedRope.cpp - #attn.rope on shared-memory tiles -----------------===//
//
// RoPE in the kernels: a Q or K tile is rotated in shared memory after its
// copy lands and before any MMA reads it (RotaryEmbedding.h has the math,
// RopeAttr the definition). Every thread rotates a share of the tile's
// (row, column pair) units (forEachTileUnit): a unit is columns 2u, 2u + 1
// and their partners 2u + D/2, 2u + 1 + D/2 of one row, two 4-byte shared
// loads and stores. Where a thread keeps one column pair, its two
// frequencies are loaded once.
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"

#include "attn/Transforms/RotaryEmbedding.h"

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
                                     function_ref<Value(Value)> positionOf) {
  Value table = ropeFrequencies();
  int64_t half = headDim / 2;
  auto pairType = VectorType::get({2}, elementType);
  auto pairF32 = VectorType::get({2}, f32);
  Value freq[2];
  // sm90a: flat 128-byte-swizzled panels (a pair of adjacent halves stays
  // inside its 16-byte chunk); else padded rows.
  auto at = [&](Value r, Value c) {
    SmallVector<Value> indices;
    if (wgmma) {
      Value offset = sm90::swizzledOffset(b, loc, r, c, tileRows,
                                          sm90::SwizzleLayout::forDim(headDim));
      if (stage)
        offset = addIdx(offset, mulIdx(stage, tileRows * headDim));
      indices.push_back(offset);
      return indices;
    }
    if (stage)
      indices.push_back(stage);
    indices.append({r, c});
    return indices;
  };
  // Unit (r, u): columns c = 2u, 2u + 1 and their partners c + D/2.
  auto frequencies = [&](Value u) {
    for (int64_t e = 0; e < 2; ++e)
      freq[e] = memref::LoadOp::create(
          b, loc, table, ValueRange{addIdx(mulIdx(u, 2), index(e))});
  };
  auto rotateUnit = [&](Value r, Value u) {
    Value c = mulIdx(u, 2);
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
  forEachTileUnit(tileRows, headDim / 4, rotateUnit, frequencies);
}
