//===- Sm80Math.cpp - sm80 kernel: fragments, softmax, epilogue -----------===//

#include "MergeKernel.h"
#include "Sm80KernelBuilder.h"
#include "Wgmma.h"
#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

/// Step t of the kv schedule (its tile was found when it was prefetched);
/// returns the next loop state.
SmallVector<Value> KernelBuilder::iteration(Value t, ArrayRef<Value> state) {
  // state: (m, l, O..., tiles of steps t .. t+S-2, their groups).
  int64_t inFlight = numStages - 1;
  ArrayRef<Value> tiles = state.take_back(2 * inFlight).take_front(inFlight);
  ArrayRef<Value> groups = state.take_back(inFlight);
  Value stage = stageOf(t);
  Value ahead = addIdx(t, index(inFlight));
  // Two stages: the other one (1 - stage folds into the address math).
  Value aheadStage =
      numStages == 2
          ? Value(arith::SubIOp::create(b, loc, index(1), stage))
          : Value(arith::RemUIOp::create(b, loc, ahead, index(numStages)));
  Value kt = tiles.front();
  // Prefetch step t + S-1 while this one is computed; then wait for step
  // t's group (S-1 younger groups may stay in flight).
  Value nextTile = loadKV(ahead, aheadStage);
  Value nextGroup = commitGroup();
  nvgpu::DeviceAsyncWaitOp::create(b, loc, groups.front(),
                                   b.getI32IntegerAttr(inFlight));
  sharedBarrier();
  // An fp8 cache: the landed byte stage is dequantized into the one K/V
  // tile the MMAs read (the barrier closing the previous step freed it).
  Value mmaStage = stage;
  if (fp8 == Fp8Read::pass) {
    dequantizeStage(stage);
    gpu::BarrierOp::create(b, loc);
    mmaStage = index(0);
  }
  // The tile's first key: key j = k0 + r (also its rotary position).
  Value k0 = mulIdx(kt, tileK);
  if (op.getRopeAttr()) {
    rotateSharedTile(
        kShared, mmaStage, tileK, [&](Value r) { return addIdx(k0, r); }, k0);
    gpu::BarrierOp::create(b, loc);
  }

  // S = Q K^T for 8 key blocks of 8.
  auto accType = VectorType::get({2, 2}, f32);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
  Value kRow = arith::RemUIOp::create(b, loc, lane, index(8));
  Value kCol = mulIdx(
      arith::RemUIOp::create(
          b, loc, arith::DivUIOp::create(b, loc, lane, index(8)), index(2)),
      8);
  // An fp8 cache's k_scale: S of the dequantized keys.
  Value kScales =
      kScale ? vector::BroadcastOp::create(b, loc, accType, kScale).getResult()
             : Value();
  // (This warp's tileK / kvWarps keys of the tile.)
  SmallVector<Value> scores;
  for (int64_t n = 0; n < tileK / 8 / kvWarps; ++n) {
    Value acc = zeroAcc;
    for (int64_t kk = 0; kk < headDim / 16; ++kk) {
      Value frag = fp8 == Fp8Read::fragments
                       ? fp8KFragment(stage, n, kk)
                       : ldmatrixB(kShared, mmaStage,
                                   tileKey(addIdx(kRow, index(n * 8))),
                                   addIdx(kCol, index(kk * 16)), false);
      acc = mma(qFrags[kk], frag, acc);
    }
    if (kScales)
      acc = arith::MulFOp::create(b, loc, acc, kScales);
    scores.push_back(acc);
  }

  // Full tiles and partial tiles run separate code: the full branch has
  // no mask code at all (FA2's split of masked and unmasked iterations).
  Value isFull = isFullTile(t, kt);
  SmallVector<Value> carried(state.drop_back(2 * inFlight));
  auto branch = scf::IfOp::create(b, loc, ValueRange(carried).getTypes(),
                                  isFull, /*withElseRegion=*/true);
  for (bool full : {true, false}) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(full ? branch.thenBlock() : branch.elseBlock());
    SmallVector<Value> yielded =
        softmaxAndPV(scores, tileKey(k0),
                     /*partial=*/!full, carried, mmaStage);
    scf::YieldOp::create(b, loc, yielded);
  }
  SmallVector<Value> next(branch.getResults());
  // Every warp is done with this stage before it is refilled.
  gpu::BarrierOp::create(b, loc);
  next.append(tiles.begin() + 1, tiles.end());
  next.push_back(nextTile);
  next.append(groups.begin() + 1, groups.end());
  next.push_back(nextGroup);
  return next;
}

