//===- Sm90Math.cpp - sm90a kernel: the two GEMMs on wgmma ----------------===//
//
// The sm90a strategy builds the kernel of Sm80KernelBuilder.h with its two
// GEMMs on warpgroup MMAs (Wgmma.h): warpgroup w of the CTA owns query rows
// [64 w, 64 w + 64), and each of its warps the same 16 rows as with
// mma.sync, so the online softmax and the epilogue read the accumulators
// unchanged.
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"
#include "Wgmma.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

/// wgmma accumulators (value 4 i + 2 x + y) as 2x2 fragments [x][y], i by i.
static SmallVector<Value> fragments(OpBuilder &b, Location loc,
                                    ArrayRef<Value> values) {
  auto type = VectorType::get({2, 2}, b.getF32Type());
  SmallVector<Value> result;
  for (size_t i = 0; i < values.size(); i += 4)
    result.push_back(
        vector::FromElementsOp::create(b, loc, type, values.slice(i, 4)));
  return result;
}

/// The inverse of `fragments`.
static SmallVector<Value> values(OpBuilder &b, Location loc,
                                 ArrayRef<Value> fragments) {
  SmallVector<Value> result;
  for (Value fragment : fragments)
    for (int64_t x = 0; x < 2; ++x)
      for (int64_t y = 0; y < 2; ++y)
        result.push_back(vector::ExtractOp::create(b, loc, fragment,
                                                   ArrayRef<int64_t>{x, y}));
  return result;
}

SmallVector<Value> KernelBuilder::wgmmaScores(Value stage) {
  // A = Q (K-major): the warpgroup's 64 rows of each panel; B = K (K-major,
  // keys as N). k-step kk reads columns [16 kk, 16 kk + 16): panel
  // 16 kk / C, 32 bytes per step inside it. Stride byte offset: 8 rows;
  // leading byte offset unused (16).
  sm90::SwizzleLayout layout = sm90::SwizzleLayout::forDim(headDim);
  int64_t rowBytes = layout.rowBytes();
  Value warpgroup = arith::DivUIOp::create(
      b, loc, warp, index(sm90::kWarpgroupRows / kRowsPerWarp));
  Value qBase =
      addIdx(qAddress, mulIdx(warpgroup, sm90::kWarpgroupRows * rowBytes));
  Value kBase = addIdx(kAddress, mulIdx(stage, tileK * headDim * 2));
  // One descriptor per operand; each k-step adds a constant to it.
  Value qDesc =
      sm90::smemDescriptor(b, loc, qBase, 16, layout.atomBytes(), layout);
  Value kDesc =
      sm90::smemDescriptor(b, loc, kBase, 16, layout.atomBytes(), layout);
  sm90::WgmmaGemm gemm;
  gemm.n = tileK;
  gemm.elementType = elementType;
  for (int64_t kk = 0; kk < headDim / 16; ++kk) {
    int64_t panel = 16 * kk / layout.columns;
    int64_t within = (16 * kk % layout.columns) * 2;
    gemm.a.push_back({sm90::advanceDescriptor(
        b, loc, qDesc, panel * tileQ * rowBytes + within)});
    gemm.b.push_back(sm90::advanceDescriptor(
        b, loc, kDesc, panel * tileK * rowBytes + within));
  }
  return fragments(b, loc, sm90::emitWgmma(b, loc, gemm, /*wait=*/false));
}

SmallVector<Value> KernelBuilder::wgmmaPV(ArrayRef<Value> pFrags,
                                          ArrayRef<Value> outAcc, Value stage,
                                          bool wait) {
  // B = V (N-major: head-dim columns contiguous): k-step kb reads keys
  // [16 kb, 16 kb + 16), two 8-row atoms (stride byte offset) of every
  // panel (leading byte offset: one panel of tileK rows).
  sm90::SwizzleLayout layout = sm90::SwizzleLayout::forDim(headDimV);
  int64_t rowBytes = layout.rowBytes();
  Value vBase = addIdx(vAddress, mulIdx(stage, tileK * headDimV * 2));
  Value vDesc = sm90::smemDescriptor(b, loc, vBase, tileK * rowBytes,
                                     layout.atomBytes(), layout);
  sm90::WgmmaGemm gemm;
  gemm.n = headDimV;
  gemm.elementType = elementType;
  gemm.bTransposed = true;
  for (auto [kb, frag] : llvm::enumerate(pFrags)) {
    SmallVector<Value> regs;
    for (int64_t r = 0; r < 4; ++r)
      regs.push_back(LLVM::BitcastOp::create(
          b, loc, b.getI32Type(),
          vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{r})));
    gemm.a.push_back(regs);
    gemm.b.push_back(
        sm90::advanceDescriptor(b, loc, vDesc, int64_t(kb) * 16 * rowBytes));
  }
  gemm.acc = values(b, loc, outAcc);
  return fragments(b, loc, sm90::emitWgmma(b, loc, gemm, wait));
}

SmallVector<Value> KernelBuilder::wgmmaWait(int64_t pending,
                                            ArrayRef<Value> accumulators) {
  return fragments(
      b, loc,
      sm90::emitWgmmaWait(b, loc, pending, values(b, loc, accumulators)));
}

SmallVector<Value> KernelBuilder::tileKeepBits(Value k0) {
  FragmentCoords coords = fragmentCoords(k0);
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  SmallVector<Value> words(keepBitWords(), zero);
  ElementValueCache cache;
  for (int64_t n = 0; n < tileK / 8; ++n)
    for (int y = 0; y < 2; ++y) {
      auto [column32, column] = fragmentColumn(coords, n, y);
      Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                            column32, coords.seqK32);
      int64_t c = 2 * n + y;
      for (int x = 0; x < 2; ++x) {
        Value keep =
            arith::AndIOp::create(b, loc, inRange,
                                  emitMaskKeep(b, op, buf, coords.rowPos[x],
                                               coords.row[x], column, &cache));
        Value bit = arith::SelectOp::create(
            b, loc, keep,
            arith::ConstantOp::create(
                b, loc, b.getI32IntegerAttr(int32_t(1u << (c % 32)))),
            zero);
        Value &word = words[2 * (c / 32) + x];
        word = arith::OrIOp::create(b, loc, word, bit);
      }
    }
  return words;
}
