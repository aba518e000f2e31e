//===- Sm80Pipeline.cpp - sm80 kernel: set-up, loop, copies ---------------===//

#include "Sm80KernelBuilder.h"
#include "TensorMaps.h"
#include "Wgmma.h"

#include "attn/Transforms/RotaryEmbedding.h"

#include <cfloat>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

void KernelBuilder::build() {
  f32 = b.getF32Type();
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  warp = arith::DivUIOp::create(b, loc, tid, index(32));
  if (kvWarps > 1) {
    // Warps w and w + rowWarps hold the same rows, other keys of a tile.
    int64_t rowWarps = numWarps / kvWarps;
    kvWarp = arith::DivUIOp::create(b, loc, warp, index(rowWarps));
    warp = arith::RemUIOp::create(b, loc, warp, index(rowWarps));
    kvKey0 = mulIdx(kvWarp, tileK / kvWarps);
  }
  lane = arith::RemUIOp::create(b, loc, tid, index(32));
  group = arith::DivUIOp::create(b, loc, lane, index(4));
  quad = arith::RemUIOp::create(b, loc, lane, index(4));
  this->tid = tid;
  loadThread = tid;
  loadThreads = 32 * numWarps;
  if (producerWarps)
    return buildSpecializedLoop();
  setUpTile();
  if (wgmma)
    return buildWgmmaLoop();
  buildSm80Loop();
}

void KernelBuilder::setUpTile() {
  pos.b = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  if (packedHeads) {
    // Decode: grid (splits, Hkv, B); the tile holds every query row of
    // the kv head's query heads, so q0 = 0 and the head varies by row.
    pos.hk = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    pos.h = mulIdx(pos.hk, packedHeads);
    pos.q0 = index(0);
  } else {
    pos.h = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value tiles = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
    Value qt = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    // Block lists keep one head's tiles together: the neighbouring query
    // blocks of a window or a document list the same key blocks, and read
    // them from L2 (H100, FlexAttention gallery A/B: document6 and
    // sliding windows 2-4% faster so, causal lists 3-5% slower).
    if (!op.isVarlen() && !op.isPagedKv() && !op.getBlockSparseAttr())
      orderTilesInHeadGroups(qt);
    pos.hk = arith::DivUIOp::create(b, loc, pos.h,
                                    index(shape.headsQ / shape.headsKV));
    // Query tiles in reverse order: under a causal mask the last tiles see
    // the most keys, and launched first they do not leave a tail of long
    // CTAs after the short ones (FlashAttention's order).
    Value last = arith::SubIOp::create(b, loc, tiles, index(1));
    pos.q0 = arith::MulIOp::create(
        b, loc, arith::SubIOp::create(b, loc, last, qt), index(tileQ));
  }
  pos.maskBase = index(0);
  // Varlen: the grid covers the longest possible sequence (all T rows)
  // for each of B + 1 batch slots; CTAs past the batch or past their
  // sequence's rows leave at once. Rows in [seqused_q, len) are still
  // written (out 0, lse -inf).
  if (op.isVarlen()) {
    Value batch = arith::SubIOp::create(
        b, loc, memref::DimOp::create(b, loc, buf.cuSeqlensQ, 0), index(1));
    exitUnless(
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pos.b, batch));
  }
  emitSequenceBounds(b, loc, op, buf, pos);
  // A varlen custom mask holds the sequences' matrices one after another.
  if (op.isVarlen() && buf.customMask)
    pos.maskBase = emitVarlenMaskBase(b, loc, op, buf, pos.b);
  if (op.isVarlen())
    exitUnless(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pos.q0,
                                     pos.layoutSeqQ));
  sparseThreshold = emitSparseThreshold(b, loc, op, pos);

  createSharedViews();
  if (fp8 != Fp8Read::none) {
    auto scaleOf = [&](Value scale) -> Value {
      if (!scale)
        return f(1.0);
      return memref::LoadOp::create(b, loc, scale, ValueRange{index(0)});
    };
    kScale = scaleOf(buf.kScale);
    vScale = scaleOf(buf.vScale);
  }
  // With a producer warpgroup, the producer loads Q (Sm90WarpSpecialized).
  if (!producerWarps)
    qGroup = loadQ();

  if (op.getBlockSparseAttr())
    scheduleListedBlocks();
  else
    scheduleKvRange();
  if (workspace && !scheduleIsSplit)
    splitSchedule();
  // A tile wholly past seqused_q attends to nothing.
  tileCount = arith::SelectOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pos.q0,
                            pos.seqQ),
      tileCount, index(0));
}