Value KernelBuilder::ldmatrixB(Value tile, Value stage, Value row, Value col,
                               bool transpose) {
  auto bType = VectorType::get({2, 2}, elementType);
  return nvgpu::LdMatrixOp::create(b, loc, bType, tile,
                                   ValueRange{stage, row, col}, transpose, 2)
      .getResult();
}

/// The online-softmax update and O += P V for one tile; `state` is
/// (m0, m1, l0, l1, O...). Returns the next state.
SmallVector<Value> KernelBuilder::softmaxAndPV(ArrayRef<Value> scores, Value k0,
                                               bool partial,
                                               ArrayRef<Value> state,
                                               Value stage) {
  SoftmaxUpdate update = onlineSoftmax(scores, k0, partial, state);
  SmallVector<Value> next(update.rowState);
  Value *corr = update.corr;
  ArrayRef<Value> probs = update.probs;
  // O = O * corr + P V; the accumulators of key blocks 2kb and 2kb+1 are
  // the A operand of k-block kb.
  SmallVector<Value> outAcc;
  for (int64_t nd = 0; nd < headDimV / 8; ++nd)
    outAcc.push_back(rescale(state[4 + nd], corr[0], corr[1]));
  Value vRow = arith::RemUIOp::create(b, loc, lane, index(16));
  for (int64_t kb = 0; kb < tileK / 16 / kvWarps; ++kb) {
    Value a = pFragment(probs, kb);
    for (int64_t nd = 0; nd < headDimV / 8; ++nd) {
      Value frag =
          fp8 == Fp8Read::fragments
              ? fp8VFragment(stage, kb, nd)
              : ldmatrixB(vShared, stage, tileKey(addIdx(vRow, index(kb * 16))),
                          index(nd * 8), true);
      outAcc[nd] = mma(a, frag, outAcc[nd]);
    }
  }
  next.append(outAcc.begin(), outAcc.end());
  return next;
}

KernelBuilder::FragmentCoords KernelBuilder::fragmentCoords(Value k0) {
  // Positions inside a sequence fit 32 bits (lengths are below 2^31): rows,
  // columns and the key length are formed in i32 and sign-extended, so that
  // LLVM narrows the element code's compares of them (and of captured i32
  // ids) to one 32-bit instruction each instead of a 64-bit pair.
  FragmentCoords coords;
  for (int x = 0; x < 2; ++x) {
    coords.rowPos[x] = pos;
    std::tie(coords.row[x], coords.rowPos[x].h) = queryRow(fragmentRow(x));
    coords.row[x] = widen32(narrow32(coords.row[x]));
    coords.rowPos[x].k0 = k0;
  }
  coords.firstColumn = narrow32(addIdx(k0, mulIdx(quad, 2)));
  coords.seqK32 = narrow32(minIdx(pos.seqK, index(INT32_MAX)));
  return coords;
}

std::pair<Value, Value>
KernelBuilder::fragmentColumn(const FragmentCoords &coords, int64_t n, int y) {
  Value column32 = arith::AddIOp::create(
      b, loc, coords.firstColumn,
      arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(8 * n + y)));
  return {column32, widen32(column32)};
}

