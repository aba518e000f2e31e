//===- Sm90WarpSpecialized.cpp - sm90a: producer and consumer warps -------===//
//
// FlashAttention-3's warp specialization on the overlapped loop of
// Sm90Pipeline.cpp. The CTA is `warps` consumer warps (two warpgroups, the
// query rows) and one producer warpgroup after them that only copies tiles.
// Stage s of S holds K_j and "V slot" j = V_{j-1} for steps j = s mod S
// (slot 0 is zero-filled: step 0's P V adds P = 0 times it, so every step
// runs the same code), and has two mbarriers:
//
//   full[s]:  each of the producer's 128 threads arrives once its copies
//             of step j landed (cp.async.mbarrier.arrive.noinc: the
//             arrival is counted when the copies complete, the thread does
//             not wait); phase j / S completes.
//   empty[s]: each consumer warp arrives once step j's S = Q K_j^T and
//             P_{j-1} V_{j-1} completed (wgmma.wait_group 0).
//
//   producer, j = 0 .. T: wait empty[j mod S] (phase j/S - 1; a fresh
//     barrier passes parity 1 at once), copy K_j and V_{j-1} (and Q with
//     step 0) and publish step j; up to S steps' copies are in flight.
//     (Waiting for step j's copies before publishing kept one in flight:
//     d96 ran 8-11% slower, docs/perf-log.md 2026-11-24, session 24.)
//   consumer, t = 0 .. T-1: wait full[t mod S] (phase t/S), then
//     fence.proxy.async (cp.async wrote through the generic proxy, wgmma
//     reads through the async one: each thread orders the two after
//     observing the phase), the overlapped step, release; then wait
//     full[T mod S] for V_{T-1}.
//
// No CTA barrier runs inside the loop: the two consumer warpgroups drift
// apart freely and never wait for the copies' address arithmetic, which
// the producer does with few registers (setmaxnreg moves the rest to the
// consumers, whose S, P and O fragments need up to 232).
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"
#include "TensorMaps.h"
#include "Wgmma.h"

#include "attn/Transforms/RotaryEmbedding.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

/// setmaxnreg budgets (multiples of 8, 128 producer x P + consumers x C
/// = 64512 of the SM's 65536 registers). Two consumer warpgroups: (24,
/// 240) where one thread copies with TMA (a few coordinates), (72, 216)
/// where the producer also rotates the landed tiles (#attn.rope), (40, 232)
/// where the producer's cp.async copies cover whole rows (a copy's address
/// is a few adds), else (72, 216): its copies divide per chunk and spilled
/// at 40 (d96: 580 bytes). Three (192 query rows, head dims up to 64): (24,
/// 160). One, two CTAs per SM (twoCtasWithProducer: 128 x P + 128 x C =
/// 32768, half the file): (24, 232) with TMA, (72, 184) rotating, else (40,
/// 216).
static std::pair<int64_t, int64_t>
registerBudgets(int64_t headDim, int64_t headDimV, int64_t producers,
                int64_t consumers, bool tma, bool rotates, bool twoCtas) {
  if (twoCtas)
    return rotates ? std::make_pair(72, 184)
           : tma   ? std::make_pair(24, 232)
                   : std::make_pair(40, 216);
  if (consumers > 256)
    return {24, 160};
  if (tma && rotates)
    return {72, 216};
  if (tma)
    return {24, 240};
  bool wholeRows = copiesCoverWholeRows(headDim, producers) &&
                   copiesCoverWholeRows(headDimV, producers);
  return wholeRows ? std::make_pair(40, 232) : std::make_pair(72, 216);
}

Value KernelBuilder::mbarrier(Value slot) {
  Value address = addIdx(barrierAddress, mulIdx(slot, 8));
  Value word = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  return LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext(), 3), word);
}

namespace {
/// The i32 parity of phase `phase` (an index).
Value parity(OpBuilder &b, Location loc, Value phase) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  return arith::IndexCastOp::create(b, loc, b.getI32Type(),
                                    arith::AndIOp::create(b, loc, phase, one));
}

