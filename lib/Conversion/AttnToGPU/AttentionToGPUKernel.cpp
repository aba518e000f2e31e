//===- AttentionToGPUKernel.cpp - attn.attention -> tensor-core kernel ----===//
//
// Generates, for a function holding one attn.attention, a gpu.module with a
// FlashAttention-2 forward kernel on the sm_80 tensor-core path
// (docs/gpu-kernel-design.md):
//
//   one CTA of `warps` warps per (query tile of block_q = 16 x warps rows,
//   head, batch); each warp owns 16 rows; K/V tiles of block_k keys (the
//   #attn.lowering_config, 4 warps and 64 keys by default) stream through
//   two shared-memory
//   stages with cp.async (nvgpu.device_async_copy); S = Q K^T and O += P V
//   run on nvgpu.mma.sync m16n8k16 with operands from nvgpu.ldmatrix; row
//   max and row sum use warp shuffles; exp2 becomes ex2.approx.
//
// The kv range and the empty / full / partial classes come from the mask
// analysis, the per-element masks, score modifications and gates from the
// element code shared with the CPU path (TilingContext.h).
//
// Kernel parameters: the function's arguments, then its results, all as
// memrefs (the runtime artifact ABI). The kernel carries its launch
// description as attributes: attn.block, attn.grid, attn.shared_bytes.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/TileClassification.h"
#include "attn/Conversion/GpuTarget.h"
#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/Passes.h"
#include "attn/IR/AttnOps.h"
#include "attn/Transforms/TilingContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <cfloat>
#include <cmath>
#include <functional>
#include <numeric>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNGPUKERNELS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
constexpr int64_t kRowsPerWarp = 16; // m16n8k16: each warp owns 16 rows
constexpr int64_t kPad = 8;          // halves of padding per shared-memory row

/// Bytes of dynamic shared memory: the Q tile and two stages of K and V
/// tiles, rows padded by kPad halves (an odd number of 16-byte chunks per
/// row keeps ldmatrix free of bank conflicts).
int64_t sharedBytes(int64_t headDim, int64_t headDimV,
                    LoweringConfigAttr config) {
  return (config.getBlockQ() + 2 * config.getBlockK()) * (headDim + kPad) * 2 +
         2 * config.getBlockK() * (headDimV + kPad) * 2;
}

/// Why `op` cannot (yet) become a GPU kernel, whatever the tile sizes, or
/// "" when it can.
std::string unsupportedReason(AttentionOp op) {
  ProblemShape shape = op.getProblemShape();
  Type element = op.getQ().getType().getElementType();
  if (!element.isF16() && !element.isBF16())
    return "the GPU kernel needs f16 or bf16 q/k/v";
  if (op.isVarlen() && op.getCustomMask())
    return "a varlen custom_mask is not supported by the GPU kernel yet";
  // m16n8k16 steps over D (Q K^T) and 8-wide column blocks of Dv (P V);
  // the cp.async tile copy moves rows of D / 8 16-byte chunks, and a
  // warp's 16 rows must split evenly over its 32 lanes: multiples of 16.
  for (int64_t d : {shape.headDim, shape.headDimV})
    if (d % 16 || d < 32 || d > 256)
      return "the GPU kernel supports head dims (q/k and v) that are "
             "multiples of 16 in [32, 256], got " +
             std::to_string(shape.headDim) + " and " +
             std::to_string(shape.headDimV);
  // Regions may read captured tensors, function arguments, with
  // tensor.extract only (it becomes a load from the kernel parameter).
  for (Region *region : {&op.getMaskMod(), &op.getScoreMod()}) {
    std::string why;
    region->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands()) {
        if (region->isAncestor(operand.getParentRegion()))
          continue;
        if (!isa<BlockArgument>(operand) ||
            !isa<RankedTensorType>(operand.getType()))
          why = "mask_mod/score_mod regions may capture only function "
                "arguments that are tensors";
        else if (!isa<tensor::ExtractOp>(nested))
          why = "a captured tensor may only be read with tensor.extract in "
                "a region compiled for the GPU ('" +
                nested->getName().getStringRef().str() + "' uses one)";
      }
    });
    if (!why.empty())
      return why;
  }
  return "";
}

/// Why `config` cannot build the kernel of `op` on `target`, or "".
std::string configReason(AttentionOp op, const GpuTarget &target,
                         LoweringConfigAttr config) {
  ProblemShape shape = op.getProblemShape();
  int64_t blockQ = config.getBlockQ(), blockK = config.getBlockK();
  int64_t threads = 32 * config.getWarps();
  std::string tiles = "block_q = " + std::to_string(blockQ) +
                      ", block_k = " + std::to_string(blockK);
  if (threads > 1024)
    return tiles + ": more than 1024 threads per CTA";
  // Each cp.async moves 16 bytes: a tile of `rows` rows of `dim` halves is
  // rows * dim / 8 copies, spread evenly over the threads.
  for (int64_t dim : {shape.headDim, shape.headDimV})
    if ((blockK * dim / 8) % threads)
      return tiles + ": a " + std::to_string(blockK) + " x " +
             std::to_string(dim) + " K/V tile does not split over " +
             std::to_string(threads) + " threads";
  if (int64_t bytes = sharedBytes(shape.headDim, shape.headDimV, config);
      bytes > target.maxSharedBytes)
    return "head dims " + std::to_string(shape.headDim) + "/" +
           std::to_string(shape.headDimV) + " with " + tiles + " need " +
           std::to_string(bytes) + " bytes of shared memory, more than " +
           target.chip.str() + " offers (" +
           std::to_string(target.maxSharedBytes) + ")";
  if (SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr();
      sparse && sparse.getKvBlock() != blockK)
    return "sparse_softmax kv_block must equal the GPU kernel's key tile (" +
           tiles + ")";
  if (BlockSparseAttr blocks = op.getBlockSparseAttr();
      blocks && (blocks.getQBlock() % blockQ || blocks.getKvBlock() % blockK))
    return "block_sparse q_block and kv_block must be multiples of the GPU "
           "kernel's tiles (" +
           tiles + ")";
  return "";
}

