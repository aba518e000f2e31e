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

Value mlir::attn::splitStride(OpBuilder &b, Location loc, Value q,
                              int64_t headDimV) {
  auto type = cast<MemRefType>(q.getType());
  Value rows = arith::ConstantIndexOp::create(b, loc, headDimV + 1);
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    rows = arith::MulIOp::create(b, loc, rows,
                                 memref::DimOp::create(b, loc, q, d));
  return rows;
}

Value mlir::attn::splitRowOffset(OpBuilder &b, Location loc, Value q,
                                 Value split, ValueRange rowIdx,
                                 int64_t headDimV) {
  // row = linear index of rowIdx over q's leading dimensions.
  Value row = rowIdx.front();
  for (unsigned d = 1; d < rowIdx.size(); ++d)
    row = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, row, memref::DimOp::create(b, loc, q, d)),
        rowIdx[d]);
  Value rowOffset = arith::MulIOp::create(
      b, loc, row, arith::ConstantIndexOp::create(b, loc, headDimV + 1));
  return arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, split, splitStride(b, loc, q, headDimV)),
      rowOffset);
}

namespace {
constexpr int64_t kMergeWarps = kMergeThreads / 32;
} // namespace

int64_t mlir::attn::mergeSharedBytes(int64_t maxSplits, int64_t headDimV) {
  return 4 * (maxSplits + kMergeWarps * headDimV + kMergeWarps);
}

