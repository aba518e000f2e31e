//===- Tile.cpp - attn.attention -> loops over tiles ----------------------===//
//
// Rewrites each attn.attention into the FlashAttention loop nest on
// buffers:
//
//   for b in [0, B):                  varlen: offsets and lengths from
//     for h in [0, Hq):               cu_seqlens / seqused; GQA: hk = h / G
//       for each query tile [q0, q0 + qLen):
//         softmax_init
//         for kv tiles before the full range:  tile_update (masked)
//         for kv tiles in the full range:      tile_update (no mask code)
//         for kv tiles after the full range:   tile_update (masked)
//         softmax_finalize -> out, lse
//
// The kv range comes from the mask analysis (TileClassification.h): tiles
// that no row of the query tile keeps are never visited. With a block-sparse
// mask, the kv tiles are the listed blocks instead (partial), followed by
// the listed full blocks.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/TileClassification.h"
#include "attn/Transforms/DocumentKeys.h"
#include "attn/Transforms/Float8.h"
#include "attn/Transforms/Passes.h"
#include "attn/Transforms/RotaryEmbedding.h"
#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <functional>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNTILE
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Builds the loop nest of one attention op.
class AttentionTiler {
public:
  AttentionTiler(OpBuilder &builder, AttentionOp op, int64_t qTile,
                 int64_t kvTile)
      : b(builder), loc(op.getLoc()), op(op), qTile(qTile), kvTile(kvTile) {
    if (BlockSparseAttr blocks = op.getBlockSparseAttr()) {
      // Block-sparse operands index blocks of the attribute's sizes.
      this->qTile = blocks.getQBlock();
      this->kvTile = blocks.getKvBlock();
    }
    if (SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr()) {
      // The sparse-softmax skip decision is defined per kv_block keys.
      this->kvTile = sparse.getKvBlock();
    }
  }

  void run() {
    createBuffers();
    ProblemShape shape = op.getProblemShape();
    varlen = op.isVarlen();
    int64_t group = shape.headsQ / shape.headsKV;
    Value batch =
        varlen ? arith::SubIOp::create(b, loc, dim(buf.cuSeqlensQ, 0), index(1))
               : dim(buf.q, 0);
    Value zero = index(0), one = index(1);

    // Varlen custom masks are laid out sequence after sequence; carry the
    // running offset through the batch loop.
    Value maskBase0 = index(0);
    auto batchLoop =
        scf::ForOp::create(b, loc, zero, batch, one, ValueRange{maskBase0});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(batchLoop.getBody());
      TilePosition pos;
      pos.b = batchLoop.getInductionVar();
      pos.maskBase = batchLoop.getRegionIterArgs().front();
      Value nextBase = sequenceBounds(pos);
      Value heads = index(shape.headsQ);
      auto headLoop = scf::ForOp::create(b, loc, zero, heads, one);
      {
        OpBuilder::InsertionGuard headGuard(b);
        b.setInsertionPointToStart(headLoop.getBody());
        pos.h = headLoop.getInductionVar();
        pos.hk = arith::DivUIOp::create(b, loc, pos.h, index(group));
        emitQueryTiles(pos);
      }
      scf::YieldOp::create(b, loc, nextBase);
    }
    replaceResults();
  }