/// The lowering config for `op` on `target`: the forced tile sizes where
/// given (0: choose), else 64 query rows (4 warps; fewer where a block-sparse
/// q_block is smaller) and the largest key tile of 64, 32, 16 that fits the
/// chip and divides a block-sparse kv_block (a sparse-softmax op's tile is
/// its kv_block). Fails with the reason the preferred candidate failed.
FailureOr<LoweringConfigAttr>
chooseConfig(AttentionOp op, const GpuTarget &target, int64_t forcedBlockQ,
             int64_t forcedBlockK, std::string &why) {
  BlockSparseAttr blocks = op.getBlockSparseAttr();
  int64_t blockQ = 4 * kRowsPerWarp;
  if (blocks && blocks.getQBlock() % blockQ)
    blockQ = std::gcd(blocks.getQBlock(), blockQ);
  if (forcedBlockQ)
    blockQ = forcedBlockQ;
  if (blockQ <= 0 || blockQ % kRowsPerWarp) {
    why = "block_q must be a positive multiple of 16 (16 query rows per "
          "warp), got " +
          std::to_string(blockQ) +
          (blocks ? " (from block_sparse q_block " +
                        std::to_string(blocks.getQBlock()) + ")"
                  : std::string());
    return failure();
  }
  SmallVector<int64_t> keyTiles;
  for (int64_t tile : {64, 32, 16})
    if (!blocks || blocks.getKvBlock() % tile == 0)
      keyTiles.push_back(tile);
  if (SparseSoftmaxAttr sparse = op.getSparseSoftmaxAttr())
    keyTiles = {sparse.getKvBlock()};
  if (forcedBlockK)
    keyTiles = {forcedBlockK};
  if (keyTiles.empty())
    keyTiles = {16}; // reports why the smallest tile does not fit
  std::string first;
  for (int64_t blockK : keyTiles) {
    if (blockK <= 0 || blockK % 16) {
      why = "the key tile (block_k, or a sparse_softmax kv_block) must be a "
            "positive multiple of 16, got " +
            std::to_string(blockK);
      return failure();
    }
    auto config =
        LoweringConfigAttr::get(op.getContext(), GpuStrategy::sm80, blockQ,
                                blockK, blockQ / kRowsPerWarp);
    std::string reason = configReason(op, target, config);
    if (reason.empty())
      return config;
    if (first.empty())
      first = reason;
  }
  why = first;
  return failure();
}

