//===- SequenceBounds.cpp - where one sequence lives in q/k/v -------------===//
//
// The rows of sequence `b`: its offsets into the packed varlen buffers
// (cu_seqlens) and its lengths (after seqused), and what depends on them
// (the default sparse-softmax threshold), and how a broadcast operand is
// indexed. Shared by the CPU tiling and the GPU kernel generator so both
// read a batch the same way.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::attn;

void mlir::attn::emitSequenceBounds(OpBuilder &b, Location loc, AttentionOp op,
                                    const AttentionBuffers &buf,
                                    TilePosition &pos) {
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto dim = [&](Value memref, int64_t d) -> Value {
    return memref::DimOp::create(b, loc, memref, d);
  };
  auto minIdx = [&](Value x, Value y) -> Value {
    return arith::MinSIOp::create(b, loc, x, y);
  };
  auto maxIdx = [&](Value x, Value y) -> Value {
    return arith::MaxSIOp::create(b, loc, x, y);
  };
  auto loadIndex = [&](Value memref, Value at) -> Value {
    Value value = memref::LoadOp::create(b, loc, memref, ValueRange{at});
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
  };
  Value zero = index(0);
  // seqused_q/k[b] shortens a sequence of `len` rows: clamped into [0, len],
  // so no value makes a tile read or write outside q/k/v/out.
  auto used = [&](Value seqused, Value len) {
    return seqused ? maxIdx(minIdx(loadIndex(seqused, pos.b), len), zero) : len;
  };
  if (!op.isVarlen()) {
    unsigned seqDim = op.getLayout() == Layout::bshd ? 1 : 2;
    pos.qStart = pos.kStart = zero;
    pos.layoutSeqQ = dim(buf.q, seqDim);
    pos.layoutSeqK = dim(buf.k, seqDim);
    pos.seqQ = used(buf.sequsedQ, pos.layoutSeqQ);
    pos.seqK = used(buf.sequsedK, pos.layoutSeqK);
    return;
  }
  Value next = arith::AddIOp::create(b, loc, pos.b, index(1));
  // Offsets are clamped into [0, T] and lengths to >= 0, so that corrupt
  // cu_seqlens can never make a tile read or write outside q/k/v/out.
  auto offset = [&](Value cu, Value at, Value total) {
    return minIdx(maxIdx(loadIndex(cu, at), zero), total);
  };
  Value totalQ = dim(buf.q, 0), totalK = dim(buf.k, 0);
  pos.qStart = offset(buf.cuSeqlensQ, pos.b, totalQ);
  pos.kStart = offset(buf.cuSeqlensK, pos.b, totalK);
  Value lenQ =
      maxIdx(arith::SubIOp::create(b, loc, offset(buf.cuSeqlensQ, next, totalQ),
                                   pos.qStart),
             zero);
  Value lenK =
      maxIdx(arith::SubIOp::create(b, loc, offset(buf.cuSeqlensK, next, totalK),
                                   pos.kStart),
             zero);
  pos.layoutSeqQ = lenQ;
  pos.layoutSeqK = lenK;
  pos.seqQ = used(buf.sequsedQ, lenQ);
  pos.seqK = used(buf.sequsedK, lenK);
}

Value mlir::attn::emitSparseThreshold(OpBuilder &b, Location loc,
                                      AttentionOp op, const TilePosition &pos) {
  SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr();
  if (!sparse)
    return nullptr;
  if (FloatAttr threshold = sparse.getThreshold())
    return arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(threshold.getValueAsDouble()));
  // flash_sparse_attn's default: head_dim / Sk.
  Value headDim = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(op.getProblemShape().headDim));
  Value seqK = arith::SIToFPOp::create(
      b, loc, b.getF32Type(),
      arith::IndexCastOp::create(b, loc, b.getI64Type(), pos.seqK));
  return arith::DivFOp::create(b, loc, headDim, seqK);
}

Value mlir::attn::emitBroadcastIndex(OpBuilder &b, Location loc, Value memref,
                                     unsigned dim, Value index) {
  int64_t size = cast<MemRefType>(memref.getType()).getDimSize(dim);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  if (size == 1)
    return zero;
  if (!ShapedType::isDynamic(size))
    return index;
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value isOne =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                            memref::DimOp::create(b, loc, memref, dim), one);
  return arith::SelectOp::create(b, loc, isOne, zero, index);
}
