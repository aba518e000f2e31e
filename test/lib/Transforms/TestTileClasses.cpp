//===- TestTileClasses.cpp - print the tile classification ----------------===//

#include "Transforms/TestPasses.h"
#include "attn/Analysis/TileClassification.h"
#include "attn/IR/AttnOps.h"

#include "llvm/Support/MathExtras.h"

#include <string>

namespace mlir::attn::test {
#define GEN_PASS_DEF_ATTNTESTTILECLASSES
#include "Transforms/TestPasses.h.inc"
} // namespace mlir::attn::test

using namespace mlir;
using namespace mlir::attn;

namespace {
struct TestTileClassesPass
    : public attn::test::impl::AttnTestTileClassesBase<TestTileClassesPass> {
  using Base::Base;

  void runOnOperation() override {
    if (qTile <= 0 || kvTile <= 0) {
      getOperation()->emitError("q-tile and kv-tile must be > 0");
      return signalPassFailure();
    }
    getOperation()->walk([&](AttentionOp op) {
      ProblemShape shape = op.getProblemShape();
      if (op.isVarlen() || ShapedType::isDynamic(shape.seqQ) ||
          ShapedType::isDynamic(shape.seqK)) {
        op.emitRemark("tile classes need static, non-varlen lengths");
        return;
      }
      // One letter per tile: past kMaxTiles the report is unreadable (and
      // a 2^20-long sequence in 2-row tiles would take minutes), so say so.
      constexpr int64_t kMaxTiles = 1 << 16;
      int64_t rows = llvm::divideCeil(shape.seqQ, qTile);
      int64_t cols = llvm::divideCeil(shape.seqK, kvTile);
      if (rows > kMaxTiles || cols > kMaxTiles || rows * cols > kMaxTiles) {
        op.emitRemark("tile classes: ")
            << rows << " x " << cols << " tiles, more than the " << kMaxTiles
            << " this report prints; use larger q-tile/kv-tile";
        return;
      }
      StaticArith arith;
      std::string report = "tile classes (E empty, F full, P partial):";
      for (int64_t q0 = 0; q0 < shape.seqQ; q0 += qTile) {
        int64_t q1 = std::min(q0 + qTile, shape.seqQ);
        RowTileKeys<int64_t> keys = analyzeRowTile(arith, op.getMasksAttr(), q0,
                                                   q1, shape.seqQ, shape.seqK);
        report += "\n";
        for (int64_t k0 = 0; k0 < shape.seqK; k0 += kvTile) {
          switch (classifyTile(keys, k0, k0 + kvTile, shape.seqK)) {
          case TileClass::Empty:
            report += "E";
            break;
          case TileClass::Full:
            report += "F";
            break;
          case TileClass::Partial:
            report += "P";
            break;
          }
        }
      }
      op.emitRemark(report);
    });
  }
};
} // namespace