/// Builds the kernel body.
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, AttentionOp op,
                const AttentionBuffers &buf, LoweringConfigAttr config)
      : b(b), loc(loc), op(op), buf(buf), tileQ(config.getBlockQ()),
        tileK(config.getBlockK()), numWarps(config.getWarps()) {
    shape = op.getProblemShape();
    elementType = op.getQ().getType().getElementType();
    headDim = shape.headDim;
    headDimV = shape.headDimV;
    pitch = headDim + kPad;
    pitchV = headDimV + kPad;
  }

  void build() {
    f32 = b.getF32Type();
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    warp = arith::DivUIOp::create(b, loc, tid, index(32));
    lane = arith::RemUIOp::create(b, loc, tid, index(32));
    group = arith::DivUIOp::create(b, loc, lane, index(4));
    quad = arith::RemUIOp::create(b, loc, lane, index(4));
    this->tid = tid;

    pos.b = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
    pos.h = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    pos.hk = arith::DivUIOp::create(b, loc, pos.h,
                                    index(shape.headsQ / shape.headsKV));
    Value qt = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    pos.q0 = arith::MulIOp::create(b, loc, qt, index(tileQ));
    pos.maskBase = index(0);
    // Varlen: the grid covers the longest possible sequence (all T rows)
    // for each of B + 1 batch slots; CTAs past the batch or past their
    // sequence's rows leave at once. Rows in [seqused_q, len) are still
    // written (out 0, lse -inf).
    if (op.isVarlen()) {
      Value batch = arith::SubIOp::create(
          b, loc, memref::DimOp::create(b, loc, buf.cuSeqlensQ, 0), index(1));
      exitUnless(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pos.b,
                                       batch));
    }
    emitSequenceBounds(b, loc, op, buf, pos);
    if (op.isVarlen())
      exitUnless(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                       pos.q0, pos.layoutSeqQ));
    sparseThreshold = emitSparseThreshold(b, loc, op, pos);

    createSharedViews();
    loadTile(buf.q, qShared, nullptr, tileQ, headDim, pos.h, pos.qStart, pos.q0,
             pos.seqQ);
    Value qGroup = commitGroup();

    if (op.getBlockSparseAttr())
      scheduleListedBlocks();
    else
      scheduleKvRange();
    // A tile wholly past seqused_q attends to nothing.
    tileCount = arith::SelectOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pos.q0,
                              pos.seqQ),
        tileCount, index(0));

    // Prologue: the first K/V tile into stage 0.
    Value firstTile = loadKV(index(0), index(0));
    Value kvGroup = commitGroup();
    nvgpu::DeviceAsyncWaitOp::create(b, loc, qGroup, b.getI32IntegerAttr(1));
    gpu::BarrierOp::create(b, loc);
    loadQFragments();

    // Loop state: m and l for rows g and g + 8, the O accumulators, the
    // tile of the current step and its cp.async group.
    SmallVector<Value> init = {f(-FLT_MAX), f(-FLT_MAX), f(0.0), f(0.0)};
    auto accType = VectorType::get({2, 2}, f32);
    Value zeroAcc = arith::ConstantOp::create(
        b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
    for (int64_t n = 0; n < headDimV / 8; ++n)
      init.push_back(zeroAcc);
    init.push_back(firstTile);
    init.push_back(kvGroup);
    auto loop = scf::ForOp::create(b, loc, index(0), tileCount, index(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> state(loop.getRegionIterArgs());
      SmallVector<Value> next = iteration(loop.getInductionVar(), state);
      scf::YieldOp::create(b, loc, next);
    }
    SmallVector<Value> results(loop.getResults());
    finalize(results);
  }

private:
  /// The kv tiles the mask analysis keeps for this query tile, in order:
  /// step t visits tile ktLo + t; tiles inside the full interval (and not
  /// ragged: the zero-filled padding keys of a ragged tile must be masked)
  /// run the mask-free code.
  void scheduleKvRange() {
    IndexArith arith{b, loc};
    Value q1 =
        minIdx(arith::AddIOp::create(b, loc, pos.q0, index(tileQ)), pos.seqQ);
    RowTileKeys<Value> keys = analyzeRowTile(arith, op.getMasksAttr(), pos.q0,
                                             q1, pos.seqQ, pos.seqK);
    Value liveLo = maxIdx(*keys.live.lo, index(0));
    Value liveHi = minIdx(*keys.live.hi, pos.seqK);
    Value ktLo = arith::FloorDivSIOp::create(b, loc, liveLo, index(tileK));
    Value ktHi =
        maxIdx(ktLo, arith::CeilDivSIOp::create(b, loc, liveHi, index(tileK)));
    Value fullLo = ktLo, fullHi = ktLo;
    if (keys.full) {
      fullLo = minIdx(maxIdx(arith::CeilDivSIOp::create(b, loc, *keys.full->lo,
                                                        index(tileK)),
                             ktLo),
                      ktHi);
      Value hi = minIdx(*keys.full->hi, pos.seqK);
      fullHi = minIdx(
          maxIdx(arith::FloorDivSIOp::create(b, loc, hi, index(tileK)), fullLo),
          ktHi);
    }
    tileCount = arith::SubIOp::create(b, loc, ktHi, ktLo);
    tileAt = [this, ktLo](Value t) { return addIdx(ktLo, t); };
    isFullTile = [this, fullLo, fullHi](Value, Value kt) -> Value {
      return arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, kt, fullLo),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, kt, fullHi));
    };
  }

  /// Block-sparse (FlexAttention BlockMask): the kv blocks listed for this
  /// tile's query block, partial ones first (masks evaluated), then the full
  /// ones (no mask code unless ragged). A block of kv_block keys is
  /// kv_block / block_k consecutive tiles; step t maps to a listed block and a
  /// tile inside it.
  void scheduleListedBlocks() {
    BlockSparseAttr blocks = op.getBlockSparseAttr();
    int64_t ratio = blocks.getKvBlock() / tileK;
    Value qb =
        arith::DivUIOp::create(b, loc, pos.q0, index(blocks.getQBlock()));
    // Captured by value: tileAt and isFullTile run after this returns.
    auto at = [=, this](Value memref, Value last) {
      SmallVector<Value> idx = {emitBroadcastIndex(b, loc, memref, 0, pos.b),
                                emitBroadcastIndex(b, loc, memref, 1, pos.h),
                                qb};
      if (last)
        idx.push_back(last);
      return idx;
    };
    auto loadIdx = [this](Value memref, ArrayRef<Value> idx) -> Value {
      return arith::IndexCastOp::create(
          b, loc, b.getIndexType(),
          memref::LoadOp::create(b, loc, memref, idx));
    };
    // Tiles listed: a corrupt count is clamped to the list's columns.
    auto listedTiles = [&](Value counts, Value indices) -> Value {
      if (!counts)
        return index(0);
      Value n = loadIdx(counts, at(counts, nullptr));
      Value columns = memref::DimOp::create(b, loc, indices, 3);
      return mulIdx(maxIdx(minIdx(n, columns), index(0)), ratio);
    };
    Value partialTiles = listedTiles(buf.kvNumBlocks, buf.kvIndices);
    tileCount = addIdx(partialTiles,
                       listedTiles(buf.fullKvNumBlocks, buf.fullKvIndices));
    Value lastTile = arith::CeilDivSIOp::create(b, loc, pos.seqK, index(tileK));
    Value count = tileCount;
    tileAt = [=, this](Value t) -> Value {
      // Step t reads its list entry only when t < count; a step past the
      // end (the prefetch after the last tile) maps to the empty tile at Sk.
      auto lookup = [&](Value indices, Value tt) -> Value {
        Value block = loadIdx(
            indices,
            at(indices, arith::DivUIOp::create(b, loc, tt, index(ratio))));
        return addIdx(mulIdx(block, ratio),
                      arith::RemUIOp::create(b, loc, tt, index(ratio)));
      };
      Value inPartial = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                              t, partialTiles);
      Value inList =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, t, count);
      auto outer = scf::IfOp::create(b, loc, b.getIndexType(), inPartial,
                                     /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(outer.thenBlock());
        scf::YieldOp::create(b, loc, lookup(buf.kvIndices, t));
        b.setInsertionPointToStart(outer.elseBlock());
        Value result = lastTile;
        if (buf.fullKvIndices) {
          auto inner = scf::IfOp::create(b, loc, b.getIndexType(), inList,
                                         /*withElseRegion=*/true);
          b.setInsertionPointToStart(inner.thenBlock());
          scf::YieldOp::create(
              b, loc,
              lookup(buf.fullKvIndices,
                     arith::SubIOp::create(b, loc, t, partialTiles)));
          b.setInsertionPointToStart(inner.elseBlock());
          scf::YieldOp::create(b, loc, lastTile);
          b.setInsertionPointAfter(inner);
          result = inner.getResult(0);
        }
        scf::YieldOp::create(b, loc, result);
      }
      // A listed block outside the sequence would read out of bounds.
      return maxIdx(minIdx(outer.getResult(0), lastTile), index(0));
    };
    isFullTile = [=, this](Value t, Value kt) -> Value {
      Value end = mulIdx(addIdx(kt, index(1)), tileK);
      return arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, t,
                                partialTiles),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, end,
                                pos.seqK));
    };
  }

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value minIdx(Value x, Value y) {
    return arith::MinSIOp::create(b, loc, x, y);
  }
  /// ex2.approx / lg2.approx straight from the NVVM intrinsics: math.exp2
  /// would become a libdevice call, which needs the CUDA toolkit to link.
  Value approx(StringRef intrinsic, Value x) {
    return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(),
                                         b.getStringAttr(intrinsic), x)
        .getResult(0);
  }
  Value exp2(Value x) { return approx("llvm.nvvm.ex2.approx.f32", x); }
  Value log2(Value x) { return approx("llvm.nvvm.lg2.approx.f", x); }
  Value maxIdx(Value x, Value y) {
    return arith::MaxSIOp::create(b, loc, x, y);
  }
  Value addIdx(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mulIdx(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, index(c));
  }

  void createSharedViews() {
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                     MemRefLayoutAttrInterface{}, workgroup);
    Value smem = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
    auto view = [&](ArrayRef<int64_t> dims, int64_t offsetBytes) -> Value {
      auto type = MemRefType::get(dims, elementType,
                                  MemRefLayoutAttrInterface{}, workgroup);
      return memref::ViewOp::create(b, loc, type, smem, index(offsetBytes),
                                    ValueRange{});
    };
    int64_t tileBytes = tileQ * pitch * 2;
    qShared = view({tileQ, pitch}, 0);
    kShared = view({2, tileK, pitch}, tileBytes);
    vShared = view({2, tileK, pitchV}, tileBytes + 2 * tileK * pitch * 2);
  }

  /// Continues only where `cond` holds: the rest of the kernel body is built
  /// inside an scf.if (a CTA with nothing to do returns at once).
  void exitUnless(Value cond) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    b.setInsertionPointToStart(ifOp.thenBlock());
  }

  /// Indices of (sequence row `row`, head, column) in a [B, S, H, D] or
  /// [B, H, S, D] tensor, or in a packed varlen [T, H, D] one whose sequence
  /// starts at `start`.
  SmallVector<Value> rowIndices(Value start, Value row, Value head, Value col) {
    if (op.isVarlen())
      return {addIdx(start, row), head, col};
    if (op.getLayout() == Layout::bhsd)
      return {pos.b, head, row, col};
    return {pos.b, row, head, col};
  }

  /// Copies rows [row0, row0 + tileRows) of head `head` of the sequence
  /// starting at packed row `start` of `src` (`dim` columns; zero-filling rows
  /// at or past `rows`) into `dst` (2-D, or stage `stage` of a 3-D buffer), 16
  /// bytes per cp.async.
  void loadTile(Value src, Value dst, Value stage, int64_t tileRows,
                int64_t dim, Value head, Value start, Value row0, Value rows) {
    int64_t chunksPerRow = dim / 8;
    int64_t perThread = tileRows * chunksPerRow / (numWarps * 32);
    for (int64_t it = 0; it < perThread; ++it) {
      Value chunk = addIdx(tid, index(it * numWarps * 32));
      Value r = arith::DivUIOp::create(b, loc, chunk, index(chunksPerRow));
      Value col =
          mulIdx(arith::RemUIOp::create(b, loc, chunk, index(chunksPerRow)), 8);
      Value row = addIdx(row0, r);
      Value inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row, rows);
      // Out-of-range rows read nothing (zero fill) from a clamped address.
      Value safeRow = arith::SelectOp::create(b, loc, inside, row, index(0));
      Value count = arith::SelectOp::create(b, loc, inside, index(8), index(0));
      SmallVector<Value> dstIdx;
      if (stage)
        dstIdx.push_back(stage);
      dstIdx.append({r, col});
      nvgpu::DeviceAsyncCopyOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst, dstIdx,
          src, rowIndices(start, safeRow, head, col), b.getIndexAttr(8), count,
          /*bypassL1=*/b.getUnitAttr());
    }
  }

  Value commitGroup() {
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
  }

  /// K and V of the tile of step `t` into `stage`; a step past the last is
  /// zero-filled (keeps one group per iteration, so the wait count is fixed).
  /// Returns the tile.
  Value loadKV(Value t, Value stage) {
    Value kt = tileAt(t);
    Value row0 = mulIdx(kt, tileK);
    Value live =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, t, tileCount);
    Value rows = arith::SelectOp::create(b, loc, live, pos.seqK, index(0));
    loadTile(buf.k, kShared, stage, tileK, headDim, pos.hk, pos.kStart, row0,
             rows);
    loadTile(buf.v, vShared, stage, tileK, headDimV, pos.hk, pos.kStart, row0,
             rows);
    return kt;
  }

  void loadQFragments() {
    auto fragType = VectorType::get({4, 2}, elementType);
    Value row = addIdx(mulIdx(warp, kRowsPerWarp),
                       arith::RemUIOp::create(b, loc, lane, index(16)));
    Value colHalf = mulIdx(arith::DivUIOp::create(b, loc, lane, index(16)), 8);
    for (int64_t kk = 0; kk < headDim / 16; ++kk)
      qFrags.push_back(nvgpu::LdMatrixOp::create(
          b, loc, fragType, qShared,
          ValueRange{row, addIdx(colHalf, index(kk * 16))}, false, 4));
  }

  /// Step t of the kv schedule (its tile was found when it was prefetched);
  /// returns the next loop state.
  SmallVector<Value> iteration(Value t, ArrayRef<Value> state) {
    Value stage = arith::RemUIOp::create(b, loc, t, index(2));
    Value nextStage = arith::SubIOp::create(b, loc, index(1), stage);
    Value kt = state[state.size() - 2];
    // Prefetch step t + 1 while this one is computed.
    Value nextTile = loadKV(addIdx(t, index(1)), nextStage);
    Value nextGroup = commitGroup();
    nvgpu::DeviceAsyncWaitOp::create(b, loc, state.back(),
                                     b.getI32IntegerAttr(1));
    gpu::BarrierOp::create(b, loc);

    // S = Q K^T for 8 key blocks of 8.
    auto accType = VectorType::get({2, 2}, f32);
    auto bType = VectorType::get({2, 2}, elementType);
    Value zeroAcc = arith::ConstantOp::create(
        b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
    Value kRow = arith::RemUIOp::create(b, loc, lane, index(8));
    Value kCol = mulIdx(
        arith::RemUIOp::create(
            b, loc, arith::DivUIOp::create(b, loc, lane, index(8)), index(2)),
        8);
    SmallVector<Value> scores;
    for (int64_t n = 0; n < tileK / 8; ++n) {
      Value acc = zeroAcc;
      for (int64_t kk = 0; kk < headDim / 16; ++kk) {
        Value frag = nvgpu::LdMatrixOp::create(
            b, loc, bType, kShared,
            ValueRange{stage, addIdx(kRow, index(n * 8)),
                       addIdx(kCol, index(kk * 16))},
            false, 2);
        acc = mma(qFrags[kk], frag, acc);
      }
      scores.push_back(acc);
    }

    // Full tiles and partial tiles run separate code: the full branch has
    // no mask code at all (FA2's split of masked and unmasked iterations).
    Value k0 = mulIdx(kt, tileK);
    Value isFull = isFullTile(t, kt);
    SmallVector<Value> carried(state.drop_back(2));
    auto branch = scf::IfOp::create(b, loc, ValueRange(carried).getTypes(),
                                    isFull, /*withElseRegion=*/true);
    for (bool full : {true, false}) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(full ? branch.thenBlock()
                                      : branch.elseBlock());
      SmallVector<Value> yielded =
          softmaxAndPV(scores, k0, /*partial=*/!full, carried, stage);
      scf::YieldOp::create(b, loc, yielded);
    }
    SmallVector<Value> next(branch.getResults());
    // Every warp is done with this stage before it is refilled.
    gpu::BarrierOp::create(b, loc);
    next.push_back(nextTile);
    next.push_back(nextGroup);
    return next;
  }

  /// The online-softmax update and O += P V for one tile; `state` is
  /// (m0, m1, l0, l1, O...). Returns the next state.
  SmallVector<Value> softmaxAndPV(ArrayRef<Value> scores, Value k0,
                                  bool partial, ArrayRef<Value> state,
                                  Value stage) {
    auto accType = VectorType::get({2, 2}, f32);
    auto bType = VectorType::get({2, 2}, elementType);
    Value zeroAcc = arith::ConstantOp::create(
        b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
    // t = element(scale * s) * log2 e; keep[n][x][y] (null: kept).
    SmallVector<Value> t;
    SmallVector<std::array<Value, 4>> keep;
    bool element = hasElementCode(op, partial);
    TilePosition tilePos = pos;
    tilePos.k0 = k0;
    Value scaleLog2e = f(op.getEffectiveScale() * kLog2E);
    for (size_t n = 0; n < scores.size(); ++n) {
      std::array<Value, 4> flags = {};
      if (!element && !partial) {
        // Plain full tile: one vector multiply, nothing masked.
        Value splat = vector::BroadcastOp::create(b, loc, accType, scaleLog2e);
        t.push_back(arith::MulFOp::create(b, loc, scores[n], splat));
        keep.push_back(flags);
        continue;
      }
      Value tn = scores[n];
      for (int x = 0; x < 2; ++x)
        for (int y = 0; y < 2; ++y) {
          Value s = extract(scores[n], x, y);
          Value i = addIdx(pos.q0, addIdx(mulIdx(warp, kRowsPerWarp),
                                          addIdx(group, index(8 * x))));
          Value j = addIdx(k0, addIdx(index(8 * n + y), mulIdx(quad, 2)));
          Value kept;
          if (element) {
            s = arith::MulFOp::create(b, loc, s, f(op.getEffectiveScale()));
            std::tie(s, kept) =
                emitElement(b, op, buf, tilePos, partial, s, i, j);
            s = arith::MulFOp::create(b, loc, s, f(kLog2E));
          } else {
            s = arith::MulFOp::create(b, loc, s, scaleLog2e);
          }
          if (partial) {
            Value inRange = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::slt, j, pos.seqK);
            kept = kept ? Value(arith::AndIOp::create(b, loc, kept, inRange))
                        : inRange;
          }
          flags[2 * x + y] = kept;
          tn = vector::InsertOp::create(b, loc, s, tn, ArrayRef<int64_t>{x, y});
        }
      t.push_back(tn);
      keep.push_back(flags);
    }

    // Online softmax for rows g (x = 0) and g + 8 (x = 1).
    auto masked = [&](size_t n, int x, int y, Value v, Value otherwise) {
      Value k = keep[n][2 * x + y];
      return k ? Value(arith::SelectOp::create(b, loc, k, v, otherwise)) : v;
    };
    SmallVector<Value> next;
    Value mNew[2], corr[2], apply[2] = {};
    for (int x = 0; x < 2; ++x) {
      Value rowMax = f(-FLT_MAX);
      for (size_t n = 0; n < t.size(); ++n)
        for (int y = 0; y < 2; ++y)
          rowMax = arith::MaximumFOp::create(
              b, loc, rowMax,
              masked(n, x, y, extract(t[n], x, y), f(-FLT_MAX)));
      rowMax = quadReduce(rowMax, /*max=*/true);
      mNew[x] = arith::MaximumFOp::create(b, loc, state[x], rowMax);
      if (sparseThreshold) {
        // Sparse softmax: a tile whose largest weight exp(max s - m') is
        // below the threshold leaves the row's m, l and acc untouched.
        apply[x] = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OGE,
            exp2(arith::SubFOp::create(b, loc, rowMax, mNew[x])),
            sparseThreshold);
        mNew[x] = arith::SelectOp::create(b, loc, apply[x], mNew[x], state[x]);
      }
      corr[x] = exp2(arith::SubFOp::create(b, loc, state[x], mNew[x]));
    }
    SmallVector<Value> probs;
    Value rowSum[2] = {f(0.0), f(0.0)};
    for (size_t n = 0; n < t.size(); ++n) {
      Value p = zeroAcc;
      for (int x = 0; x < 2; ++x)
        for (int y = 0; y < 2; ++y) {
          Value e =
              exp2(arith::SubFOp::create(b, loc, extract(t[n], x, y), mNew[x]));
          e = masked(n, x, y, e, f(0.0));
          if (apply[x])
            e = arith::SelectOp::create(b, loc, apply[x], e, f(0.0));
          rowSum[x] = arith::AddFOp::create(b, loc, rowSum[x], e);
          p = vector::InsertOp::create(b, loc, e, p, ArrayRef<int64_t>{x, y});
        }
      probs.push_back(p);
    }
    next.push_back(mNew[0]);
    next.push_back(mNew[1]);
    for (int x = 0; x < 2; ++x)
      next.push_back(arith::AddFOp::create(
          b, loc, arith::MulFOp::create(b, loc, state[2 + x], corr[x]),
          rowSum[x]));

    // O = O * corr + P V; the accumulators of key blocks 2kb and 2kb+1 are
    // the A operand of k-block kb.
    SmallVector<Value> outAcc;
    for (int64_t nd = 0; nd < headDimV / 8; ++nd)
      outAcc.push_back(rescale(state[4 + nd], corr[0], corr[1]));
    auto aType = VectorType::get({4, 2}, elementType);
    Value vRow = arith::RemUIOp::create(b, loc, lane, index(16));
    Value zeroA = arith::ConstantOp::create(
        b, loc, aType,
        DenseElementsAttr::get(
            aType, APFloat::getZero(
                       cast<FloatType>(elementType).getFloatSemantics())));
    for (int64_t kb = 0; kb < tileK / 16; ++kb) {
      Value a = zeroA;
      int64_t slot = 0;
      for (int64_t half = 0; half < 2; ++half)
        for (int x = 0; x < 2; ++x) {
          Value pair = vector::ExtractOp::create(b, loc, probs[2 * kb + half],
                                                 ArrayRef<int64_t>{x});
          Value narrow = arith::TruncFOp::create(
              b, loc, VectorType::get({2}, elementType), pair);
          a = vector::InsertOp::create(b, loc, narrow, a,
                                       ArrayRef<int64_t>{slot++});
        }
      for (int64_t nd = 0; nd < headDimV / 8; ++nd) {
        Value frag = nvgpu::LdMatrixOp::create(
            b, loc, bType, vShared,
            ValueRange{stage, addIdx(vRow, index(kb * 16)), index(nd * 8)},
            true, 2);
        outAcc[nd] = mma(a, frag, outAcc[nd]);
      }
    }
    next.append(outAcc.begin(), outAcc.end());
    return next;
  }

  /// acc += a * b on one m16n8k16 tensor-core tile (a: 4x2, b: 2x2 of the
  /// element type, acc: 2x2 f32 per thread). f16 goes through
  /// nvgpu.mma.sync; nvgpu cannot type bf16 operands, so bf16 goes straight
  /// to nvvm.mma.sync on the same register fragments reinterpreted as i32
  /// pairs (the PTX instruction's own operand form).
  Value mma(Value a, Value bFrag, Value acc) {
    if (elementType.isF16())
      return nvgpu::MmaSyncOp::create(b, loc, a, bFrag, acc,
                                      ArrayRef<int64_t>{16, 8, 16});
    auto packed = [&](Value fragment, int64_t rows) {
      SmallVector<Value> regs;
      for (int64_t r = 0; r < rows; ++r)
        regs.push_back(LLVM::BitcastOp::create(
            b, loc, b.getI32Type(),
            vector::ExtractOp::create(b, loc, fragment, ArrayRef<int64_t>{r})));
      return regs;
    };
    SmallVector<Value> c;
    for (int x = 0; x < 2; ++x)
      for (int y = 0; y < 2; ++y)
        c.push_back(extract(acc, x, y));
    auto resultType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(4, f32));
    Value d = NVVM::MmaOp::create(
        b, loc, resultType, packed(a, 4), packed(bFrag, 2), c,
        ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                      NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    for (int x = 0; x < 2; ++x)
      for (int y = 0; y < 2; ++y)
        acc = vector::InsertOp::create(
            b, loc,
            LLVM::ExtractValueOp::create(b, loc, d,
                                         ArrayRef<int64_t>{2 * x + y}),
            acc, ArrayRef<int64_t>{x, y});
    return acc;
  }

  Value extract(Value vec, int64_t x, int64_t y) {
    return vector::ExtractOp::create(b, loc, vec, ArrayRef<int64_t>{x, y});
  }

  Value rescale(Value acc, Value c0, Value c1) {
    for (int x = 0; x < 2; ++x)
      for (int y = 0; y < 2; ++y)
        acc = vector::InsertOp::create(
            b, loc,
            arith::MulFOp::create(b, loc, extract(acc, x, y), x ? c1 : c0), acc,
            ArrayRef<int64_t>{x, y});
    return acc;
  }

  /// Reduces over the 4 lanes that share a row (xor 1, xor 2).
  Value quadReduce(Value v, bool max) {
    for (int32_t offset : {1, 2}) {
      Value other =
          gpu::ShuffleOp::create(b, loc, v, offset, 32, gpu::ShuffleMode::XOR)
              .getShuffleResult();
      v = max ? Value(arith::MaximumFOp::create(b, loc, v, other))
              : Value(arith::AddFOp::create(b, loc, v, other));
    }
    return v;
  }

  void finalize(ArrayRef<Value> results) {
    Value m[2] = {results[0], results[1]};
    Value l[2] = {quadReduce(results[2], false), quadReduce(results[3], false)};
    Value factor[2] = {f(1.0), f(1.0)};
    if (buf.sinks) {
      Value sink = memref::LoadOp::create(b, loc, buf.sinks, ValueRange{pos.h});
      if (!sink.getType().isF32())
        sink = arith::ExtFOp::create(b, loc, f32, sink);
      Value ts = arith::MulFOp::create(b, loc, sink, f(kLog2E));
      for (int x = 0; x < 2; ++x) {
        Value mNew = arith::MaximumFOp::create(b, loc, m[x], ts);
        factor[x] = exp2(arith::SubFOp::create(b, loc, m[x], mNew));
        l[x] = arith::AddFOp::create(
            b, loc, arith::MulFOp::create(b, loc, l[x], factor[x]),
            exp2(arith::SubFOp::create(b, loc, ts, mNew)));
        m[x] = mNew;
      }
    }
    for (int x = 0; x < 2; ++x) {
      Value row = addIdx(pos.q0, addIdx(mulIdx(warp, kRowsPerWarp),
                                        addIdx(group, index(8 * x))));
      // Rows past seqused_q (inside the sequence's rows) keep no key.
      Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                           row, pos.layoutSeqQ);
      Value any = arith::AndIOp::create(
          b, loc,
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l[x],
                                f(0.0)),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row,
                                pos.seqQ));
      Value inverse = arith::SelectOp::create(
          b, loc, any, arith::DivFOp::create(b, loc, factor[x], l[x]), f(0.0));
      auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      for (int64_t nd = 0; nd < headDimV / 8; ++nd)
        for (int y = 0; y < 2; ++y) {
          Value col = addIdx(index(nd * 8 + y), mulIdx(quad, 2));
          Value value = arith::MulFOp::create(
              b, loc, extract(results[4 + nd], x, y), inverse);
          value = arith::TruncFOp::create(b, loc, elementType, value);
          memref::StoreOp::create(b, loc, value, buf.out,
                                  rowIndices(pos.qStart, row, pos.h, col));
        }
      if (buf.lse) {
        Value isLeader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                               quad, index(0));
        auto leader = scf::IfOp::create(b, loc, isLeader, false);
        b.setInsertionPointToStart(leader.thenBlock());
        Value lse = arith::MulFOp::create(
            b, loc, arith::AddFOp::create(b, loc, m[x], log2(l[x])), f(kLn2));
        lse = arith::SelectOp::create(b, loc, any, lse, f(-INFINITY));
        SmallVector<Value> at = {pos.h, addIdx(pos.qStart, row)};
        if (!op.isVarlen())
          at = {pos.b, pos.h, row};
        memref::StoreOp::create(b, loc, lse, buf.lse, at);
      }
    }
  }

  OpBuilder &b;
  Location loc;
  AttentionOp op;
  const AttentionBuffers &buf;
  /// The tile sizes of the lowering config: query rows per CTA, keys per
  /// kv step, warps.
  const int64_t tileQ, tileK, numWarps;
  ProblemShape shape;
  Type elementType, f32;
  int64_t headDim, headDimV, pitch, pitchV;
  TilePosition pos;
  Value tid, warp, lane, group, quad;
  Value qShared, kShared, vShared;
  /// The kv schedule: steps [0, tileCount), the tile of a step, and whether
  /// a step's tile runs the mask-free code.
  Value tileCount;
  std::function<Value(Value)> tileAt;
  std::function<Value(Value, Value)> isFullTile;
  /// The sparse-softmax threshold of this sequence (null without).
  Value sparseThreshold;
  SmallVector<Value> qFrags;
};