/// The online-softmax update of one tile's scores: `rowState` is
/// (m0, m1, l0, l1) of rows g and g + 8.
KernelBuilder::SoftmaxUpdate
KernelBuilder::onlineSoftmax(ArrayRef<Value> scores, Value k0, bool partial,
                             ArrayRef<Value> state, ArrayRef<Value> keepBits) {
  SoftmaxUpdate update;
  auto accType = VectorType::get({2, 2}, f32);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, accType, DenseElementsAttr::get(accType, 0.0f));
  // t = element(scale * s) * log2 e, -inf where a pair is dropped.
  SmallVector<Value> t;
  // Masks evaluated here unless their bits came with the tile.
  bool precomputed = partial && !keepBits.empty();
  bool element = hasElementCode(op, partial && !precomputed);
  FragmentCoords coords;
  if (element || partial)
    coords = fragmentCoords(k0);
  // Where the element code only masks, the score is scaled once: by
  // scale * log2 e.
  bool modifiesScore =
      (op.getScoreModsAttr() && !op.getScoreModsAttr().empty()) ||
      op.getGateAttr();
  double scale = op.getEffectiveScale() * kLog2E;
  Value scaleLog2e = f(scale);
  // Plain full tile with a positive scale: t = c s is never formed; the row
  // maximum of s times c is that of t, and 2^(t - m) is one FMA and ex2
  // per score: 2^fma(s, c, -m) (llvm.fma: math.fma would be a libdevice
  // call on some chips).
  bool deferred = !element && !partial && scale > 0;
  // One tile's element code shares its values: a thread's 2 rows and
  // 2 tileK / 8 columns each read a captured id once (Value-identical i and
  // j for the pairs that share them).
  ElementValueCache cache;
  for (size_t n = 0; n < scores.size(); ++n) {
    if (deferred) {
      t.push_back(scores[n]);
      continue;
    }
    if (!element && !partial) {
      // Plain full tile: one vector multiply, nothing masked.
      Value splat = vector::BroadcastOp::create(b, loc, accType, scaleLog2e);
      t.push_back(arith::MulFOp::create(b, loc, scores[n], splat));
      continue;
    }
    Value tn = scores[n];
    Value column32[2], column[2];
    for (int y = 0; y < 2; ++y)
      std::tie(column32[y], column[y]) = fragmentColumn(coords, n, y);
    for (int x = 0; x < 2; ++x)
      for (int y = 0; y < 2; ++y) {
        Value s = extract(scores[n], x, y);
        Value kept;
        if (element && modifiesScore) {
          s = arith::MulFOp::create(b, loc, s, f(op.getEffectiveScale()));
          std::tie(s, kept) =
              emitElement(b, op, buf, coords.rowPos[x], partial && !precomputed,
                          s, coords.row[x], column[y], &cache);
          s = arith::MulFOp::create(b, loc, s, f(kLog2E));
        } else {
          if (element)
            kept = emitElement(b, op, buf, coords.rowPos[x],
                               partial && !precomputed, s, coords.row[x],
                               column[y], &cache)
                       .second;
          s = arith::MulFOp::create(b, loc, s, scaleLog2e);
        }
        if (partial) {
          Value inRange;
          if (precomputed) {
            // The bit of (x, n, y) in its word, tested by one and.
            int64_t c = 2 * int64_t(n) + y;
            Value bit = arith::ConstantOp::create(
                b, loc, b.getI32IntegerAttr(int32_t(1u << (c % 32))));
            inRange = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::ne,
                arith::AndIOp::create(b, loc, keepBits[2 * (c / 32) + x], bit),
                arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0)));
          } else {
            inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                            column32[y], coords.seqK32);
          }
          kept = kept ? Value(arith::AndIOp::create(b, loc, kept, inRange))
                      : inRange;
        }
        // A dropped pair's t is -inf: the row maximum passes it by and
        // 2^(t - m) is 0 (m starts at -FLT_MAX, never -inf), one select.
        if (kept)
          s = arith::SelectOp::create(b, loc, kept, s, f(-INFINITY));
        tn = vector::InsertOp::create(b, loc, s, tn, ArrayRef<int64_t>{x, y});
      }
    t.push_back(tn);
  }

  // Online softmax for rows g (x = 0) and g + 8 (x = 1).
  // Row reductions as balanced trees: a chain over the 2 tileK / 8 values
  // of a row would put that many dependent max (or add) latencies on every
  // step's critical path (the exp2s wait for the maximum).
  auto treeReduce = [&](SmallVector<Value> values, bool max) {
    while (values.size() > 1) {
      SmallVector<Value> next;
      for (size_t i = 0; i + 1 < values.size(); i += 2)
        next.push_back(max ? Value(arith::MaximumFOp::create(b, loc, values[i],
                                                             values[i + 1]))
                           : Value(arith::AddFOp::create(b, loc, values[i],
                                                         values[i + 1])));
      if (values.size() % 2)
        next.push_back(values.back());
      values = std::move(next);
    }
    return values.front();
  };
  RowStep steps[2];
  for (int x = 0; x < 2; ++x) {
    SmallVector<Value> row;
    for (size_t n = 0; n < t.size(); ++n)
      for (int y = 0; y < 2; ++y)
        row.push_back(extract(t[n], x, y));
    Value rowMax = quadReduce(treeReduce(row, /*max=*/true), /*max=*/true);
    if (deferred)
      rowMax = arith::MulFOp::create(b, loc, rowMax, scaleLog2e);
    // Lazy rescaling keeps the reference maximum while the row's maximum
    // grows by at most kLazyRescaleLog2 (overlappedStep then skips O's
    // rescaling where a whole warp keeps its maxima).
    steps[x] = emitRowStep(
        b, loc, state[x], rowMax,
        lazyRescale() ? std::optional<double>(kLazyRescaleLog2) : std::nullopt,
        sparseThreshold, [&](Value v) { return exp2(v); });
  }
  SmallVector<Value> probs;
  SmallVector<Value> rowTerms[2];
  Value negM[2];
  for (int x = 0; deferred && x < 2; ++x)
    negM[x] = arith::NegFOp::create(b, loc, steps[x].m);
  for (size_t n = 0; n < t.size(); ++n) {
    Value p = zeroAcc;
    for (int x = 0; x < 2; ++x)
      for (int y = 0; y < 2; ++y) {
        Value e = deferred
                      ? exp2(LLVM::FMAOp::create(b, loc, extract(t[n], x, y),
                                                 scaleLog2e, negM[x]))
                      : exp2(arith::SubFOp::create(b, loc, extract(t[n], x, y),
                                                   steps[x].m));
        // Sparse softmax: a tile that does not count adds no weight.
        if (steps[x].apply)
          e = arith::SelectOp::create(b, loc, steps[x].apply, e, f(0.0));
        rowTerms[x].push_back(e);
        p = vector::InsertOp::create(b, loc, e, p, ArrayRef<int64_t>{x, y});
      }
    probs.push_back(p);
  }
  update.rowState.push_back(steps[0].m);
  update.rowState.push_back(steps[1].m);
  for (int x = 0; x < 2; ++x)
    update.rowState.push_back(emitRowSum(b, loc, state[2 + x], steps[x],
                                         treeReduce(rowTerms[x], false)));
  update.corr[0] = steps[0].correction;
  update.corr[1] = steps[1].correction;
  update.probs = std::move(probs);
  return update;
}

