//===- RotaryEmbedding.cpp - #attn.rope's rotation ------------------------===//

#include "attn/Transforms/RotaryEmbedding.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::attn;

Value mlir::attn::emitRopeQueryPosition(OpBuilder &b, Location loc,
                                        RopeAttr rope, const TilePosition &pos,
                                        Value row) {
  if (rope.getAlign() == Alignment::top_left)
    return row;
  // The queries are the last Sq positions of the keys.
  Value offset = arith::SubIOp::create(b, loc, pos.seqK, pos.seqQ);
  return arith::AddIOp::create(b, loc, row, offset);
}

Value mlir::attn::emitRopeAngle(OpBuilder &b, Location loc, Value position,
                                Value frequency) {
  // Positions are below 2^31 (sequence indices): exact in i32, and in f32
  // up to 2^24.
  Value p = arith::IndexCastOp::create(b, loc, b.getI32Type(), position);
  return arith::MulFOp::create(
      b, loc, arith::SIToFPOp::create(b, loc, b.getF32Type(), p), frequency);
}

std::pair<Value, Value> mlir::attn::emitRopeTurn(OpBuilder &b, Location loc,
                                                 Value x, Value y, Value cos,
                                                 Value sin) {
  auto mul = [&](Value l, Value r) {
    return arith::MulFOp::create(b, loc, l, r);
  };
  // x' = x cos - y sin, y' = y cos + x sin.
  Value rx = arith::SubFOp::create(b, loc, mul(x, cos), mul(y, sin));
  Value ry = arith::AddFOp::create(b, loc, mul(y, cos), mul(x, sin));
  return {rx, ry};
}

std::pair<Value, Value> mlir::attn::emitRopeRotation(OpBuilder &b, Location loc,
                                                     Value position,
                                                     Value frequency, Value x,
                                                     Value y, SinCos sinCos) {
  auto [sin, cos] = sinCos(emitRopeAngle(b, loc, position, frequency));
  return emitRopeTurn(b, loc, x, y, cos, sin);
}