private:
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value dim(Value memref, int64_t d) {
    return memref::DimOp::create(b, loc, memref, d);
  }
  Value loadIndex(Value memref, ArrayRef<Value> indices) {
    Value value = memref::LoadOp::create(b, loc, memref, indices);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
  }
  Value minIdx(Value x, Value y) {
    return arith::MinSIOp::create(b, loc, x, y);
  }
  Value maxIdx(Value x, Value y) {
    return arith::MaxSIOp::create(b, loc, x, y);
  }
  Value ceilDiv(Value x, int64_t d) {
    return arith::CeilDivSIOp::create(b, loc, x, index(d));
  }
  Value floorDiv(Value x, int64_t d) {
    return arith::FloorDivSIOp::create(b, loc, x, index(d));
  }

  /// Identity-layout buffers for every tensor operand, fresh buffers for
  /// the results.
  void createBuffers() {
    auto toBuffer = [&](Value tensor) -> Value {
      if (!tensor)
        return nullptr;
      auto type = cast<RankedTensorType>(tensor.getType());
      auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
      return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                               /*read_only=*/true);
    };
    buf.q = toBuffer(op.getQ());
    buf.k = toBuffer(op.getK());
    buf.v = toBuffer(op.getV());
    buf.cuSeqlensQ = toBuffer(op.getCuSeqlensQ());
    buf.cuSeqlensK = toBuffer(op.getCuSeqlensK());
    buf.sequsedQ = toBuffer(op.getSequsedQ());
    buf.sequsedK = toBuffer(op.getSequsedK());
    buf.docIdsQ = toBuffer(op.getDocIdsQ());
    buf.docIdsKv = toBuffer(op.getDocIdsKv());
    buf.customMask = toBuffer(op.getCustomMask());
    buf.alibiSlopes = toBuffer(op.getAlibiSlopes());
    buf.bias = toBuffer(op.getBias());
    buf.kvNumBlocks = toBuffer(op.getKvNumBlocks());
    buf.kvIndices = toBuffer(op.getKvIndices());
    buf.fullKvNumBlocks = toBuffer(op.getFullKvNumBlocks());
    buf.fullKvIndices = toBuffer(op.getFullKvIndices());
    buf.sinks = toBuffer(op.getSinks());
    buf.gateAlpha = toBuffer(op.getGateAlpha());
    buf.gateDelta = toBuffer(op.getGateDelta());
    buf.kvPageIndptr = toBuffer(op.getKvPageIndptr());
    buf.kvPageIndices = toBuffer(op.getKvPageIndices());
    buf.kvLastPageLen = toBuffer(op.getKvLastPageLen());
    buf.kScale = toBuffer(op.getKScale());
    buf.vScale = toBuffer(op.getVScale());
    if (op.hasFp8Kv()) {
      // An fp8 cache: each kv tile is dequantized (x * scale) into f32.
      auto scaleOf = [&](Value scale) -> Value {
        if (!scale)
          return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
        return memref::LoadOp::create(b, loc, scale, ValueRange{index(0)});
      };
      kScale = scaleOf(buf.kScale);
      vScale = scaleOf(buf.vScale);
    }
    if (RopeAttr rope = op.getRopeAttr()) {
      // f_d as a constant (bufferized into a global).
      SmallVector<float> table =
          rope.inverseFrequencies(op.getProblemShape().headDim);
      auto type =
          RankedTensorType::get({int64_t(table.size())}, b.getF32Type());
      ropeTable = toBuffer(arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(type, ArrayRef<float>(table))));
    }

    auto alloc = [&](Value result, Value like,
                     ArrayRef<std::pair<unsigned, unsigned>> dynFrom) -> Value {
      auto type = cast<RankedTensorType>(result.getType());
      SmallVector<Value> sizes;
      for (auto [d, size] : llvm::enumerate(type.getShape()))
        if (ShapedType::isDynamic(size))
          sizes.push_back(dim(like, dynFrom[d].second));
      return memref::AllocOp::create(
          b, loc, MemRefType::get(type.getShape(), type.getElementType()),
          sizes);
    };
    // out has q's shape but for the last dim (static Dv): same dynamic dims.
    buf.out = alloc(op.getOut(), buf.q, {{0, 0}, {1, 1}, {2, 2}, {3, 3}});
    if (Value lse = op.getLse()) {
      // lse is [B, Hq, Sq] (bshd: q dims 0, 2, 1; bhsd: 0, 1, 2) or
      // [Hq, Tq] (varlen: q dims 1, 0).
      SmallVector<std::pair<unsigned, unsigned>> from;
      if (op.isVarlen())
        from = {{0, 1}, {1, 0}};
      else if (op.getLayout() == Layout::bshd)
        from = {{0, 0}, {1, 2}, {2, 1}};
      else
        from = {{0, 0}, {1, 1}, {2, 2}};
      buf.lse = alloc(lse, buf.q, from);
    }
  }

  /// Fills the per-sequence fields of `pos`; returns the varlen custom-mask
  /// offset of the next sequence.
  Value sequenceBounds(TilePosition &pos) {
    emitSequenceBounds(b, loc, op, buf, pos);
    if (!varlen || !buf.customMask)
      return pos.maskBase;
    return arith::AddIOp::create(b, loc, pos.maskBase,
                                 emitMaskCells(b, loc, op, buf, pos));
  }

  /// A [len, D] view of `rows` rows of q/k/v/out starting at sequence row
  /// `start + first` of head `head`.
  Value rowsView(Value memref, Value batchIdx, Value head, Value start,
                 Value first, Value len) {
    auto type = cast<MemRefType>(memref.getType());
    int64_t width = type.getShape().back();
    Value row = arith::AddIOp::create(b, loc, start, first);
    SmallVector<OpFoldResult> offsets, sizes;
    OpFoldResult oneAttr = b.getIndexAttr(1);
    if (varlen) {
      offsets = {row, head, b.getIndexAttr(0)};
      sizes = {len, oneAttr, b.getIndexAttr(width)};
    } else if (op.getLayout() == Layout::bshd) {
      offsets = {batchIdx, row, head, b.getIndexAttr(0)};
      sizes = {oneAttr, len, oneAttr, b.getIndexAttr(width)};
    } else {
      offsets = {batchIdx, head, row, b.getIndexAttr(0)};
      sizes = {oneAttr, oneAttr, len, b.getIndexAttr(width)};
    }
    SmallVector<OpFoldResult> strides(type.getRank(), oneAttr);
    auto viewType = memref::SubViewOp::inferRankReducedResultType(
        {ShapedType::kDynamic, width}, type, offsets, sizes, strides);
    return memref::SubViewOp::create(b, loc, viewType, memref, offsets, sizes,
                                     strides);
  }

  /// A [tileRows, width] stack tile of `element` whose rows [0, len) are
  /// written by fillRow(r, tile) (built inside the loop over the rows); its
  /// [len, width] view, which a tile_update reads.
  Value stackRows(Type element, int64_t tileRows, int64_t width, Value len,
                  function_ref<void(Value, Value)> fillRow) {
    Value tile = memref::AllocaOp::create(
        b, loc, MemRefType::get({tileRows, width}, element));
    auto rows = scf::ForOp::create(b, loc, index(0), len, index(1));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(rows.getBody());
      fillRow(rows.getInductionVar(), tile);
    }
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    return memref::SubViewOp::create(
        b, loc, tile, ArrayRef<OpFoldResult>{zero, zero},
        ArrayRef<OpFoldResult>{len, b.getIndexAttr(width)},
        ArrayRef<OpFoldResult>{one, one});
  }

  /// for c in [0, n): body(c), at the builder's point.
  void forColumns(int64_t n, function_ref<void(Value)> body) {
    auto cols = scf::ForOp::create(b, loc, index(0), index(n), index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(cols.getBody());
    body(cols.getInductionVar());
  }

  /// Paged KV: keys [k0, k0 + len) of kv head hk, page by page from the
  /// page table, copied into a [kvTile, D] stack buffer; its [len, D] view.
  Value gatherPagedRows(Value memref, const TilePosition &pos, Value len) {
    auto type = cast<MemRefType>(memref.getType());
    int64_t width = type.getShape().back();
    return stackRows(
        type.getElementType(), kvTile, width, len, [&](Value r, Value tile) {
          Value key = arith::AddIOp::create(b, loc, pos.k0, r);
          SmallVector<Value> at = pagedKeyIndices(
              op, emitKeyPage(b, loc, op, buf, pos, key),
              arith::RemUIOp::create(b, loc, key,
                                     index(op.getPagedKvAttr().getPageSize())),
              pos.hk, index(0));
          forColumns(width, [&](Value c) {
            at.back() = c;
            Value x = memref::LoadOp::create(b, loc, memref, at);
            memref::StoreOp::create(b, loc, x, tile, ValueRange{r, c});
          });
        });
  }

  /// An fp8 cache: rows [0, len) of `view` ([len, D] f8E4M3FN) as
  /// scale * x, exactly, in an f32 [tileRows, D] stack tile; its [len, D]
  /// view.
  Value dequantizedRows(Value view, int64_t tileRows, Value len, Value scale) {
    int64_t width = cast<MemRefType>(view.getType()).getShape().back();
    return stackRows(
        b.getF32Type(), tileRows, width, len, [&](Value r, Value tile) {
          forColumns(width, [&](Value c) {
            Value x = emitE4M3ToF32(
                b, loc, memref::LoadOp::create(b, loc, view, ValueRange{r, c}));
            memref::StoreOp::create(b, loc,
                                    arith::MulFOp::create(b, loc, x, scale),
                                    tile, ValueRange{r, c});
          });
        });
  }

  /// #attn.rope: rows [0, len) of `view` ([len, D]), row r rotated by
  /// position positionOf(r), in an f32 [tileRows, D] stack tile; its
  /// [len, D] view.
  Value rotatedRows(Value view, int64_t tileRows, Value len,
                    function_ref<Value(Value)> positionOf) {
    int64_t width = cast<MemRefType>(view.getType()).getShape().back();
    int64_t half = width / 2;
    auto f32 = b.getF32Type();
    return stackRows(f32, tileRows, width, len, [&](Value r, Value tile) {
      Value position = positionOf(r);
      forColumns(half, [&](Value d) {
        Value d2 = arith::AddIOp::create(b, loc, d, index(half));
        auto load = [&](Value col) -> Value {
          Value x = memref::LoadOp::create(b, loc, view, ValueRange{r, col});
          return x.getType() == f32 ? x : arith::ExtFOp::create(b, loc, f32, x);
        };
        Value frequency = memref::LoadOp::create(b, loc, ropeTable, d);
        auto [x, y] = emitRopeRotation(
            b, loc, position, frequency, load(d), load(d2), [&](Value angle) {
              return std::make_pair(
                  math::SinOp::create(b, loc, angle).getResult(),
                  math::CosOp::create(b, loc, angle).getResult());
            });
        memref::StoreOp::create(b, loc, x, tile, ValueRange{r, d});
        memref::StoreOp::create(b, loc, y, tile, ValueRange{r, d2});
      });
    });
  }

  /// The [len] slice of lse for the query tile.
  Value lseView(const TilePosition &pos, Value len) {
    auto type = cast<MemRefType>(buf.lse.getType());
    OpFoldResult oneAttr = b.getIndexAttr(1);
    SmallVector<OpFoldResult> offsets, sizes;
    if (varlen) {
      offsets = {pos.h,
                 arith::AddIOp::create(b, loc, pos.qStart, pos.q0).getResult()};
      sizes = {oneAttr, len};
    } else {
      offsets = {pos.b, pos.h, pos.q0};
      sizes = {oneAttr, oneAttr, len};
    }
    SmallVector<OpFoldResult> strides(type.getRank(), oneAttr);
    auto viewType = memref::SubViewOp::inferRankReducedResultType(
        {ShapedType::kDynamic}, type, offsets, sizes, strides);
    return memref::SubViewOp::create(b, loc, viewType, buf.lse, offsets, sizes,
                                     strides);
  }

  void emitQueryTiles(TilePosition pos) {
    emitRowTiles(pos, /*tail=*/false);
    if (buf.sequsedQ)
      emitRowTiles(pos, /*tail=*/true);
  }

  /// Query tiles over the rows [0, seqQ) of the sequence, or, for `tail`,
  /// over the rows [seqQ, len) past seqused_q, which keep no key: their
  /// tiles only initialize and finalize (out = 0, lse = -inf).
  void emitRowTiles(TilePosition pos, bool tail) {
    Value zero = index(0), one = index(1);
    Value rowBase = zero, rowEnd = pos.seqQ;
    if (tail) {
      rowBase = pos.seqQ;
      rowEnd = pos.layoutSeqQ;
    }
    Value threshold = emitSparseThreshold(b, loc, op, pos);
    Value sink;
    if (buf.sinks) {
      sink = memref::LoadOp::create(b, loc, buf.sinks, ValueRange{pos.h});
      if (!sink.getType().isF32())
        sink = arith::ExtFOp::create(b, loc, b.getF32Type(), sink);
    }
    Value tiles =
        ceilDiv(arith::SubIOp::create(b, loc, rowEnd, rowBase), qTile);
    auto tileLoop = scf::ForOp::create(b, loc, zero, tiles, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tileLoop.getBody());
    Value qt = tileLoop.getInductionVar();
    pos.q0 = arith::AddIOp::create(
        b, loc, rowBase, arith::MulIOp::create(b, loc, qt, index(qTile)));
    Value qLen =
        minIdx(index(qTile), arith::SubIOp::create(b, loc, rowEnd, pos.q0));

    ProblemShape shape = op.getProblemShape();
    auto f32 = b.getF32Type();
    Value m = memref::AllocaOp::create(b, loc, MemRefType::get({qTile}, f32));
    Value l = memref::AllocaOp::create(b, loc, MemRefType::get({qTile}, f32));
    Value acc = memref::AllocaOp::create(
        b, loc, MemRefType::get({qTile, shape.headDimV}, f32));
    SoftmaxInitOp::create(b, loc, m, l, acc);
    Value qView = rowsView(buf.q, pos.b, pos.h, pos.qStart, pos.q0, qLen);
    if (RopeAttr rope = op.getRopeAttr())
      qView = rotatedRows(qView, qTile, qLen, [&](Value r) {
        return emitRopeQueryPosition(b, loc, rope, pos,
                                     arith::AddIOp::create(b, loc, pos.q0, r));
      });
    State state{qView, m, l, acc, threshold};

    // Rows past seqused_q attend to nothing: no kv tile.
    if (!tail && op.getBlockSparseAttr())
      emitListedBlocks(pos, qt, state);
    else if (!tail)
      emitKvRange(pos, qLen, state);

    Value outView = rowsView(buf.out, pos.b, pos.h, pos.qStart, pos.q0, qLen);
    Value lse = buf.lse ? lseView(pos, qLen) : Value();
    SoftmaxFinalizeOp::create(b, loc, m, l, acc, outView, lse, sink);
  }

  /// What every tile_update of one query tile shares.
  struct State {
    Value q, m, l, acc, threshold;
  };

  /// kv tiles [ktLo, ktHi) from the mask analysis, split into the partial
  /// tiles before the full range, the full range, and the partial tiles
  /// after it.
  void emitKvRange(const TilePosition &pos, Value qLen, const State &state) {
    IndexArith arith{b, loc};
    Value q1 = arith::AddIOp::create(b, loc, pos.q0, qLen);
    // A document conjunct's keys come from the ids (DocumentKeys.h), one
    // scan per query tile.
    RowTileKeys<Value> keys =
        emitRowTileKeys(arith, op, buf, pos, q1, ScanLanes::oneLane(b, loc));
    // A ragged last tile holds only real keys here (views of kLen rows).
    KvTileRange<Value> range = kvTileRange(arith, keys, pos.seqK, kvTile,
                                           /*raggedLastTileIsFull=*/true);
    Value ktLo = range.ktLo, ktHi = range.ktHi, fullLo = range.fullLo,
          fullHi = range.fullHi;
    emitKvLoop(pos, state, ktLo, fullLo, /*partial=*/true, nullptr);
    emitKvLoop(pos, state, fullLo, fullHi, /*partial=*/false, nullptr);
    emitKvLoop(pos, state, fullHi, ktHi, /*partial=*/true, nullptr);
  }

  /// The kv blocks listed by the block-sparse operands for query block qt.
  void emitListedBlocks(const TilePosition &pos, Value qt, const State &state) {
    auto listed = [&](Value counts, Value indices, bool partial) {
      SmallVector<Value> at = {broadcast(counts, 0, pos.b),
                               broadcast(counts, 1, pos.h), qt};
      Value count = loadIndex(counts, at);
      // Clamp a corrupt count to the number of columns of the index list.
      count = maxIdx(minIdx(count, dim(indices, 3)), index(0));
      SmallVector<Value> row = {broadcast(indices, 0, pos.b),
                                broadcast(indices, 1, pos.h), qt};
      emitKvLoop(pos, state, index(0), count, partial, [&, row](Value n) {
        SmallVector<Value> idx(row);
        idx.push_back(n);
        return loadIndex(indices, idx);
      });
    };
    listed(buf.kvNumBlocks, buf.kvIndices, /*partial=*/true);
    if (buf.fullKvNumBlocks)
      listed(buf.fullKvNumBlocks, buf.fullKvIndices, /*partial=*/false);
  }

  Value broadcast(Value memref, unsigned d, Value idx) {
    return emitBroadcastIndex(b, loc, memref, d, idx);
  }

  /// for n in [lo, hi): tile_update on kv tile kt = blockOf(n) (or n).
  void emitKvLoop(const TilePosition &tilePos, const State &state, Value lo,
                  Value hi, bool partial, std::function<Value(Value)> blockOf) {
    auto loop = scf::ForOp::create(b, loc, lo, hi, index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    if (blockOf) {
      // A listed block outside [0, ceil(Sk / BK)) would read out of bounds:
      // clamp it to an empty tile at Sk.
      kt = maxIdx(minIdx(blockOf(kt), ceilDiv(tilePos.seqK, kvTile)), index(0));
    }
    TilePosition pos = tilePos;
    pos.k0 = minIdx(arith::MulIOp::create(b, loc, kt, index(kvTile)), pos.seqK);
    Value kLen =
        minIdx(index(kvTile), arith::SubIOp::create(b, loc, pos.seqK, pos.k0));
    Value kView, vView;
    if (op.isPagedKv()) {
      kView = gatherPagedRows(buf.k, pos, kLen);
      vView = gatherPagedRows(buf.v, pos, kLen);
    } else {
      kView = rowsView(buf.k, pos.b, pos.hk, pos.kStart, pos.k0, kLen);
      vView = rowsView(buf.v, pos.b, pos.hk, pos.kStart, pos.k0, kLen);
    }
    if (kScale) {
      kView = dequantizedRows(kView, kvTile, kLen, kScale);
      vView = dequantizedRows(vView, kvTile, kLen, vScale);
    }
    if (op.getRopeAttr())
      kView = rotatedRows(kView, kvTile, kLen, [&](Value c) {
        return arith::AddIOp::create(b, loc, pos.k0, c).getResult();
      });
    auto update = TileUpdateOp::create(
        b, loc, state.q, kView, vView, state.m, state.l, state.acc,
        state.threshold, b.getF32FloatAttr(op.getEffectiveScale()));
    buildElementRegion(b, op, buf, pos, partial, update.getElement());
  }

  void replaceResults() {
    SmallVector<Value> results;
    SmallVector<Value> memrefs = {buf.out, buf.lse};
    for (auto [result, memref] : llvm::zip(op.getResults(), memrefs)) {
      results.push_back(bufferization::ToTensorOp::create(
          b, loc, result.getType(), memref, /*restrict=*/true,
          /*writable=*/true));
    }
    op->replaceAllUsesWith(results);
    op->erase();
  }

  OpBuilder &b;
  Location loc;
  AttentionOp op;
  int64_t qTile, kvTile;
  bool varlen = false;
  AttentionBuffers buf;
  /// #attn.rope: the inverse frequencies f_d ([D/2] f32).
  Value ropeTable;
  /// An fp8 cache: the dequantization scales (f32; null otherwise).
  Value kScale, vScale;
};

struct TilePass : public attn::impl::AttnTileBase<TilePass> {
  using Base::Base;

  void runOnOperation() override {
    if (qTile <= 0 || kvTile <= 0) {
      getOperation()->emitError("attn-tile: q-tile and kv-tile must be > 0");
      return signalPassFailure();
    }
    // attn.block_mask's lists are built on the GPU (attn-gpu-kernels); the
    // host evaluates masks itself (the Python package with numpy).
    WalkResult blockMasks = getOperation()->walk([&](BlockMaskOp op) {
      op.emitError("attn-tile: attn.block_mask has no CPU lowering; "
                   "attn-gpu-kernels builds its kernel");
      return WalkResult::interrupt();
    });
    if (blockMasks.wasInterrupted())
      return signalPassFailure();
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops) {
      OpBuilder builder(op);
      AttentionTiler(builder, op, qTile, kvTile).run();
    }
  }
};
} // namespace