void KernelBuilder::buildSm80Loop() {
  // Prologue: steps 0 .. S-2 into stages 0 .. S-2, a cp.async group each.
  SmallVector<Value> tiles, groups;
  for (int64_t p = 0; p + 1 < numStages; ++p) {
    tiles.push_back(loadKV(index(p), index(p)));
    groups.push_back(commitGroup());
  }
  nvgpu::DeviceAsyncWaitOp::create(b, loc, qGroup,
                                   b.getI32IntegerAttr(numStages - 1));
  sharedBarrier();
  if (RopeAttr rope = op.getRopeAttr()) {
    rotateSharedTile(qShared, nullptr, tileQ, [&](Value r) {
      return emitRopeQueryPosition(b, loc, rope, pos, queryRow(r).first);
    });
    gpu::BarrierOp::create(b, loc);
  }
  loadQFragments();

  // Loop state: m and l for rows g and g + 8, the O accumulators, the
  // tiles of steps t .. t+S-2 and their cp.async groups.
  SmallVector<Value> init = {f(-FLT_MAX), f(-FLT_MAX), f(0.0), f(0.0)};
  auto accType = VectorType::get({2, 2}, f32);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
  for (int64_t n = 0; n < headDimV / 8; ++n)
    init.push_back(zeroAcc);
  init.append(tiles.begin(), tiles.end());
  init.append(groups.begin(), groups.end());
  auto loop = scf::ForOp::create(b, loc, index(0), tileCount, index(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> state(loop.getRegionIterArgs());
    SmallVector<Value> next = iteration(loop.getInductionVar(), state);
    scf::YieldOp::create(b, loc, next);
  }
  SmallVector<Value> results(loop.getResults());
  if (kvWarps == 1)
    return finalize(results);
  SmallVector<Value> merged = mergeKvWarps(results, results.back());
  auto first = scf::IfOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kvWarp, index(0)),
      /*withElseRegion=*/false);
  b.setInsertionPointToStart(first.thenBlock());
  finalize(merged);
}

void KernelBuilder::createSharedViews() {
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                   MemRefLayoutAttrInterface{}, workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
  sharedBase = smem;
  if (wgmma) {
    // Swizzle panels must start 1024-byte aligned: skip to the next
    // boundary (sharedBytes reserves the slack).
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, smem);
    Value pad = arith::RemUIOp::create(
        b, loc,
        arith::SubIOp::create(
            b, loc, index(1024),
            arith::RemUIOp::create(b, loc, base, index(1024))),
        index(1024));
    auto flat = [&](int64_t elements, int64_t offsetBytes, Value &address) {
      Value shift = addIdx(pad, index(offsetBytes));
      address = addIdx(base, shift);
      auto type = MemRefType::get({elements}, elementType,
                                  MemRefLayoutAttrInterface{}, workgroup);
      return memref::ViewOp::create(b, loc, type, smem, shift, ValueRange{})
          .getResult();
    };
    sm90::SharedTiles tiles = sm90::sharedTiles(
        tileQ, tileK, numStages, headDim, headDimV,
        sm90::mbarrierCount(numStages, producerWarps,
                            sm90::producerRotatesTiles(op, config)));
    if (producerWarps)
      barrierAddress = addIdx(base, addIdx(pad, index(tiles.barriers)));
    qShared = flat(tileQ * headDim, tiles.q, qAddress);
    kShared = flat(numStages * tileK * headDim, tiles.k, kAddress);
    vShared = flat(numStages * tileK * headDimV, tiles.v, vAddress);
    return;
  }
  auto view = [&](ArrayRef<int64_t> dims, int64_t offsetBytes) -> Value {
    auto type = MemRefType::get(dims, elementType, MemRefLayoutAttrInterface{},
                                workgroup);
    return memref::ViewOp::create(b, loc, type, smem, index(offsetBytes),
                                  ValueRange{});
  };
  int64_t tileBytes = tileQ * pitch * 2;
  // An fp8 cache stages bytes; the MMAs read one dequantized K/V tile
  // (pass) or none (fragments: converted from the bytes).
  int64_t mmaStages = fp8 == Fp8Read::none   ? numStages
                      : fp8 == Fp8Read::pass ? 1
                                             : 0;
  qShared = view({tileQ, pitch}, 0);
  int64_t vBytes = tileBytes + mmaStages * tileK * pitch * 2;
  int64_t stagingBytes = vBytes + mmaStages * tileK * pitchV * 2;
  if (mmaStages) {
    kShared = view({mmaStages, tileK, pitch}, tileBytes);
    vShared = view({mmaStages, tileK, pitchV}, vBytes);
  }
  if (fp8 == Fp8Read::none)
    return;
  // Byte staging tiles after them (Sm80Config's sharedBytes counts them),
  // rows padded to fp8Pitch: the copies write f8E4M3FN values, the pass
  // reads 32-bit words of 4 values, the fragment loads 16-bit pairs of K
  // and single bytes of V.
  int64_t kPitch8 = fp8Pitch(headDim), vPitch8 = fp8Pitch(headDimV);
  int64_t vStageBytes = stagingBytes + numStages * tileK * kPitch8;
  auto typed = [&](Type element, int64_t pitchBytes, int64_t at) {
    int64_t perElement = element.getIntOrFloatBitWidth() / 8;
    auto type =
        MemRefType::get({numStages, tileK, pitchBytes / perElement}, element,
                        MemRefLayoutAttrInterface{}, workgroup);
    return memref::ViewOp::create(b, loc, type, smem, index(at), ValueRange{})
        .getResult();
  };
  Type f8 = op.getK().getType().getElementType();
  kStaging = typed(f8, kPitch8, stagingBytes);
  vStaging = typed(f8, vPitch8, vStageBytes);
  if (fp8 == Fp8Read::pass) {
    kWords = typed(b.getI32Type(), kPitch8, stagingBytes);
    vWords = typed(b.getI32Type(), vPitch8, vStageBytes);
  } else {
    kHalves = typed(b.getI16Type(), kPitch8, stagingBytes);
    vBytes8 = typed(b.getI8Type(), vPitch8, vStageBytes);
  }
}

