//===- BlockMaskKernel.cpp - the kernel of attn.block_mask ----------------===//
//
// One CTA per (query block m, head h, batch b) walks the key blocks n in
// order. Its threads evaluate the mask on every pair of the block (thread
// t takes pairs t, t + T, ...; consecutive threads consecutive keys, so a
// captured per-key tensor is read coalesced) with the element code that
// attention kernels apply to partial tiles (emitMaskKeep), and reduce
//
//   some  = OR  over the pairs inside the matrix of keep
//   every = AND over them
//
// across the CTA with one `bar.red.or` and one `bar.red.and`. Thread 0
// appends n to the partial list (some and not full) or the full list
// (every, the block having pairs), then writes the counts and the blocks
// of neither kind after each list, ascending (FlexAttention's kv_indices
// are a permutation of the key blocks).
//
// Blocks whose class the kv schedule of the query block states in closed
// form (TileClassification.h's kvTileRange under the closed-form atoms, as
// the attention kernels visit them) skip the evaluation: outside its live
// range they keep no pair, inside its full range every pair.
//
// Kernel parameters follow the function: q_len and kv_len (i64 scalars),
// the captured tensors, then the four lists.
//
//===----------------------------------------------------------------------===//

#include "BlockMaskKernel.h"
#include "KernelStrategy.h"

#include "attn/Analysis/TileClassification.h"
#include "attn/Conversion/KernelABI.h"
#include "attn/Transforms/DocumentKeys.h"
#include "attn/Transforms/MaskModForms.h"
#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Threads per CTA: a 128 x 128 block is 64 pairs per thread.
constexpr int64_t kThreads = 256;

/// Argument and result names of the ABI.
constexpr StringLiteral kListNames[] = {
    "kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices"};