struct GPUKernelsPass : public attn::impl::AttnGPUKernelsBase<GPUKernelsPass> {
  using AttnGPUKernelsBase::AttnGPUKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<GpuTarget> target = lookupGpuTarget(chip);
    if (!target) {
      mlir::emitError(module.getLoc(), "attn-gpu-kernels: ")
          << llvm::toString(target.takeError());
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs)
      if (failed(convert(module, func, *target)))
        return signalPassFailure();
  }

  LogicalResult convert(ModuleOp module, func::FuncOp func,
                        const GpuTarget &target) {
    SmallVector<AttentionOp> ops;
    func.walk([&](AttentionOp op) { ops.push_back(op); });
    if (ops.empty())
      return success();
    if (ops.size() != 1)
      return func.emitError(
          "attn-gpu-kernels: one attn.attention per function");
    AttentionOp op = ops.front();
    if (std::string why = unsupportedReason(op); !why.empty())
      return op.emitError("attn-gpu-kernels: ") << why;
    std::string why;
    FailureOr<LoweringConfigAttr> config =
        chooseConfig(op, target, blockQ, blockK, why);
    if (failed(config))
      return op.emitError("attn-gpu-kernels: ") << why;
    auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    if (ret.getOperands() != ValueRange(op.getResults()))
      return func.emitError("attn-gpu-kernels: the function must return the "
                            "attn.attention results directly");

    // Kernel parameters: function arguments, then results, as memrefs.
    SmallVector<Type> params;
    for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                           func.getResultTypes())) {
      auto tensor = dyn_cast<RankedTensorType>(t);
      if (!tensor)
        return func.emitError("attn-gpu-kernels: arguments and results must be "
                              "ranked tensors");
      params.push_back(
          MemRefType::get(tensor.getShape(), tensor.getElementType()));
    }

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    Location loc = func.getLoc();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    auto gpuModule =
        gpu::GPUModuleOp::create(b, loc, (func.getName() + "_kernels").str());
    b.setInsertionPointToStart(gpuModule.getBody());
    auto kernel =
        gpu::GPUFuncOp::create(b, loc, (func.getName() + "_kernel").str(),
                               b.getFunctionType(params, {}));
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    ProblemShape shape = op.getProblemShape();
    int64_t shared = sharedBytes(shape.headDim, shape.headDimV, *config);
    int64_t threads = 32 * config->getWarps();
    kernel->setAttr(kKernelConfigAttr, *config);
    kernel->setAttr(kKernelBlockAttr, b.getDenseI64ArrayAttr({threads, 1, 1}));
    kernel->setAttr(kKernelSharedBytesAttr, b.getI64IntegerAttr(shared));
    kernel.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));

    // Map the op's operands to kernel arguments.
    Block &entry = kernel.getBody().front();
    auto argFor = [&](Value tensor) -> Value {
      if (!tensor)
        return nullptr;
      if (auto arg = dyn_cast<BlockArgument>(tensor);
          arg && arg.getOwner() == &func.getBody().front())
        return entry.getArgument(arg.getArgNumber());
      return nullptr;
    };
    AttentionBuffers buf;
    buf.q = argFor(op.getQ());
    buf.k = argFor(op.getK());
    buf.v = argFor(op.getV());
    buf.cuSeqlensQ = argFor(op.getCuSeqlensQ());
    buf.cuSeqlensK = argFor(op.getCuSeqlensK());
    buf.sequsedQ = argFor(op.getSequsedQ());
    buf.sequsedK = argFor(op.getSequsedK());
    buf.docIdsQ = argFor(op.getDocIdsQ());
    buf.docIdsKv = argFor(op.getDocIdsKv());
    buf.customMask = argFor(op.getCustomMask());
    buf.alibiSlopes = argFor(op.getAlibiSlopes());
    buf.bias = argFor(op.getBias());
    buf.kvNumBlocks = argFor(op.getKvNumBlocks());
    buf.kvIndices = argFor(op.getKvIndices());
    buf.fullKvNumBlocks = argFor(op.getFullKvNumBlocks());
    buf.fullKvIndices = argFor(op.getFullKvIndices());
    buf.sinks = argFor(op.getSinks());
    buf.gateAlpha = argFor(op.getGateAlpha());
    buf.gateDelta = argFor(op.getGateDelta());
    for (Value operand : op->getOperands())
      if (!argFor(operand))
        return op.emitError("attn-gpu-kernels: every attn.attention operand "
                            "must be an argument of the function");
    buf.captured = [&func, &entry](Value tensor) -> Value {
      auto arg = dyn_cast<BlockArgument>(tensor);
      if (!arg || arg.getOwner() != &func.getBody().front())
        return nullptr;
      return entry.getArgument(arg.getArgNumber());
    };
    unsigned numArgs = func.getNumArguments();
    buf.out = entry.getArgument(numArgs);
    if (op.getLse())
      buf.lse = entry.getArgument(numArgs + 1);
    // The ABI, on the parameters themselves: each one's name (its operand
    // or result, or a region capture) and, for the tensors read 16 bytes
    // at a time by cp.async (q, k, v), their alignment.
    for (unsigned i = 0; i < numArgs; ++i)
      kernel.setArgAttr(i, kKernelParamNameAttr,
                        b.getStringAttr("capture" + std::to_string(i)));
    for (auto [name, value] : op.getNamedOperands())
      kernel.setArgAttr(cast<BlockArgument>(value).getArgNumber(),
                        kKernelParamNameAttr, b.getStringAttr(name));
    kernel.setArgAttr(numArgs, kKernelParamNameAttr, b.getStringAttr("out"));
    if (op.getLse())
      kernel.setArgAttr(numArgs + 1, kKernelParamNameAttr,
                        b.getStringAttr("lse"));
    for (Value vectorized : {op.getQ(), op.getK(), op.getV()})
      kernel.setArgAttr(cast<BlockArgument>(vectorized).getArgNumber(),
                        kKernelParamAlignAttr, b.getI64IntegerAttr(16));
    // grid = (ceil(Sq / block_q), Hq, B), from q (parameter index of q);
    // varlen: (ceil(T / block_q), Hq, B + 1) from q and cu_seqlens_q.
    int64_t qParam = cast<BlockArgument>(op.getQ()).getArgNumber();
    int64_t batchParam = qParam;
    int64_t rowDim = op.getLayout() == Layout::bhsd ? 2 : 1;
    if (op.isVarlen()) {
      batchParam = cast<BlockArgument>(op.getCuSeqlensQ()).getArgNumber();
      rowDim = 0;
    }
    kernel->setAttr(kKernelGridAttr,
                    b.getDenseI64ArrayAttr({qParam, rowDim, config->getBlockQ(),
                                            -1, 0, op.getProblemShape().headsQ,
                                            batchParam, 0, 1}));

    b.setInsertionPointToStart(&entry);
    KernelBuilder(b, op.getLoc(), op, buf, *config).build();
    b.setInsertionPointToEnd(&entry); // build() may end inside an scf.if
    gpu::ReturnOp::create(b, loc);
    func.erase();
    return success();
  }
};
} // namespace