Value KernelBuilder::pFragment(ArrayRef<Value> probs, int64_t kb) {
  auto aType = VectorType::get({4, 2}, elementType);
  Value a = arith::ConstantOp::create(
      b, loc, aType,
      DenseElementsAttr::get(
          aType,
          APFloat::getZero(cast<FloatType>(elementType).getFloatSemantics())));
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
  return a;
}

/// acc += a * b on one m16n8k16 tensor-core tile (a: 4x2, b: 2x2 of the
/// element type, acc: 2x2 f32 per thread). f16 goes through
/// nvgpu.mma.sync; nvgpu cannot type bf16 operands, so bf16 goes straight
/// to nvvm.mma.sync on the same register fragments reinterpreted as i32
/// pairs (the PTX instruction's own operand form).
Value KernelBuilder::mma(Value a, Value bFrag, Value acc) {
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
  auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                     SmallVector<Type>(4, f32));
  Value d = NVVM::MmaOp::create(
      b, loc, resultType, packed(a, 4), packed(bFrag, 2), c,
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 2; ++y)
      acc = vector::InsertOp::create(
          b, loc,
          LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{2 * x + y}),
          acc, ArrayRef<int64_t>{x, y});
  return acc;
}

Value KernelBuilder::rescale(Value acc, Value c0, Value c1) {
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 2; ++y)
      acc = vector::InsertOp::create(
          b, loc,
          arith::MulFOp::create(b, loc, extract(acc, x, y), x ? c1 : c0), acc,
          ArrayRef<int64_t>{x, y});
  return acc;
}

