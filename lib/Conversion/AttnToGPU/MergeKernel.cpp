//===- MergeKernel.cpp - split-KV: the merge kernel -----------------------===//

#include "MergeKernel.h"
#include "NvvmMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

Value mlir::attn::splitRowOffset(OpBuilder &b, Location loc, Value q,
                                 Value workspace, Value split,
                                 ValueRange rowIdx, int64_t headDimV) {
  // row = linear index of rowIdx over q's leading dimensions; rows = their
  // product.
  Value row = rowIdx.front();
  Value rows = memref::DimOp::create(b, loc, q, 0);
  for (unsigned d = 1; d < rowIdx.size(); ++d) {
    Value extent = memref::DimOp::create(b, loc, q, d);
    row = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, row, extent), rowIdx[d]);
    rows = arith::MulIOp::create(b, loc, rows, extent);
  }
  Value slot = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, split, rows), row);
  return arith::MulIOp::create(
      b, loc, slot, arith::ConstantIndexOp::create(b, loc, headDimV + 1));
}

void mlir::attn::buildMergeKernel(OpBuilder &b, Location loc, AttentionOp op,
                                  const AttentionBuffers &buf,
                                  Value workspace) {
  Type f32 = b.getF32Type();
  int64_t headDimV = op.getProblemShape().headDimV;
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto f = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value s = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value h = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  bool bhsd = op.getLayout() == Layout::bhsd;
  SmallVector<Value> rowIdx = bhsd ? SmallVector<Value>{batch, h, s}
                                   : SmallVector<Value>{batch, s, h};
  // splits = workspace floats / (rows * (Dv + 1)): the runtime sized it.
  Value zero = index(0);
  Value one = index(1);
  Value stride = arith::SubIOp::create(
      b, loc, splitRowOffset(b, loc, buf.q, workspace, one, {zero, zero, zero},
                             headDimV),
      splitRowOffset(b, loc, buf.q, workspace, zero, {zero, zero, zero},
                     headDimV));
  Value splits = arith::DivUIOp::create(
      b, loc, memref::DimOp::create(b, loc, workspace, 0), stride);
  Value base0 =
      splitRowOffset(b, loc, buf.q, workspace, zero, rowIdx, headDimV);
  auto lseOf = [&](Value split) -> Value {
    Value at = arith::AddIOp::create(
        b, loc, base0, arith::MulIOp::create(b, loc, split, stride));
    return memref::LoadOp::create(
        b, loc, workspace,
        ValueRange{arith::AddIOp::create(b, loc, at, index(headDimV))});
  };
  // Reduces f(split, acc) over the splits.
  auto overSplits = [&](Value init,
                        function_ref<Value(Value, Value)> body) -> Value {
    auto loop = scf::ForOp::create(b, loc, zero, splits, one, init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(b, loc,
                         body(loop.getInductionVar(), loop.getRegionIterArg(0)));
    return loop.getResult(0);
  };

  Value m = overSplits(f(-INFINITY), [&](Value split, Value acc) -> Value {
    return arith::MaximumFOp::create(b, loc, acc, lseOf(split));
  });
  Value sinkTerm;
  if (buf.sinks) {
    Value sink = memref::LoadOp::create(b, loc, buf.sinks, ValueRange{h});
    if (!sink.getType().isF32())
      sink = arith::ExtFOp::create(b, loc, f32, sink);
    sinkTerm = arith::MulFOp::create(b, loc, sink, f(kLog2E));
    m = arith::MaximumFOp::create(b, loc, m, sinkTerm);
  }
  Value valid =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, m, f(-INFINITY));
  Value safeM = arith::SelectOp::create(b, loc, valid, m, f(0.0));
  auto weight = [&](Value lse2) {
    return emitExp2(b, loc, arith::SubFOp::create(b, loc, lse2, safeM));
  };
  Value total = overSplits(f(0.0), [&](Value split, Value acc) -> Value {
    return arith::AddFOp::create(b, loc, acc, weight(lseOf(split)));
  });
  if (sinkTerm)
    total = arith::AddFOp::create(b, loc, total, weight(sinkTerm));
  Value inverse = arith::SelectOp::create(
      b, loc, valid, arith::DivFOp::create(b, loc, f(1.0), total), f(0.0));

  // Each thread owns columns tid, tid + kMergeThreads, ...
  auto columns =
      scf::ForOp::create(b, loc, tid, index(headDimV), index(kMergeThreads));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(columns.getBody());
    Value c = columns.getInductionVar();
    Value sum = overSplits(f(0.0), [&](Value split, Value acc) -> Value {
      Value at = arith::AddIOp::create(
          b, loc, base0, arith::MulIOp::create(b, loc, split, stride));
      Value o = memref::LoadOp::create(
          b, loc, workspace, ValueRange{arith::AddIOp::create(b, loc, at, c)});
      return arith::AddFOp::create(
          b, loc, acc,
          arith::MulFOp::create(b, loc, weight(lseOf(split)), o));
    });
    Value value = arith::MulFOp::create(b, loc, sum, inverse);
    Type element = cast<MemRefType>(buf.out.getType()).getElementType();
    value = arith::TruncFOp::create(b, loc, element, value);
    SmallVector<Value> at = rowIdx;
    at.push_back(c);
    memref::StoreOp::create(b, loc, value, buf.out, at);
  }
  if (buf.lse) {
    Value leader =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, zero);
    auto ifOp = scf::IfOp::create(b, loc, leader, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value lse = arith::MulFOp::create(
        b, loc,
        arith::AddFOp::create(b, loc, safeM, emitLog2(b, loc, total)),
        f(kLn2));
    lse = arith::SelectOp::create(b, loc, valid, lse, f(-INFINITY));
    memref::StoreOp::create(b, loc, lse, buf.lse, ValueRange{batch, h, s});
  }
}