/// Waits for the phase of parity `parityBit`. The suspend-time hint lets
/// the warp sleep in mbarrier.try_wait instead of spinning (a hint of 0
/// returns at once: the waiting warps would take issue slots from the
/// computing ones); 10 ms, as CUTLASS uses.
void waitPhase(OpBuilder &b, Location loc, Value barrier, Value parityBit) {
  Value ticks =
      arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(10'000'000));
  NVVM::MBarrierTryWaitParityOp::create(b, loc, barrier, parityBit, ticks);
}

void arrive(OpBuilder &b, Location loc, Value barrier) {
  NVVM::MBarrierArriveOp::create(
      b, loc, Type(), barrier, Value(),
      NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA));
}

void setMaxRegisters(OpBuilder &b, Location loc, int64_t count,
                     NVVM::SetMaxRegisterAction action) {
  NVVM::SetMaxRegisterOp::create(
      b, loc, b.getI32IntegerAttr(count),
      NVVM::SetMaxRegisterActionAttr::get(b.getContext(), action));
}
} // namespace

Value KernelBuilder::stageBarrier(StageBarrier kind, Value stage) {
  int64_t first = static_cast<int64_t>(kind) * numStages;
  return mbarrier(first ? addIdx(index(first), stage) : stage);
}

void KernelBuilder::waitStep(StageBarrier kind, Value step) {
  Value round = arith::DivUIOp::create(b, loc, step, index(numStages));
  if (kind == StageBarrier::empty)
    round = addIdx(round, index(1));
  waitPhase(b, loc, stageBarrier(kind, stageOf(step)), parity(b, loc, round));
}

void KernelBuilder::buildSpecializedLoop() {
  int64_t consumers = 32 * numWarps, producers = 32 * producerWarps;
  createSharedViews();
  // One thread initialises the mbarriers; the CTA barrier publishes them.
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, index(0));
  emitIf(first, [&] {
    auto count = [&](int64_t n) {
      return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(n));
    };
    // Full: every producer thread's cp.async arrival, or the one TMA
    // thread's (the copied bytes complete the phase), or with rope every
    // producer thread's once it rotated its share; landed (rope): the TMA
    // thread's.
    bool rotates = sm90::producerRotatesTiles(op, config);
    int64_t publishers = config.getTma() && !rotates ? 1 : producers;
    for (int64_t s = 0; s < numStages; ++s) {
      if (rotates)
        NVVM::MBarrierInitOp::create(
            b, loc, stageBarrier(StageBarrier::landed, index(s)), count(1),
            Value());
      NVVM::MBarrierInitOp::create(b, loc,
                                   stageBarrier(StageBarrier::full, index(s)),
                                   count(publishers), Value());
      NVVM::MBarrierInitOp::create(b, loc,
                                   stageBarrier(StageBarrier::empty, index(s)),
                                   count(numWarps), Value());
    }
  });
  gpu::BarrierOp::create(b, loc);

  Value isProducer = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                           tid, index(consumers));
  auto roles = scf::IfOp::create(b, loc, isProducer, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  // Each role sets its tile up after moving registers, so that the set-up
  // values live in its own budget (computed before the split, the ones the
  // producer uses would have to fit in its few registers at the split).
  b.setInsertionPointToStart(roles.thenBlock());
  auto [producerRegisters, consumerRegisters] = registerBudgets(
      headDim, headDimV, 32 * producerWarps, consumers, config.getTma(),
      sm90::producerRotatesTiles(op, config), twoCtasWithProducer(op, config));
  setMaxRegisters(b, loc, producerRegisters,
                  NVVM::SetMaxRegisterAction::decrease);
  setUpTile();
  produceTiles();
  b.setInsertionPointToStart(roles.elseBlock());
  setMaxRegisters(b, loc, consumerRegisters,
                  NVVM::SetMaxRegisterAction::increase);
  setUpTile();
  consumeTiles();
}

