//===- Sm90Pipeline.cpp - sm90a kernel: the overlapped kv loop ------------===//
//
// FlashAttention-3's intra-warpgroup overlap on the shared kv schedule:
//
//   step t: issue S_t = Q K_t^T; issue O += P_{t-1} V_{t-1};
//           wait for S_t; softmax -> m', l', P_t, c = exp2(m - m');
//           wait for P V; O *= c
//   after:  O += P_last V_last
//
// Step 0's P V adds P_{-1} = 0 times a zero-filled V stage (no NaN can come
// from stale shared memory), so every step runs the same code (one copy of
// the softmax variants: the kernel compiles in less time).
//
// so the softmax of tile t runs while the tensor cores compute P V of tile
// t-1. O *= c after P_{t-1} V_{t-1} is added keeps O scaled by the row
// maximum of the tiles it holds: O_t = (O_{t-1} + P_{t-1} V_{t-1}) c_t, and
// P_t is relative to m_t. K and V stream through S stages each, K one tile
// ahead of V: step t reads K_t and V_{t-1} while K_{t+S-1} and V_{t+S-2}
// load (one cp.async group). The barrier at the start of step t also means
// every warp finished step t-1 (S_{t-1} read K stage (t-1) mod S, and the
// wait for P_{t-2} V_{t-2} ended the reads of V stage (t-2) mod S), so both
// stages are free to refill.
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"

#include "attn/Transforms/RotaryEmbedding.h"

#include <cfloat>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

SmallVector<Value> KernelBuilder::overlappedInit() {
  auto accType = VectorType::get({2, 2}, f32);
  auto aType = VectorType::get({4, 2}, elementType);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
  Value zeroA = arith::ConstantOp::create(
      b, loc, aType,
      DenseElementsAttr::get(
          aType,
          APFloat::getZero(cast<FloatType>(elementType).getFloatSemantics())));
  SmallVector<Value> init = {f(-FLT_MAX), f(-FLT_MAX), f(0.0), f(0.0)};
  init.append(headDimV / 8, zeroAcc);
  init.append(tileK / 16, zeroA);
  return init;
}

SmallVector<Value> KernelBuilder::overlappedStep(Value t, Value kt,
                                                 ArrayRef<Value> state,
                                                 Value kStage, Value vStage,
                                                 function_ref<void()> afterPV) {
  auto accType = VectorType::get({2, 2}, f32);
  int64_t outAt = 4, pAt = outAt + headDimV / 8;
  SmallVector<Value> scores = wgmmaScores(kStage);
  SmallVector<Value> out =
      wgmmaPV(state.slice(pAt, tileK / 16), state.slice(outAt, headDimV / 8),
              vStage, /*wait=*/false);
  Value isFull = isFullTile(t, kt);
  Value k0 = mulIdx(kt, tileK);
  // A partial tile's masks (and their reads of captured ids) are evaluated
  // while the tensor cores compute S, into bits the softmax tests.
  SmallVector<Value> keepBits;
  if (precomputesKeeps()) {
    SmallVector<Type> wordTypes(keepBitWords(), b.getI32Type());
    auto masks = scf::IfOp::create(b, loc, wordTypes, isFull,
                                   /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(masks.thenBlock());
    Value unused = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    scf::YieldOp::create(b, loc, SmallVector<Value>(wordTypes.size(), unused));
    b.setInsertionPointToStart(masks.elseBlock());
    scf::YieldOp::create(b, loc, tileKeepBits(k0));
    keepBits.assign(masks.getResults().begin(), masks.getResults().end());
  }
  scores = wgmmaWait(1, scores);

  // The softmax in its full or partial variant (the element and mask code
  // only where the tile needs it): (m, l, c0, c1, P as f32 fragments).
  SmallVector<Type> types(6, f32);
  types.append(tileK / 8, accType);
  auto branch =
      scf::IfOp::create(b, loc, types, isFull, /*withElseRegion=*/true);
  for (bool full : {true, false}) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(full ? branch.thenBlock() : branch.elseBlock());
    SoftmaxUpdate update = onlineSoftmax(scores, k0, !full, state.take_front(4),
                                         full ? ArrayRef<Value>() : keepBits);
    SmallVector<Value> yielded(update.rowState);
    yielded.append({update.corr[0], update.corr[1]});
    yielded.append(update.probs);
    scf::YieldOp::create(b, loc, yielded);
  }
  SmallVector<Value> step(branch.getResults());
  out = wgmmaWait(0, out);
  if (afterPV)
    afterPV();

  // P_t becomes the A operand (registers) of the next step's P V only now:
  // written while P_{t-1} V_{t-1} is in flight, ptxas would serialize the
  // wgmmas (C7513), as it must not overwrite an in-flight operand.
  SmallVector<Value> next(ArrayRef<Value>(step).take_front(4));
  next.append(rescaleUnlessKept(out, step[4], step[5]));
  ArrayRef<Value> probs = ArrayRef<Value>(step).drop_front(6);
  for (int64_t kb = 0; kb < tileK / 16; ++kb)
    next.push_back(pFragment(probs, kb));
  return next;
}