/// Reduces over the 4 lanes that share a row (xor 1, xor 2).
Value KernelBuilder::quadReduce(Value v, bool max) {
  for (int32_t offset : {1, 2}) {
    Value other =
        gpu::ShuffleOp::create(b, loc, v, offset, 32, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    v = max ? Value(arith::MaximumFOp::create(b, loc, v, other))
            : Value(arith::AddFOp::create(b, loc, v, other));
  }
  return v;
}

void KernelBuilder::finalize(ArrayRef<Value> results) {
  if (!workspace)
    return storeRows(results, /*partial=*/false);
  // Split-KV launched with one split writes the output itself (the
  // runtime then skips the merge kernel); otherwise each split writes its
  // partial rows.
  Value single = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      gpu::GridDimOp::create(b, loc, gpu::Dimension::x), index(1));
  auto ifOp = scf::IfOp::create(b, loc, single, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  storeRows(results, /*partial=*/false);
  b.setInsertionPointToStart(ifOp.elseBlock());
  storeRows(results, /*partial=*/true);
}

void KernelBuilder::storeRows(ArrayRef<Value> results, bool partial) {
  Value l[2] = {quadReduce(results[2], false), quadReduce(results[3], false)};
  bool staged = !partial && stagesOutput();
  for (int x = 0; x < 2; ++x) {
    auto [row, head] = queryRow(fragmentRow(x));
    // Sinks join the denominator once, at the end (the merge kernel adds
    // them for split rows); rows past seqused_q keep no key.
    Value sink;
    if (buf.sinks && !partial) {
      sink = memref::LoadOp::create(b, loc, buf.sinks, ValueRange{head});
      if (!sink.getType().isF32())
        sink = arith::ExtFOp::create(b, loc, f32, sink);
    }
    RowFinal final = emitRowFinalize(
        b, loc, results[x], l[x], sink,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row, pos.seqQ),
        [&](Value v) { return exp2(v); }, [&](Value v) { return log2(v); });
    // An fp8 cache's v_scale: the rows of the dequantized values (split
    // rows too: the merge is linear in them).
    if (vScale)
      final.inverse = arith::MulFOp::create(b, loc, final.inverse, vScale);
    // Column nd * 8 + 2 quad + y: this lane's two adjacent output columns.
    auto column = [&](int64_t nd, int y = 0) {
      return addIdx(index(nd * 8 + y), mulIdx(quad, 2));
    };
    if (staged)
      for (int64_t nd = 0; nd < headDimV / 8; ++nd)
        vector::StoreOp::create(
            b, loc, outPair(results[4 + nd], x, final.inverse), qShared,
            ValueRange{sm90::swizzledOffset(b, loc, fragmentRow(x), column(nd),
                                            tileQ, outputLayout())},
            /*nontemporal=*/false, llvm::MaybeAlign(4));
    // Every row of the sequence is written (out 0, lse -inf past seqused_q).
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row,
                                         pos.layoutSeqQ);
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value partialBase;
    if (partial) {
      SmallVector<Value> rowAt = rowIndices(pos.qStart, row, head, nullptr);
      rowAt.pop_back();
      Value split = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
      partialBase = splitRowOffset(b, loc, buf.q, split, rowAt, headDimV);
    }
    for (int64_t nd = 0; !staged && nd < headDimV / 8; ++nd) {
      if (partial) {
        for (int y = 0; y < 2; ++y)
          memref::StoreOp::create(
              b, loc,
              arith::MulFOp::create(b, loc, extract(results[4 + nd], x, y),
                                    final.inverse),
              workspace, addIdx(partialBase, column(nd, y)));
        continue;
      }
      // The two adjacent columns as one 4-byte store (out is 4-byte
      // aligned, KernelABI; the column is even): half the store
      // instructions of element stores, whole 32-bit words.
      vector::StoreOp::create(
          b, loc, outPair(results[4 + nd], x, final.inverse), buf.out,
          rowIndices(pos.qStart, row, head, column(nd)),
          /*nontemporal=*/false, llvm::MaybeAlign(4));
    }
    if (!buf.lse && !partial)
      continue;
    Value isLeader =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, quad, index(0));
    auto leader = scf::IfOp::create(b, loc, isLeader, false);
    b.setInsertionPointToStart(leader.thenBlock());
    if (partial) {
      memref::StoreOp::create(b, loc, final.lse2, workspace,
                              addIdx(partialBase, index(headDimV)));
      continue;
    }
    SmallVector<Value> at = {head, addIdx(pos.qStart, row)};
    if (!op.isVarlen())
      at = {pos.b, head, row};
    memref::StoreOp::create(b, loc, final.lse, buf.lse, at);
  }
  if (staged)
    copyStagedRows();
}