void KernelBuilder::produceTiles() {
  // The producer's threads copy (and with rope rotate) the tiles.
  loadThread = arith::SubIOp::create(b, loc, tid, index(32 * numWarps));
  loadThreads = 32 * producerWarps;
  if (config.getTma())
    return produceTilesWithTensorMaps();
  // Publishes step j's stage: the barrier counts this thread's arrival
  // once its copies issued so far landed (cp.async.mbarrier.arrive.noinc),
  // and the thread goes on to the next step at once.
  auto publish = [&](Value j) {
    NVVM::CpAsyncMBarrierArriveOp::create(
        b, loc, stageBarrier(StageBarrier::full, stageOf(j)),
        /*noinc=*/true);
  };

  // Step 0: Q, K_0 and the zero-filled V slot (the step past the schedule
  // loads zeros).
  loadQ();
  loadKV(index(0), index(0), KVPart::k);
  loadKV(tileCount, index(0), KVPart::v);
  publish(index(0));
  Value end = addIdx(tileCount, index(1));
  auto loop = scf::ForOp::create(b, loc, index(1), end, index(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    Value stage = stageOf(j);
    waitStep(StageBarrier::empty, j);
    loadKV(j, stage, KVPart::k);
    loadKV(arith::SubIOp::create(b, loc, j, index(1)), stage, KVPart::v);
    publish(j);
  }
  // The copies land before the thread retires.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, commitGroup(),
                                   b.getI32IntegerAttr(0));
}

void KernelBuilder::produceTilesWithTensorMaps() {
  RopeAttr rope = op.getRopeAttr();
  Value elected = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid,
                                        index(32 * numWarps));
  int64_t kBytes = tileK * headDim * 2, vBytes = tileK * headDimV * 2;
  // The first key row of the tile of step t, or a row outside the tensor
  // (zeros) past the schedule.
  auto keyRow = [&](Value t) {
    Value live =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, t, tileCount);
    return arith::SelectOp::create(b, loc, live, mulIdx(tileAt(t), tileK),
                                   index(-tileK))
        .getResult();
  };
  // Step j's copies, completing on its stage's full barrier, or with rope
  // on its landed one (the producer rotates, then publishes on full).
  auto copyStep = [&](Value j, bool first) {
    Value stage = stageOf(j);
    if (!first)
      waitStep(StageBarrier::empty, j);
    Value done =
        stageBarrier(rope ? StageBarrier::landed : StageBarrier::full, stage);
    // K_j and V_{j-1} (with step 0, Q and the zero V slot).
    sm90::expectBytes(b, loc, done,
                      kBytes + vBytes + (first ? tileQ * headDim * 2 : 0));
    if (first)
      copyTileWithTensorMap(qMap, qAddress, done, pos.q0, pos.h, tileQ,
                            headDim);
    copyTileWithTensorMap(kMap, addIdx(kAddress, mulIdx(stage, kBytes)), done,
                          keyRow(j), pos.hk, tileK, headDim);
    Value vTile =
        first ? tileCount : arith::SubIOp::create(b, loc, j, index(1));
    copyTileWithTensorMap(vMap, addIdx(vAddress, mulIdx(stage, vBytes)), done,
                          keyRow(vTile), pos.hk, tileK, headDimV);
  };
  Value end = addIdx(tileCount, index(1));
  if (!rope) {
    // One thread issues every copy; the producer's other threads are done.
    emitIf(elected, [&] {
      copyStep(index(0), /*first=*/true);
      auto loop = scf::ForOp::create(b, loc, index(1), end, index(1));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      copyStep(loop.getInductionVar(), /*first=*/false);
    });
    return;
  }
  // #attn.rope: the producer's threads rotate each landed K stage (and Q)
  // in shared memory, fence the generic-proxy writes for wgmma and publish
  // it (128 arrivals on full), while the elected thread keeps the copies
  // of the next S - 1 steps in flight: step j + S - 1 is issued once step j
  // is published (its stage's consumers released step j - 1), so the
  // rotation of step j + 1 overlaps the consumers' step j.
  int64_t ahead = numStages - 1;
  // The elected thread issues step j if the schedule has it (j <= T).
  auto issue = [&](Value j) {
    emitIf(arith::AndIOp::create(
               b, loc, elected,
               arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, j,
                                     tileCount)),
           [&] { copyStep(j, /*first=*/false); });
  };
  emitIf(elected, [&] { copyStep(index(0), /*first=*/true); });
  for (int64_t p = 1; p < ahead; ++p)
    issue(index(p));
  waitStep(StageBarrier::landed, index(0));
  rotateSharedTile(qShared, nullptr, tileQ, [&](Value r) {
    return emitRopeQueryPosition(b, loc, rope, pos, queryRow(r).first);
  });
  auto loop = scf::ForOp::create(b, loc, index(0), end, index(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value j = loop.getInductionVar();
  waitStep(StageBarrier::landed, j);
  // K_j (key kt * tileK + r at position kt * tileK + r); past the
  // schedule the stage holds zeros.
  emitIf(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, j, tileCount),
         [&] {
           Value row0 = mulIdx(tileAt(j), tileK);
           rotateSharedTile(
               kShared, stageOf(j), tileK,
               [&](Value r) { return addIdx(row0, r); }, row0);
         });
  asyncProxyFence();
  arrive(b, loc, stageBarrier(StageBarrier::full, stageOf(j)));
  issue(addIdx(j, index(ahead)));
}