class BlockMaskBuilder {
public:
  BlockMaskBuilder(OpBuilder &b, Location loc, BlockMaskOp op)
      : b(b), loc(loc), op(op) {}

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value minI(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value maxI(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value boolean(bool v) { return arith::ConstantIntOp::create(b, loc, v, 1); }
  Value notI(Value x) {
    return arith::XOrIOp::create(b, loc, x, boolean(true));
  }
  /// 1 or 0 as an index (index_cast of an i1 would sign-extend true to -1).
  Value countOf(Value flag) {
    return arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        arith::ExtUIOp::create(b, loc, b.getI64Type(), flag));
  }

  /// The pairs of [start, start + size) that lie before `length`: in
  /// [0, size].
  Value extent(Value start, int64_t size, Value length) {
    return maxI(index(0), minI(index(size), sub(length, start)));
  }

  /// A CTA-wide OR (`any`) or AND of the i1 `pred`.
  Value ctaReduce(Value pred, bool any) {
    Value word = arith::ExtUIOp::create(b, loc, b.getI32Type(), pred);
    auto kind = any ? NVVM::BarrierReduction::OR : NVVM::BarrierReduction::AND;
    Value reduced =
        NVVM::BarrierOp::create(
            b, loc, TypeRange{b.getI32Type()}, Value(), Value(),
            NVVM::BarrierReductionAttr::get(b.getContext(), kind), word)
            .getResult(0);
    return cmp(arith::CmpIPredicate::ne, reduced,
               arith::ConstantIntOp::create(b, loc, 0, 32));
  }

  void build(const AttentionBuffers &buf, Value qLen, Value kvLen,
             ArrayRef<Value> lists) {
    int64_t qb = op.getBlocks().getQBlock(), kb = op.getBlocks().getKvBlock();
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    TilePosition pos;
    Value m = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    pos.h = pos.hk = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    pos.b = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
    pos.qStart = pos.kStart = index(0);
    // Lengths below 0 hold no pair.
    pos.seqQ = pos.layoutSeqQ = maxI(qLen, index(0));
    pos.seqK = pos.layoutSeqK = maxI(kvLen, index(0));
    // The grid follows kv_num_blocks; a CTA whose (b, h, m) lies outside
    // another list (lists of inconsistent sizes from a C++ caller) writes
    // nothing, and the key blocks are those both index lists hold, so no
    // store leaves its buffer. The condition is uniform over the CTA.
    SmallVector<Value> at = {pos.b, pos.h, m};
    Value ownRow = boolean(true);
    for (Value list : lists)
      for (auto [d, coordinate] : llvm::enumerate(at))
        ownRow = andI(ownRow, cmp(arith::CmpIPredicate::ult, coordinate,
                                  memref::DimOp::create(b, loc, list, d)));
    auto guarded = scf::IfOp::create(b, loc, ownRow, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guardInside(b);
    b.setInsertionPointToStart(guarded.thenBlock());
    Value r0 = mul(m, index(qb));
    Value rows = extent(r0, qb, pos.seqQ);
    Value numBlocks = minI(memref::DimOp::create(b, loc, lists[1], 3),
                           memref::DimOp::create(b, loc, lists[3], 3));
    // The kv schedule of the query block (the attention kernels' own,
    // TileClassification.h) under the closed-form atoms: key blocks outside
    // [ktLo, ktHi) keep no pair, those in [fullLo, fullHi) keep every one
    // (none with a mask_mod: its pairs are evaluated). The last, shorter
    // key block counts as full when its keys inside the matrix are kept.
    // A document conjunct over captured ids narrows it by the attention
    // kernels' id scan; where it is the region's only conjunct, the region
    // adds nothing else and the scan's full keys are full.
    IndexArith arith{b, loc};
    Value r1 = add(r0, rows);
    std::optional<CapturedDocument> document =
        capturedDocumentConjunct(op.getMasksAttr(), op.getMaskMod());
    RowTileKeys<Value> keys = analyzeRowTile(
        arith, op.getMasksAttr(), r0, r1, pos.seqQ, pos.seqK,
        [&](Attribute atom) {
          return document && document->alone && isa<MaskModAttr>(atom);
        });
    if (document)
      keys = narrowByDocument(arith, keys, *document, buf, pos, r0, r1, tid);
    KvTileRange<Value> range = kvTileRange(arith, keys, pos.seqK, kb,
                                           /*raggedLastTileIsFull=*/true);
    Value zero = index(0), one = index(1);
    Value isLeader = cmp(arith::CmpIPredicate::eq, tid, zero);

    auto blocks = scf::ForOp::create(b, loc, zero, numBlocks, one,
                                     ValueRange{zero, zero});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(blocks.getBody());
      Value n = blocks.getInductionVar();
      Value numPartial = blocks.getRegionIterArg(0);
      Value numFull = blocks.getRegionIterArg(1);
      Value c0 = mul(n, index(kb));
      Value cols = extent(c0, kb, pos.seqK);
      // Only blocks the schedule leaves partial are evaluated pair by pair
      // (the condition is uniform over the CTA, so are the barriers in it);
      // the others have no kept pair (some = false) or keep every one.
      Value inLive = andI(cmp(arith::CmpIPredicate::sge, n, range.ktLo),
                          cmp(arith::CmpIPredicate::slt, n, range.ktHi));
      Value inFull = andI(cmp(arith::CmpIPredicate::sge, n, range.fullLo),
                          cmp(arith::CmpIPredicate::slt, n, range.fullHi));
      auto evaluated =
          scf::IfOp::create(b, loc, TypeRange{b.getI1Type(), b.getI1Type()},
                            andI(inLive, notI(inFull)), /*withElse=*/true);
      b.setInsertionPointToStart(evaluated.elseBlock());
      scf::YieldOp::create(b, loc, ValueRange{boolean(false), boolean(true)});
      b.setInsertionPointToStart(evaluated.thenBlock());
      // Every pair slot of the block, (r, c) = (p / kb, p % kb): constant
      // divisors; slots outside the matrix count as neither kept nor not.
      auto pairs =
          scf::ForOp::create(b, loc, tid, index(qb * kb), index(kThreads),
                             ValueRange{boolean(false), boolean(true)});
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(pairs.getBody());
        Value p = pairs.getInductionVar();
        Value r = arith::DivUIOp::create(b, loc, p, index(kb));
        Value c = arith::RemUIOp::create(b, loc, p, index(kb));
        Value inside = andI(cmp(arith::CmpIPredicate::slt, r, rows),
                            cmp(arith::CmpIPredicate::slt, c, cols));
        Value keep = emitMaskKeep(b, loc, op.getMasksAttr(), op.getMaskMod(),
                                  buf, pos, add(r0, r), add(c0, c));
        Value some = orI(pairs.getRegionIterArg(0), andI(inside, keep));
        Value every = andI(pairs.getRegionIterArg(1), orI(notI(inside), keep));
        scf::YieldOp::create(b, loc, ValueRange{some, every});
      }
      scf::YieldOp::create(
          b, loc,
          ValueRange{ctaReduce(pairs.getResult(0), /*any=*/true),
                     ctaReduce(pairs.getResult(1), /*any=*/false)});
      b.setInsertionPointAfter(evaluated);
      Value some = evaluated.getResult(0);
      Value every = andI(inLive, evaluated.getResult(1));
      Value hasPairs = andI(cmp(arith::CmpIPredicate::sgt, rows, zero),
                            cmp(arith::CmpIPredicate::sgt, cols, zero));
      Value full = andI(hasPairs, every);
      Value partial = andI(some, notI(full));
      Value n32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), n);
      for (auto [flag, list, count] :
           {std::tuple{partial, lists[1], numPartial},
            std::tuple{full, lists[3], numFull}}) {
        Value store = andI(isLeader, flag);
        scf::IfOp::create(b, loc, store, [&](OpBuilder &, Location) {
          SmallVector<Value> slot(at);
          slot.push_back(count);
          memref::StoreOp::create(b, loc, n32, list, slot);
          scf::YieldOp::create(b, loc);
        });
      }
      scf::YieldOp::create(b, loc,
                           ValueRange{add(numPartial, countOf(partial)),
                                      add(numFull, countOf(full))});
    }

    scf::IfOp::create(b, loc, isLeader, [&](OpBuilder &, Location) {
      for (auto [countList, indexList, count] :
           {std::tuple{lists[0], lists[1], blocks.getResult(0)},
            std::tuple{lists[2], lists[3], blocks.getResult(1)}}) {
        memref::StoreOp::create(
            b, loc, arith::IndexCastOp::create(b, loc, b.getI32Type(), count),
            countList, at);
        fillRest(indexList, count, numBlocks, at);
      }
      scf::YieldOp::create(b, loc);
    });
  }

  /// Whether the captured ids `ids` ([S], or [B, S] read at batch pos.b)
  /// hold token `length - 1` of the sequence: the scan then reads no id
  /// outside them.
  Value idsCover(Value ids, const TilePosition &pos, Value length) {
    auto type = cast<MemRefType>(ids.getType());
    Value tokens = memref::DimOp::create(b, loc, ids, type.getRank() - 1);
    Value covered = cmp(arith::CmpIPredicate::sge, tokens, length);
    if (type.getRank() == 2)
      covered = andI(covered, cmp(arith::CmpIPredicate::slt, pos.b,
                                  memref::DimOp::create(b, loc, ids, 0)));
    return covered;
  }

  /// `keys` (rows [r0, r1)) intersected with the keys the document
  /// conjunct `document` keeps (DocumentKeys.h's scan over one warp's lanes;
  /// every warp runs it). Where the ids do not cover the sequences (the
  /// region then reads 0 past them) the live keys stay and none is full:
  /// the pairs decide.
  RowTileKeys<Value> narrowByDocument(IndexArith &arith,
                                      const RowTileKeys<Value> &keys,
                                      const CapturedDocument &document,
                                      const AttentionBuffers &buf,
                                      const TilePosition &pos, Value r0,
                                      Value r1, Value tid) {
    AttentionBuffers ids;
    ids.docIdsQ = buf.captured(document.idsQ);
    ids.docIdsKv = buf.captured(document.idsKv);
    auto [kLo, kHi] = liveKeyRange(arith, keys, pos.seqK);
    Value covered = andI(idsCover(ids.docIdsQ, pos, pos.seqQ),
                         idsCover(ids.docIdsKv, pos, pos.seqK));
    SmallVector<Type> types(4, b.getIndexType());
    auto scan =
        scf::IfOp::create(b, loc, types, covered, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(scan.thenBlock());
      RowTileKeys<Value> found = emitDocumentKeys(
          b, loc, ids, pos, r0, r1, kLo, kHi, warpScanLanes(b, loc, tid));
      scf::YieldOp::create(b, loc,
                           ValueRange{*found.live.lo, *found.live.hi,
                                      *found.full->lo, *found.full->hi});
      b.setInsertionPointToStart(scan.elseBlock());
      scf::YieldOp::create(b, loc, ValueRange{kLo, kHi, kLo, kLo});
    }
    RowTileKeys<Value> narrowed{
        KeyInterval<Value>{scan.getResult(0), scan.getResult(1)},
        KeyInterval<Value>{scan.getResult(2), scan.getResult(3)}};
    return intersectRowTileKeys(arith, keys, narrowed);
  }

  /// After the `count` listed blocks (ascending) of list[at..., :], the
  /// others ascending: a merge walk over n, p the next listed entry.
  void fillRest(Value list, Value count, Value numBlocks, ArrayRef<Value> at) {
    auto walk = scf::ForOp::create(b, loc, index(0), numBlocks, index(1),
                                   ValueRange{index(0)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(walk.getBody());
    Value n = walk.getInductionVar(), p = walk.getRegionIterArg(0);
    Value listed = cmp(arith::CmpIPredicate::slt, p, count);
    // list[p] is read only while p < count (else a slot past the row).
    auto entry = scf::IfOp::create(
        b, loc, listed,
        [&](OpBuilder &, Location) {
          SmallVector<Value> slot(at);
          slot.push_back(p);
          Value v = memref::LoadOp::create(b, loc, list, slot);
          scf::YieldOp::create(
              b, loc,
              ValueRange{cmp(
                  arith::CmpIPredicate::eq,
                  arith::IndexCastOp::create(b, loc, b.getIndexType(), v), n)});
        },
        [&](OpBuilder &, Location) {
          scf::YieldOp::create(b, loc, ValueRange{boolean(false)});
        });
    Value isListed = entry.getResult(0);
    scf::IfOp::create(b, loc, notI(isListed), [&](OpBuilder &, Location) {
      SmallVector<Value> slot(at);
      slot.push_back(add(count, sub(n, p)));
      memref::StoreOp::create(
          b, loc, arith::IndexCastOp::create(b, loc, b.getI32Type(), n), list,
          slot);
      scf::YieldOp::create(b, loc);
    });
    scf::YieldOp::create(b, loc, ValueRange{add(p, countOf(isListed))});
  }

private:
  OpBuilder &b;
  Location loc;
  BlockMaskOp op;
};
} // namespace

