//===- RowFinalize.cpp - the end of one row's online softmax --------------===//
//
// One semantics for every lowering (the CPU's attn.softmax_finalize and the
// GPU kernels' epilogue): with running max m and sum l in log2 units,
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