bool KernelBuilder::stagesOutput() const {
  return wgmma && sm90::outputFitsQTile(headDim, headDimV);
}

sm90::SwizzleLayout KernelBuilder::outputLayout() const {
  return sm90::SwizzleLayout::forDim(headDimV);
}

Value KernelBuilder::outPair(Value acc, int x, Value inverse) {
  Value pair = vector::FromElementsOp::create(
      b, loc, VectorType::get({2}, f32),
      ValueRange{arith::MulFOp::create(b, loc, extract(acc, x, 0), inverse),
                 arith::MulFOp::create(b, loc, extract(acc, x, 1), inverse)});
  return arith::TruncFOp::create(b, loc, VectorType::get({2}, elementType),
                                 pair);
}

void KernelBuilder::copyStagedRows() {
  // Each warp wrote its 16 rows into the swizzled tile (4 bytes per lane
  // and column pair: the XOR swizzle spreads a column's 8 rows over all
  // banks); after a warp barrier its lanes copy them out 16 bytes at a
  // time, consecutive lanes taking consecutive chunks of a row (whole
  // sectors of global memory).
  NVVM::SyncWarpOp::create(
      b, loc, arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(-1)));
  int64_t chunks = headDimV / 8, perLane = kRowsPerWarp * chunks / 32;
  auto chunkType = VectorType::get({8}, elementType);
  for (int64_t k = 0; k < perLane; ++k) {
    Value i = addIdx(lane, index(32 * k));
    Value tileRow = addIdx(mulIdx(warp, kRowsPerWarp),
                           arith::DivUIOp::create(b, loc, i, index(chunks)));
    Value col = mulIdx(arith::RemUIOp::create(b, loc, i, index(chunks)), 8);
    Value chunk = vector::LoadOp::create(
        b, loc, chunkType, qShared,
        ValueRange{
            sm90::swizzledOffset(b, loc, tileRow, col, tileQ, outputLayout())},
        /*nontemporal=*/false, llvm::MaybeAlign(16));
    auto [row, head] = queryRow(tileRow);
    auto inside = scf::IfOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row,
                              pos.layoutSeqQ),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(inside.thenBlock());
    vector::StoreOp::create(b, loc, chunk, buf.out,
                            rowIndices(pos.qStart, row, head, col),
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  }
}