/// Continues only where `cond` holds: the rest of the kernel body is built
/// inside an scf.if (a CTA with nothing to do returns at once).
void KernelBuilder::exitUnless(Value cond) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifOp.thenBlock());
}

void KernelBuilder::emitIf(Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}

std::pair<Value, Value> KernelBuilder::queryRow(Value tileRow) {
  if (!packedHeads)
    return {addIdx(pos.q0, tileRow), pos.h};
  return {arith::DivUIOp::create(b, loc, tileRow, index(packedHeads)),
          addIdx(pos.h,
                 arith::RemUIOp::create(b, loc, tileRow, index(packedHeads)))};
}

/// Indices of (sequence row `row`, head, column) in a [B, S, H, D] or
/// [B, H, S, D] tensor, or in a packed varlen [T, H, D] one whose sequence
/// starts at `start`.
SmallVector<Value> KernelBuilder::rowIndices(Value start, Value row, Value head,
                                             Value col) {
  if (op.isVarlen())
    return {addIdx(start, row), head, col};
  if (op.getLayout() == Layout::bhsd)
    return {pos.b, head, row, col};
  return {pos.b, row, head, col};
}

void KernelBuilder::loadTile(
    Value src, Value dst, Value stage, int64_t tileRows, int64_t dim,
    Value start, Value rows, function_ref<std::pair<Value, Value>(Value)> rowOf,
    function_ref<SmallVector<Value>(Value, Value, Value)> indicesOf) {
  // A cp.async moves 16 bytes: 8 halves, or 16 bytes of an fp8 cache.
  int64_t chunkElements =
      128 / cast<MemRefType>(dst.getType()).getElementTypeBitWidth();
  int64_t chunksPerRow = dim / chunkElements;
  int64_t perThread = tileRows * chunksPerRow / loadThreads;
  // Copy `it` of this thread moves chunk loadThread + it * loadThreads.
  // Where the loading threads cover whole rows, its row is this thread's
  // first row plus it * (rows per pass) and its column never changes: the
  // address arithmetic of a copy is then a few adds.
  bool wholeRows = copiesCoverWholeRows(dim, loadThreads, chunkElements);
  Value firstRow, threadCol;
  if (wholeRows) {
    firstRow = arith::DivUIOp::create(b, loc, loadThread, index(chunksPerRow));
    threadCol =
        mulIdx(arith::RemUIOp::create(b, loc, loadThread, index(chunksPerRow)),
               chunkElements);
  }
  auto copy = [&](Value it) {
    Value r, col = threadCol;
    if (wholeRows) {
      r = addIdx(firstRow, mulIdx(it, loadThreads / chunksPerRow));
    } else {
      Value chunk = addIdx(loadThread, mulIdx(it, loadThreads));
      r = arith::DivUIOp::create(b, loc, chunk, index(chunksPerRow));
      col = mulIdx(arith::RemUIOp::create(b, loc, chunk, index(chunksPerRow)),
                   chunkElements);
    }
    auto [row, head] = rowOf(r);
    Value inside =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row, rows);
    // Out-of-range rows read nothing (zero fill) from a clamped address.
    Value safeRow = arith::SelectOp::create(b, loc, inside, row, index(0));
    Value count =
        arith::SelectOp::create(b, loc, inside, index(chunkElements), index(0));
    SmallVector<Value> dstIdx = sharedTileIndices(stage, r, col, tileRows, dim);
    SmallVector<Value> srcIdx = indicesOf
                                    ? indicesOf(safeRow, head, col)
                                    : rowIndices(start, safeRow, head, col);
    nvgpu::DeviceAsyncCopyOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst, dstIdx,
        src, srcIdx, b.getIndexAttr(chunkElements), count,
        /*bypassL1=*/b.getUnitAttr());
  };
  // A producer warpgroup has few registers: a rolled loop keeps one copy's
  // addresses live instead of every copy's.
  if (producerWarps) {
    auto loop =
        scf::ForOp::create(b, loc, index(0), index(perThread), index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    copy(loop.getInductionVar());
    return;
  }
  for (int64_t it = 0; it < perThread; ++it)
    copy(index(it));
}

