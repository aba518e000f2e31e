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
#include "mlir/Dialect/SCF/IR/SCF.h"

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
  // A paged cache: sequence b owns entries [indptr[b], indptr[b + 1]) of
  // kv_page_indices (clamped into the list), n pages, the last holding
  // last_page_len[b] keys (clamped into [0, page_size]).
  // A table shorter than the batch (B + 1 offsets, B last-page lengths)
  // gives the sequences it does not cover no keys, and is not read past
  // its end.
  auto pagedKeys = [&]() {
    int64_t pageSize = op.getPagedKvAttr().getPageSize();
    Value listed = dim(buf.kvPageIndices, 0);
    Value next = arith::AddIOp::create(b, loc, pos.b, index(1));
    Value covered = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, next,
                              dim(buf.kvPageIndptr, 0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pos.b,
                              dim(buf.kvLastPageLen, 0)));
    auto guarded = [&](Value memref, Value at) -> Value {
      auto ifOp = scf::IfOp::create(b, loc, b.getIndexType(), covered,
                                    /*withElseRegion=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, loadIndex(memref, at));
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, loc, zero);
      return ifOp.getResult(0);
    };
    auto entry = [&](Value at) {
      return minIdx(maxIdx(guarded(buf.kvPageIndptr, at), zero), listed);
    };
    pos.pageBase = entry(pos.b);
    Value pages =
        maxIdx(arith::SubIOp::create(b, loc, entry(next), pos.pageBase), zero);
    Value last = minIdx(maxIdx(guarded(buf.kvLastPageLen, pos.b), zero),
                        index(pageSize));
    Value full = arith::MulIOp::create(
        b, loc, maxIdx(arith::SubIOp::create(b, loc, pages, index(1)), zero),
        index(pageSize));
    Value len = arith::SelectOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, pages, zero),
        arith::AddIOp::create(b, loc, full, last), zero);
    pos.kStart = zero;
    pos.layoutSeqK = pos.seqK = len;
  };
  if (!op.isVarlen()) {
    unsigned seqDim = op.getLayout() == Layout::bshd ? 1 : 2;
    pos.qStart = pos.kStart = zero;
    pos.layoutSeqQ = dim(buf.q, seqDim);
    pos.seqQ = used(buf.sequsedQ, pos.layoutSeqQ);
    if (op.isPagedKv())
      return pagedKeys();
    pos.layoutSeqK = dim(buf.k, seqDim);
    pos.seqK = used(buf.sequsedK, pos.layoutSeqK);
    return;
  }
  Value next = arith::AddIOp::create(b, loc, pos.b, index(1));
  // Offsets are clamped into [0, T] and lengths to >= 0, so that corrupt
  // cu_seqlens can never make a tile read or write outside q/k/v/out.
  auto offset = [&](Value cu, Value at, Value total) {
    return minIdx(maxIdx(loadIndex(cu, at), zero), total);
  };
  Value totalQ = dim(buf.q, 0);
  pos.qStart = offset(buf.cuSeqlensQ, pos.b, totalQ);
  Value lenQ =
      maxIdx(arith::SubIOp::create(b, loc, offset(buf.cuSeqlensQ, next, totalQ),
                                   pos.qStart),
             zero);
  pos.layoutSeqQ = lenQ;
  pos.seqQ = used(buf.sequsedQ, lenQ);
  if (op.isPagedKv())
    return pagedKeys();
  Value totalK = dim(buf.k, 0);
  pos.kStart = offset(buf.cuSeqlensK, pos.b, totalK);
  Value lenK =
      maxIdx(arith::SubIOp::create(b, loc, offset(buf.cuSeqlensK, next, totalK),
                                   pos.kStart),
             zero);
  pos.layoutSeqK = lenK;
  pos.seqK = used(buf.sequsedK, lenK);
}

Value mlir::attn::emitKeyPage(OpBuilder &b, Location loc, AttentionOp op,
                              const AttentionBuffers &buf,
                              const TilePosition &pos, Value key, Value valid) {
  PagedKvAttr paged = op.getPagedKvAttr();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value pageSize = index(paged.getPageSize());
  // The list entry and the page are clamped: a corrupt table reads some
  // page of the pool, never outside it.
  Value listed = memref::DimOp::create(b, loc, buf.kvPageIndices, 0);
  Value entry = arith::MinSIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, pos.pageBase,
                            arith::DivUIOp::create(b, loc, key, pageSize)),
      arith::MaxSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, listed, index(1)), index(0)));
  auto lookup = [&]() -> Value {
    return arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        memref::LoadOp::create(b, loc, buf.kvPageIndices, ValueRange{entry}));
  };
  Value page;
  if (valid) {
    auto ifOp = scf::IfOp::create(b, loc, b.getIndexType(), valid,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, lookup());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, index(0));
    page = ifOp.getResult(0);
  } else {
    page = lookup();
  }
  // Clamped into both pools (K and V may be given with different page
  // counts: the smaller bounds every read).
  Value pages =
      arith::MinSIOp::create(b, loc, memref::DimOp::create(b, loc, buf.k, 0),
                             memref::DimOp::create(b, loc, buf.v, 0));
  return arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, page, index(0)),
      arith::MaxSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, pages, index(1)), index(0)));
}

SmallVector<Value> mlir::attn::pagedKeyIndices(AttentionOp op, Value page,
                                               Value slot, Value head,
                                               Value col) {
  if (op.getPagedKvAttr().getLayout() == PagedLayout::nhd)
    return {page, slot, head, col};
  return {page, head, slot, col};
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

SmallVector<Value> mlir::attn::tokenIndices(OpBuilder &b, Location loc,
                                            Value buffer,
                                            const TilePosition &pos,
                                            Value start, Value index) {
  if (cast<MemRefType>(buffer.getType()).getRank() == 1)
    return {arith::AddIOp::create(b, loc, start, index)};
  return {pos.b, index};
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

Value mlir::attn::emitMaskCells(OpBuilder &b, Location loc, AttentionOp op,
                                const AttentionBuffers &buf,
                                const TilePosition &pos) {
  Value cells = arith::MulIOp::create(b, loc, pos.layoutSeqQ, pos.layoutSeqK);
  if (cast<MemRefType>(buf.customMask.getType()).getElementType().isInteger(8))
    cells = arith::CeilDivSIOp::create(
        b, loc, cells, arith::ConstantIndexOp::create(b, loc, 8));
  return cells;
}

Value mlir::attn::emitVarlenMaskBase(OpBuilder &b, Location loc, AttentionOp op,
                                     const AttentionBuffers &buf, Value batch) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  auto loop = scf::ForOp::create(b, loc, zero, batch,
                                 arith::ConstantIndexOp::create(b, loc, 1),
                                 ValueRange{zero});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  TilePosition earlier;
  earlier.b = loop.getInductionVar();
  emitSequenceBounds(b, loc, op, buf, earlier);
  scf::YieldOp::create(b, loc,
                       ValueRange{arith::AddIOp::create(
                           b, loc, loop.getRegionIterArg(0),
                           emitMaskCells(b, loc, op, buf, earlier))});
  return loop.getResult(0);
}
