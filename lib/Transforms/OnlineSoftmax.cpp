//===- OnlineSoftmax.cpp - online-softmax ops -> loops --------------------===//
//
// The FlashAttention-2 recurrence, one query row at a time, in f32 and in
// log2 units (exp2 instead of exp; the scores are multiplied by log2 e):
//
//   m' = max(m, max_c t_c)         p_c = exp2(t_c - m')   (0 if masked)
//   l  = l * exp2(m - m') + sum p_c
//   acc = acc * exp2(m - m') + sum p_c v_c
//
// The row's step and end are the GPU strategies' too (emitRowStep,
// emitRowSum, emitRowFinalize: RowSoftmax.cpp). m starts at the lowest
// finite f32, so m - m' is finite even while no key has been kept, and
// masked keys contribute exactly 0 through a select rather than through
// exp2(-inf).
//
//===----------------------------------------------------------------------===//

#include "attn/IR/AttnOps.h"
#include "attn/Transforms/Passes.h"
#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cfloat>
#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNONLINESOFTMAX
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Small helpers over one builder and location.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value f32(double value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  }
  Value dim(Value memref, int64_t d) {
    return memref::DimOp::create(b, loc, memref, d);
  }
  Value load(Value memref, ValueRange indices) {
    Value value = memref::LoadOp::create(b, loc, memref, indices);
    if (isa<FloatType>(value.getType()) && !value.getType().isF32())
      value = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
    return value;
  }
  void store(Value value, Value memref, ValueRange indices) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    if (element != value.getType())
      value = arith::TruncFOp::create(b, loc, element, value);
    memref::StoreOp::create(b, loc, value, memref, indices);
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value max(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value exp2(Value x) { return math::Exp2Op::create(b, loc, x); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  /// for i in [lo, hi) { body(i) }
  void forLoop(Value lo, Value hi, function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, loc, lo, hi, index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// for i in [lo, hi) with one f32 carried value; returns its final value.
  Value reduce(Value lo, Value hi, Value init,
               function_ref<Value(Value, Value)> body) {
    auto loop = scf::ForOp::create(b, loc, lo, hi, index(1), ValueRange{init});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value next = body(loop.getInductionVar(), loop.getRegionIterArgs()[0]);
    scf::YieldOp::create(b, loc, next);
    return loop.getResult(0);
  }
};

struct LowerSoftmaxInit : public OpRewritePattern<SoftmaxInitOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxInitOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Value lowest = e.f32(-FLT_MAX), zero = e.f32(0.0);
    e.forLoop(e.index(0), e.dim(op.getM(), 0), [&](Value r) {
      e.store(lowest, op.getM(), r);
      e.store(zero, op.getL(), r);
      e.forLoop(e.index(0), e.dim(op.getAcc(), 1), [&](Value d) {
        e.store(zero, op.getAcc(), {r, d});
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct LowerTileUpdate : public OpRewritePattern<TileUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Emitter e{rewriter, loc};
    Value zeroIdx = e.index(0);
    Value rows = e.dim(op.getQ(), 0), keys = e.dim(op.getK(), 0);
    Value headDim = e.dim(op.getQ(), 1), headDimV = e.dim(op.getV(), 1);
    Value scale = e.f32(op.getScale().convertToDouble());
    Value log2e = e.f32(kLog2E);

    // Row scratch: log2-unit scores t_c, then weights p_c; keep flags.
    // Scoped so that the stack is released after each tile.
    auto scope = memref::AllocaScopeOp::create(rewriter, loc, TypeRange{});
    Block *scopeBody = rewriter.createBlock(&scope.getBodyRegion());
    rewriter.setInsertionPointToStart(scopeBody);
    Value scores = memref::AllocaOp::create(
        rewriter, loc,
        MemRefType::get({ShapedType::kDynamic}, e.b.getF32Type()),
        ValueRange{keys});
    Value kept = memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({ShapedType::kDynamic}, e.b.getI1Type()),
        ValueRange{keys});

    e.forLoop(zeroIdx, rows, [&](Value r) {
      // t_c = element(scale * <q_r, k_c>) * log2 e; row max over kept keys.
      Value rowMax = e.reduce(
          zeroIdx, keys, e.f32(-FLT_MAX), [&](Value c, Value runningMax) {
            Value dot =
                e.reduce(zeroIdx, headDim, e.f32(0.0), [&](Value d, Value sum) {
                  return e.add(sum, e.mul(e.load(op.getQ(), {r, d}),
                                          e.load(op.getK(), {c, d})));
                });
            auto [s, keep] =
                applyElement(op, rewriter, e.mul(dot, scale), r, c);
            Value t = e.mul(s, log2e);
            e.store(t, scores, c);
            memref::StoreOp::create(rewriter, loc, keep, kept, c);
            return e.select(keep, e.max(runningMax, t), runningMax);
          });
      Value mOld = e.load(op.getM(), r);
      RowStep step =
          emitRowStep(rewriter, loc, mOld, rowMax, std::nullopt,
                      op.getThreshold(), [&](Value x) { return e.exp2(x); });
      Value mNew = step.m, correction = step.correction;
      // Sparse softmax: a tile that does not count is skipped.
      Value apply = step.apply
                        ? step.apply
                        : arith::ConstantIntOp::create(rewriter, loc, 1, 1);
      auto ifOp = scf::IfOp::create(rewriter, loc, apply, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(ifOp.thenBlock());
      Value rowSum =
          e.reduce(zeroIdx, keys, e.f32(0.0), [&](Value c, Value sum) {
            Value keep = memref::LoadOp::create(rewriter, loc, kept, c);
            Value p = e.select(keep, e.exp2(e.sub(e.load(scores, c), mNew)),
                               e.f32(0.0));
            e.store(p, scores, c);
            return e.add(sum, p);
          });
      e.store(emitRowSum(rewriter, loc, e.load(op.getL(), r), step, rowSum),
              op.getL(), r);
      e.forLoop(zeroIdx, headDimV, [&](Value d) {
        e.store(e.mul(e.load(op.getAcc(), {r, d}), correction), op.getAcc(),
                {r, d});
      });
      e.forLoop(zeroIdx, keys, [&](Value c) {
        Value p = e.load(scores, c);
        e.forLoop(zeroIdx, headDimV, [&](Value d) {
          Value updated = e.add(e.load(op.getAcc(), {r, d}),
                                e.mul(p, e.load(op.getV(), {c, d})));
          e.store(updated, op.getAcc(), {r, d});
        });
      });
      e.store(mNew, op.getM(), r);
    });
    memref::AllocaScopeReturnOp::create(rewriter, loc, ValueRange{});
    rewriter.eraseOp(op);
    return success();
  }

  /// (s, keep) from the element region, or (s, true) without one.
  static std::pair<Value, Value> applyElement(TileUpdateOp op, OpBuilder &b,
                                              Value s, Value r, Value c) {
    if (op.getElement().empty())
      return {s, arith::ConstantIntOp::create(b, op.getLoc(), 1, 1)};
    SmallVector<Value> values =
        inlineYieldingRegion(b, op.getElement(), {s, r, c});
    return {values[0], values[1]};
  }
};

struct LowerSoftmaxFinalize : public OpRewritePattern<SoftmaxFinalizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxFinalizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Emitter e{rewriter, loc};
    e.forLoop(e.index(0), e.dim(op.getOut(), 0), [&](Value r) {
      // A row that kept nothing gets out = 0 and lse = -inf, never NaN.
      RowFinal row = emitRowFinalize(
          rewriter, loc, e.load(op.getM(), r), e.load(op.getL(), r),
          op.getSink(), nullptr, [&](Value x) { return e.exp2(x); },
          [&](Value x) { return math::Log2Op::create(rewriter, loc, x); });
      e.forLoop(e.index(0), e.dim(op.getOut(), 1), [&](Value d) {
        e.store(e.mul(e.load(op.getAcc(), {r, d}), row.inverse), op.getOut(),
                {r, d});
      });
      if (Value lse = op.getLse())
        e.store(row.lse, lse, r);
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct OnlineSoftmaxPass
    : public attn::impl::AttnOnlineSoftmaxBase<OnlineSoftmaxPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateOnlineSoftmaxPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::attn::populateOnlineSoftmaxPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSoftmaxInit, LowerTileUpdate, LowerSoftmaxFinalize>(
      patterns.getContext());
}