Value KernelBuilder::loadQ() {
  loadTile(buf.q, qShared, nullptr, tileQ, headDim, pos.qStart, pos.seqQ,
           [this](Value r) { return queryRow(r); });
  return commitGroup();
}

Value KernelBuilder::commitGroup() {
  return nvgpu::DeviceAsyncCreateGroupOp::create(
      b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
}

/// K and V of the tile of step `t` into `stage`; a step past the last is
/// zero-filled (keeps one group per iteration, so the wait count is fixed).
/// Returns the tile.
Value KernelBuilder::loadKV(Value t, Value stage, KVPart part) {
  Value kt = tileAt(t);
  Value row0 = mulIdx(kt, tileK);
  Value live =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, t, tileCount);
  Value rows = arith::SelectOp::create(b, loc, live, pos.seqK, index(0));
  auto keyRow = [&](Value r) -> std::pair<Value, Value> {
    return {addIdx(row0, r), pos.hk};
  };
  bool withK = part != KVPart::v, withV = part != KVPart::k;
  // An fp8 cache lands in the byte staging tiles (SharedDequant.cpp).
  bool bytes = fp8 != Fp8Read::none;
  Value kDst = bytes ? kStaging : kShared, vDst = bytes ? vStaging : vShared;
  if (!op.isPagedKv()) {
    if (withK)
      loadTile(buf.k, kDst, stage, tileK, headDim, pos.kStart, rows, keyRow);
    if (withV)
      loadTile(buf.v, vDst, stage, tileK, headDimV, pos.kStart, rows, keyRow);
    return kt;
  }
  // A paged cache: the pages the tile spans are looked up once (K and V
  // share them); a row takes its page by position. Pages past the keys are
  // not looked up (their rows are zero-filled).
  int64_t pageSize = op.getPagedKvAttr().getPageSize();
  int64_t span = tileK % pageSize == 0   ? tileK / pageSize
                 : pageSize % tileK == 0 ? 1
                                         : tileK / pageSize + 2;
  Value firstPage = arith::DivUIOp::create(b, loc, row0, index(pageSize));
  SmallVector<Value> pages;
  for (int64_t p = 0; p < span; ++p) {
    Value key = mulIdx(addIdx(firstPage, index(p)), pageSize);
    Value valid =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, key, rows);
    pages.push_back(emitKeyPage(b, loc, op, buf, pos, key, valid));
  }
  auto pagedIndices = [&](Value row, Value head,
                          Value col) -> SmallVector<Value> {
    Value which = arith::SubIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, row, index(pageSize)),
        firstPage);
    Value page = pages.front();
    for (int64_t p = 1; p < span; ++p)
      page = arith::SelectOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, which,
                                index(p)),
          pages[p], page);
    return pagedKeyIndices(op, page,
                           arith::RemUIOp::create(b, loc, row, index(pageSize)),
                           head, col);
  };
  if (withK)
    loadTile(buf.k, kDst, stage, tileK, headDim, pos.kStart, rows, keyRow,
             pagedIndices);
  if (withV)
    loadTile(buf.v, vDst, stage, tileK, headDimV, pos.kStart, rows, keyRow,
             pagedIndices);
  return kt;
}

