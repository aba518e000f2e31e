//===- RowSoftmax.cpp - one row's online softmax: step and end ------------===//
//
// One semantics for every lowering (the CPU's attn.tile_update and
// attn.softmax_finalize, and the GPU strategies' fragment softmax and
// epilogue). Scores t are in log2 units; a row keeps a running max m
// (starting at the lowest finite f32, so that m - m' stays finite while no
// key has been kept) and a running sum l.
//
// Step, for a tile whose kept scores have the maximum T (-inf / lowest when
// it keeps none):
//
//   m' = max(m, T)
//   lazy rescaling (optional, bound R): m' = m while m' - m <= R; the
//        weights 2^(t - m') then stay below 2^R and out = acc / l is the
//        same, but acc needs no rescaling (c = 1);
//   sparse softmax (optional threshold): the tile counts only where
//        2^(T - m') >= threshold; otherwise m' = m, so c = 1, and the
//        lowering drops the tile's weights;
//   c  = 2^(m - m'),  p = 2^(t - m') (0 for a dropped pair),
//   l' = l c + sum p,  acc' = acc c + sum p v.
//
// End:
//
//   sink t (optional):  m' = max(m, t), l' = l 2^(m - m') + 2^(t - m'),
//                       and the accumulator scaled by 2^(m - m');
//   out = acc * factor / l' (0 for a row that kept nothing: l' = 0);
//   lse = (m' + log2 l') ln 2 (-inf for such a row).
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

RowStep mlir::attn::emitRowStep(OpBuilder &b, Location loc, Value m,
                                Value tileMax, std::optional<double> lazyLog2,
                                Value threshold,
                                function_ref<Value(Value)> exp2) {
  RowStep step;
  step.m = arith::MaximumFOp::create(b, loc, m, tileMax);
  if (lazyLog2) {
    Value growth = arith::SubFOp::create(b, loc, step.m, m);
    Value keep = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OLE, growth,
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(*lazyLog2)));
    step.m = arith::SelectOp::create(b, loc, keep, m, step.m);
  }
  if (threshold) {
    step.apply = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OGE,
        exp2(arith::SubFOp::create(b, loc, tileMax, step.m)), threshold);
    step.m = arith::SelectOp::create(b, loc, step.apply, step.m, m);
  }
  step.correction = exp2(arith::SubFOp::create(b, loc, m, step.m));
  return step;
}

Value mlir::attn::emitRowSum(OpBuilder &b, Location loc, Value l,
                             const RowStep &step, Value tileSum) {
  return arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, l, step.correction), tileSum);
}

RowFinal mlir::attn::emitRowFinalize(OpBuilder &b, Location loc, Value m,
                                     Value l, Value sink, Value kept,
                                     function_ref<Value(Value)> exp2,
                                     function_ref<Value(Value)> log2) {
  auto f = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Value factor = f(1.0);
  if (sink) {
    Value t = arith::MulFOp::create(b, loc, sink, f(kLog2E));
    Value mNew = arith::MaximumFOp::create(b, loc, m, t);
    factor = exp2(arith::SubFOp::create(b, loc, m, mNew));
    l = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, l, factor),
                              exp2(arith::SubFOp::create(b, loc, t, mNew)));
    m = mNew;
  }
  Value any =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l, f(0.0));
  if (kept)
    any = arith::AndIOp::create(b, loc, any, kept);
  RowFinal row;
  row.inverse = arith::SelectOp::create(
      b, loc, any, arith::DivFOp::create(b, loc, factor, l), f(0.0));
  row.lse2 = arith::SelectOp::create(
      b, loc, any, arith::AddFOp::create(b, loc, m, log2(l)), f(-INFINITY));
  row.lse = arith::MulFOp::create(b, loc, row.lse2, f(kLn2));
  return row;
}