LogicalResult mlir::attn::buildBlockMaskKernel(ModuleOp module,
                                               func::FuncOp func,
                                               BlockMaskOp op) {
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  if (ret.getOperands() != ValueRange(op.getResults()))
    return func.emitError("attn-gpu-kernels: the function must return the "
                          "attn.block_mask results directly");
  for (Value length : {op.getQLen(), op.getKvLen()}) {
    auto arg = dyn_cast<BlockArgument>(length);
    if (!arg || arg.getOwner() != &body)
      return op.emitError("attn-gpu-kernels: q_len and kv_len must be "
                          "arguments of the function");
  }
  for (Type t : func.getArgumentTypes())
    if (!isa<RankedTensorType, IndexType>(t))
      return func.emitError("attn-gpu-kernels: the arguments of a block mask "
                            "function must be ranked tensors or index, got ")
             << t;
  // The mask_mod region may use values from outside only as what the
  // element code maps to kernel parameters: tensors of the function's
  // arguments, read with tensor.extract.
  WalkResult captures = op.getMaskMod().walk([&](Operation *nested) {
    for (Value operand : nested->getOperands()) {
      if (op.getMaskMod().isAncestor(operand.getParentRegion()))
        continue;
      auto arg = dyn_cast<BlockArgument>(operand);
      auto extract = dyn_cast<tensor::ExtractOp>(nested);
      if (!arg || arg.getOwner() != &body || !extract ||
          extract.getTensor() != operand) {
        nested->emitError("attn-gpu-kernels: a mask_mod region may use from "
                          "outside only tensors that are arguments of the "
                          "function, read with tensor.extract");
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  if (captures.wasInterrupted())
    return failure();

  OpBuilder b(module.getBodyRegion());
  Location loc = func.getLoc();
  gpu::GPUModuleOp gpuModule = createKernelModule(module, func);
  // Grid (NQ, H, B): the dimensions of kv_num_blocks, the first result.
  int64_t counts = func.getNumArguments();
  auto kernel =
      addKernelFunc(b, loc, gpuModule, (func.getName() + "_block_mask").str(),
                    kernelParamTypes(func), kThreads, /*sharedBytes=*/0,
                    {counts, 2, 1, counts, 1, 1, counts, 0, 1});

  Block &entry = kernel.getBody().front();
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    kernel.setArgAttr(i, kKernelParamNameAttr,
                      b.getStringAttr("capture" + std::to_string(i)));
  unsigned qLen = cast<BlockArgument>(op.getQLen()).getArgNumber();
  unsigned kvLen = cast<BlockArgument>(op.getKvLen()).getArgNumber();
  kernel.setArgAttr(qLen, kKernelParamNameAttr, b.getStringAttr("q_len"));
  kernel.setArgAttr(kvLen, kKernelParamNameAttr, b.getStringAttr("kv_len"));
  SmallVector<Value> lists;
  for (auto [index, name] : llvm::enumerate(kListNames)) {
    kernel.setArgAttr(counts + index, kKernelParamNameAttr,
                      b.getStringAttr(name));
    lists.push_back(entry.getArgument(counts + index));
  }

  AttentionBuffers buf;
  buf.captured = capturedArguments(body, entry);
  b.setInsertionPointToStart(&entry);
  BlockMaskBuilder(b, loc, op)
      .build(buf, entry.getArgument(qLen), entry.getArgument(kvLen), lists);
  gpu::ReturnOp::create(b, loc);
  func.erase();
  return success();
}