SmallVector<Value> KernelBuilder::rescaleUnlessKept(ArrayRef<Value> out,
                                                    Value c0, Value c1) {
  auto rescaled = [&] {
    SmallVector<Value> result;
    for (Value acc : out)
      result.push_back(rescale(acc, c0, c1));
    return result;
  };
  if (!lazyRescale())
    return rescaled();
  // Skipped where every row of the warp kept its maximum (c = 1 exactly:
  // 2^0), with a warp-uniform branch.
  Value one = f(1.0);
  Value changed = arith::OrIOp::create(
      b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, c0, one),
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, c1, one));
  Value allLanes = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(-1));
  Value any = NVVM::VoteSyncOp::create(
      b, loc, b.getI1Type(), allLanes, changed,
      NVVM::VoteSyncKindAttr::get(b.getContext(), NVVM::VoteSyncKind::any));
  auto branch = scf::IfOp::create(b, loc, ValueRange(out).getTypes(), any,
                                  /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(branch.thenBlock());
  scf::YieldOp::create(b, loc, rescaled());
  b.setInsertionPointToStart(branch.elseBlock());
  scf::YieldOp::create(b, loc, out);
  return SmallVector<Value>(branch.getResults());
}

void KernelBuilder::finishOverlapped(ArrayRef<Value> state, Value vStage) {
  int64_t outAt = 4, pAt = outAt + headDimV / 8;
  SmallVector<Value> final(state.take_front(4));
  final.append(wgmmaPV(state.slice(pAt, tileK / 16),
                       state.slice(outAt, headDimV / 8), vStage,
                       /*wait=*/true));
  finalize(final);
}

void KernelBuilder::buildWgmmaLoop() {
  int64_t ahead = numStages - 1;

  // K of step u and V of step u - 1 into their stages, one group.
  auto loadStep = [&](Value u) {
    Value kt = loadKV(u, stageOf(u), KVPart::k);
    Value previous = arith::SubIOp::create(b, loc, u, index(1));
    loadKV(previous, stageOf(addIdx(u, index(numStages - 1))), KVPart::v);
    return std::make_pair(kt, commitGroup());
  };
  // Prologue: the groups of steps 0 .. ahead-1; step 0's holds K_0 and a
  // zero-filled "V_{-1}" stage; wait for Q and step 0's group.
  SmallVector<Value> tiles = {loadKV(index(0), index(0), KVPart::k)};
  // (a step past the schedule's end loads zeros, as the prefetch past the
  // last tile does)
  loadKV(tileCount, index(numStages - 1), KVPart::v);
  SmallVector<Value> groups = {commitGroup()};
  for (int64_t p = 1; p < ahead; ++p) {
    auto [kt, group] = loadStep(index(p));
    tiles.push_back(kt);
    groups.push_back(group);
  }
  // #attn.rope: the Q tile rotated in place once it landed (its group is
  // older than the steps'), before any wgmma reads it.
  RopeAttr rope = op.getRopeAttr();
  if (rope) {
    nvgpu::DeviceAsyncWaitOp::create(b, loc, qGroup,
                                     b.getI32IntegerAttr(ahead));
    gpu::BarrierOp::create(b, loc);
    rotateSharedTile(qShared, nullptr, tileQ, [&](Value r) {
      return emitRopeQueryPosition(b, loc, rope, pos, queryRow(r).first);
    });
    sharedBarrier();
  }

  // Loop state: (m, l), O, P of the previous tile, the tiles of steps
  // t .. t+ahead-1 and their cp.async groups.
  SmallVector<Value> init = overlappedInit();
  int64_t tilesAt = init.size();
  init.append(tiles);
  init.append(groups);

  auto loop = scf::ForOp::create(b, loc, index(0), tileCount, index(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    SmallVector<Value> state(loop.getRegionIterArgs());
    ArrayRef<Value> all(state);
    ArrayRef<Value> inFlight = all.drop_front(tilesAt);
    ArrayRef<Value> stepTiles = inFlight.take_front(ahead);
    ArrayRef<Value> stepGroups = inFlight.drop_front(ahead);
    nvgpu::DeviceAsyncWaitOp::create(b, loc, stepGroups.front(),
                                     b.getI32IntegerAttr(ahead - 1));
    if (rope) {
      // K_t rotated before S_t reads it (key j = kt * tileK + r at j); the
      // generic-proxy writes fenced for wgmma by sharedBarrier.
      gpu::BarrierOp::create(b, loc);
      Value row0 = mulIdx(stepTiles.front(), tileK);
      rotateSharedTile(
          kShared, stageOf(t), tileK, [&](Value r) { return addIdx(row0, r); },
          row0);
    }
    sharedBarrier();
    auto [nextTile, nextGroup] = loadStep(addIdx(t, index(ahead)));

    SmallVector<Value> next =
        overlappedStep(t, stepTiles.front(), all.take_front(tilesAt),
                       stageOf(t), stageOf(addIdx(t, index(numStages - 1))));
    next.append(stepTiles.begin() + 1, stepTiles.end());
    next.push_back(nextTile);
    next.append(stepGroups.begin() + 1, stepGroups.end());
    next.push_back(nextGroup);
    scf::YieldOp::create(b, loc, next);
  }

  // The last tile's P V, once its V has landed (with no tile at all: P = 0
  // times the zero-filled stage).
  SmallVector<Value> results(loop.getResults());
  nvgpu::DeviceAsyncWaitOp::create(b, loc, results[tilesAt + ahead],
                                   b.getI32IntegerAttr(ahead - 1));
  sharedBarrier();
  finishOverlapped(results, stageOf(addIdx(tileCount, index(numStages - 1))));
}