void KernelBuilder::asyncProxyFence() {
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}

void KernelBuilder::sharedBarrier() {
  if (wgmma)
    asyncProxyFence();
  gpu::BarrierOp::create(b, loc);
}

void KernelBuilder::loadQFragments() {
  auto fragType = VectorType::get({4, 2}, elementType);
  Value row = addIdx(mulIdx(warp, kRowsPerWarp),
                     arith::RemUIOp::create(b, loc, lane, index(16)));
  Value colHalf = mulIdx(arith::DivUIOp::create(b, loc, lane, index(16)), 8);
  for (int64_t kk = 0; kk < headDim / 16; ++kk)
    qFrags.push_back(nvgpu::LdMatrixOp::create(
        b, loc, fragType, qShared,
        ValueRange{row, addIdx(colHalf, index(kk * 16))}, false, 4));
}

void KernelBuilder::forEachTileUnit(int64_t rows, int64_t perRow,
                                    function_ref<void(Value, Value)> body,
                                    function_ref<void(Value)> columnSetUp,
                                    int64_t maxUnrolled) {
  int64_t threads = loadThreads;
  int64_t units = rows * perRow;
  int64_t perThread = (units + threads - 1) / threads;
  // Where the threads divide a row's units, each thread keeps one column
  // and steps by whole rows; a warp then covers consecutive units of a row
  // (consecutive 4-byte words: no bank conflicts).
  bool fixedColumn = threads % perRow == 0;
  Value column, firstRow = divIdx(loadThread, index(perRow));
  if (fixedColumn) {
    column = remIdx(loadThread, index(perRow));
    if (columnSetUp)
      columnSetUp(column);
  }
  auto unitAt = [&](Value it) -> std::pair<Value, Value> {
    if (fixedColumn)
      return {addIdx(firstRow, mulIdx(it, threads / perRow)), column};
    Value unit = addIdx(loadThread, mulIdx(it, threads));
    return {divIdx(unit, index(perRow)), remIdx(unit, index(perRow))};
  };
  auto visit = [&](Value it) {
    auto [r, c] = unitAt(it);
    if (!fixedColumn && columnSetUp)
      columnSetUp(c);
    body(r, c);
  };
  // Many units per thread (decode: one warp rewrites a whole K tile): a
  // rolled loop, or the unrolled units' values all live at once (the d128
  // decode kernel with rope: 255 registers instead of 177).
  if (perThread > maxUnrolled && units % threads == 0) {
    auto loop =
        scf::ForOp::create(b, loc, index(0), index(perThread), index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    visit(loop.getInductionVar());
    return;
  }
  for (int64_t it = 0; it < perThread; ++it) {
    if ((it + 1) * threads <= units) {
      visit(index(it));
      continue;
    }
    // The last round: threads past the tile's units do nothing.
    Value unit = addIdx(loadThread, index(it * threads));
    auto inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, unit,
                                        index(units));
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    visit(index(it));
  }
}

SmallVector<Value> KernelBuilder::sharedTileIndices(Value stage, Value r,
                                                    Value col, int64_t tileRows,
                                                    int64_t dim) {
  SmallVector<Value> indices;
  if (wgmma) {
    // Flat swizzled panels; stage s starts s tiles in.
    Value at = sm90::swizzledOffset(b, loc, r, col, tileRows,
                                    sm90::SwizzleLayout::forDim(dim));
    if (stage)
      at = addIdx(at, mulIdx(stage, tileRows * dim));
    indices.push_back(at);
    return indices;
  }
  if (stage)
    indices.push_back(stage);
  indices.append({r, col});
  return indices;
}