void KernelBuilder::copyTileWithTensorMap(Value map, Value dst, Value barrier,
                                          Value row, Value head,
                                          int64_t tileRows, int64_t dim) {
  // One copy per swizzle panel (tileRows x columns halves, contiguous).
  sm90::SwizzleLayout layout = sm90::SwizzleLayout::forDim(dim);
  for (int64_t p = 0; p < dim / layout.columns; ++p)
    sm90::copyBox(b, loc, map,
                  addIdx(dst, index(p * tileRows * layout.rowBytes())), barrier,
                  rowIndices(nullptr, row, head, index(p * layout.columns)));
}

void KernelBuilder::consumeTiles() {
  // The copies of step t landed: cp.async writes through the generic
  // proxy, wgmma reads through the async one, so each consumer thread
  // orders the two after observing the phase (TMA writes through the
  // async proxy: nothing to order).
  auto waitFull = [&](Value t) {
    waitStep(StageBarrier::full, t);
    if (!config.getTma())
      asyncProxyFence();
  };
  Value firstLane =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, index(0));

  // State: (m, l), O, P of the previous tile, and the tile of step t (found
  // a step ahead: a block-sparse list entry is a global load).
  SmallVector<Value> init = overlappedInit();
  int64_t tileAtIndex = init.size();
  init.push_back(tileAt(index(0)));
  auto loop = scf::ForOp::create(b, loc, index(0), tileCount, index(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    SmallVector<Value> state(loop.getRegionIterArgs());
    Value stage = stageOf(t);
    Value nextTile = tileAt(addIdx(t, index(1)));
    waitFull(t);
    SmallVector<Value> next = overlappedStep(
        t, state[tileAtIndex], ArrayRef<Value>(state).take_front(tileAtIndex),
        stage, stage, [&] {
          // Every lane of the warp passed wgmma.wait_group 0: its reads of
          // the stage are done.
          emitIf(firstLane, [&] {
            arrive(b, loc, stageBarrier(StageBarrier::empty, stage));
          });
        });
    next.push_back(nextTile);
    scf::YieldOp::create(b, loc, next);
  }
  SmallVector<Value> results(loop.getResults());
  waitFull(tileCount);
  finishOverlapped(results, stageOf(tileCount));
}