/// The merge, in three steps over one query row:
///   1. M: each thread takes splits tid, tid + 128, ...; a block max;
///   2. w_s = 2^(lse_s - M) into shared memory, W = their block sum;
///   3. warp w sums w_s o_s over splits w, w + 4, ..., each lane holding
///      columns lane, lane + 32, ... (independent loads in flight); the
///      warps' sums meet in shared memory and are scaled by 1 / W.
void mlir::attn::buildMergeKernel(OpBuilder &b, Location loc, AttentionOp op,
                                  const AttentionBuffers &buf, Value workspace,
                                  int64_t maxSplits) {
  Type f32 = b.getF32Type();
  int64_t headDimV = op.getProblemShape().headDimV;
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto f = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, Value y) -> Value {
    return arith::MulIOp::create(b, loc, x, y);
  };
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value warp = arith::DivUIOp::create(b, loc, tid, index(32));
  Value lane = arith::RemUIOp::create(b, loc, tid, index(32));
  Value s = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value h = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  bool bhsd = op.getLayout() == Layout::bhsd;
  SmallVector<Value> rowIdx =
      bhsd ? SmallVector<Value>{batch, h, s} : SmallVector<Value>{batch, s, h};

  // Shared memory: weights[maxSplits], partial[warps][Dv], slots[warps].
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                      MemRefLayoutAttrInterface{}, workgroup));
  auto view = [&](ArrayRef<int64_t> dims, int64_t offsetFloats) -> Value {
    return memref::ViewOp::create(
        b, loc,
        MemRefType::get(dims, f32, MemRefLayoutAttrInterface{}, workgroup),
        smem, index(4 * offsetFloats), ValueRange{});
  };
  Value weights = view({maxSplits}, 0);
  Value partial = view({kMergeWarps, headDimV}, maxSplits);
  Value slots = view({kMergeWarps}, maxSplits + kMergeWarps * headDimV);

  // splits = workspace floats / (rows * (Dv + 1)): the runtime sized it.
  Value zero = index(0);
  Value stride = splitStride(b, loc, buf.q, headDimV);
  Value splits = arith::DivUIOp::create(
      b, loc, memref::DimOp::create(b, loc, workspace, 0), stride);
  Value base0 = splitRowOffset(b, loc, buf.q, zero, rowIdx, headDimV);
  auto at = [&](Value split, Value column) -> Value {
    return add(add(base0, mul(split, stride)), column);
  };
  auto load = [&](Value memref, ValueRange idx) -> Value {
    return memref::LoadOp::create(b, loc, memref, idx);
  };
  // Reduces body(split, acc) over splits first, first + step, ...
  auto overSplits =
      [&](Value first, int64_t step, ValueRange init,
          function_ref<SmallVector<Value>(Value, ValueRange)> body)
      -> SmallVector<Value> {
    auto loop = scf::ForOp::create(b, loc, first, splits, index(step), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(
        b, loc, body(loop.getInductionVar(), loop.getRegionIterArgs()));
    return SmallVector<Value>(loop.getResults());
  };
  // Max or sum over the CTA: warp shuffles, then the warps' slots.
  auto blockReduce = [&](Value v, bool max) -> Value {
    auto combine = [&](Value x, Value y) -> Value {
      return max ? Value(arith::MaximumFOp::create(b, loc, x, y))
                 : Value(arith::AddFOp::create(b, loc, x, y));
    };
    for (int32_t offset : {16, 8, 4, 2, 1})
      v = combine(v, gpu::ShuffleOp::create(b, loc, v, offset, 32,
                                            gpu::ShuffleMode::XOR)
                         .getShuffleResult());
    auto leader = scf::IfOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, zero),
        /*withElse=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(leader.thenBlock());
      memref::StoreOp::create(b, loc, v, slots, ValueRange{warp});
    }
    gpu::BarrierOp::create(b, loc);
    Value r = load(slots, {zero});
    for (int64_t w = 1; w < kMergeWarps; ++w)
      r = combine(r, load(slots, {index(w)}));
    gpu::BarrierOp::create(b, loc); // the slots are reused
    return r;
  };

  // 1. M = max(max_s lse_s, sink).
  Value m = overSplits(
      tid, kMergeThreads, {f(-INFINITY)},
      [&](Value split, ValueRange acc) -> SmallVector<Value> {
        return {arith::MaximumFOp::create(
            b, loc, acc[0], load(workspace, {at(split, index(headDimV))}))};
      })[0];
  m = blockReduce(m, /*max=*/true);
  Value sinkTerm;
  if (buf.sinks) {
    Value sink = load(buf.sinks, {h});
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

  // 2. w_s into shared memory; W = sum_s w_s (+ the sink's).
  Value total = overSplits(
      tid, kMergeThreads, {f(0.0)},
      [&](Value split, ValueRange acc) -> SmallVector<Value> {
        Value w = weight(load(workspace, {at(split, index(headDimV))}));
        memref::StoreOp::create(b, loc, w, weights, ValueRange{split});
        return {arith::AddFOp::create(b, loc, acc[0], w)};
      })[0];
  total = blockReduce(total, /*max=*/false); // its barrier publishes weights
  if (sinkTerm)
    total = arith::AddFOp::create(b, loc, total, weight(sinkTerm));
  Value inverse = arith::SelectOp::create(
      b, loc, valid, arith::DivFOp::create(b, loc, f(1.0), total), f(0.0));

  // 3. Warp w: sum over splits w, w + 4, ... of w_s o_s, lane columns
  // lane + 32 c (the last ones clamped into the row and not kept).
  int64_t perLane = (headDimV + 31) / 32;
  SmallVector<Value> columns, init;
  for (int64_t c = 0; c < perLane; ++c) {
    columns.push_back(arith::MinUIOp::create(b, loc, add(lane, index(32 * c)),
                                             index(headDimV - 1)));
    init.push_back(f(0.0));
  }
  SmallVector<Value> sums = overSplits(
      warp, kMergeWarps, init,
      [&](Value split, ValueRange acc) -> SmallVector<Value> {
        Value w = load(weights, {split});
        SmallVector<Value> next;
        for (int64_t c = 0; c < perLane; ++c)
          next.push_back(arith::AddFOp::create(
              b, loc, acc[c],
              arith::MulFOp::create(b, loc, w,
                                    load(workspace, {at(split, columns[c])}))));
        return next;
      });
  for (int64_t c = 0; c < perLane; ++c) {
    Value inRow =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                              add(lane, index(32 * c)), index(headDimV));
    auto keep = scf::IfOp::create(b, loc, inRow, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(keep.thenBlock());
    memref::StoreOp::create(b, loc, sums[c], partial,
                            ValueRange{warp, columns[c]});
  }
  gpu::BarrierOp::create(b, loc);
  Type element = cast<MemRefType>(buf.out.getType()).getElementType();
  auto columnLoop =
      scf::ForOp::create(b, loc, tid, index(headDimV), index(kMergeThreads));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(columnLoop.getBody());
    Value c = columnLoop.getInductionVar();
    Value sum = load(partial, {zero, c});
    for (int64_t w = 1; w < kMergeWarps; ++w)
      sum = arith::AddFOp::create(b, loc, sum, load(partial, {index(w), c}));
    Value value = arith::TruncFOp::create(
        b, loc, element, arith::MulFOp::create(b, loc, sum, inverse));
    SmallVector<Value> outAt = rowIdx;
    outAt.push_back(c);
    memref::StoreOp::create(b, loc, value, buf.out, outAt);
  }
  if (buf.lse) {
    Value leader =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, zero);
    auto ifOp = scf::IfOp::create(b, loc, leader, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value lse = arith::MulFOp::create(
        b, loc, arith::AddFOp::create(b, loc, safeM, emitLog2(b, loc, total)),
        f(kLn2));
    lse = arith::SelectOp::create(b, loc, valid, lse, f(-INFINITY));
    memref::StoreOp::create(b, loc, lse, buf.lse, ValueRange{batch, h, s});
  }
}
