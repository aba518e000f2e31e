//===- TileClassificationTest.cpp - tile classes vs. brute force ----------===//
//
// Property test of the mask analysis: on random sequence lengths, tile
// sizes and conjunctions of analytic atoms, every tile called Empty keeps no
// (i, j) pair and every tile called Full keeps all of them, checked pair by
// pair against the atoms' definitions. It also checks that the
// classification is not trivially conservative: on a pure causal mask every
// tile strictly below the diagonal is Full.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/TileClassification.h"
#include "attn/Reference/MaskReference.h"
#include "attn/IR/AttnDialect.h"
#include "attn/IR/AttnOps.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <random>

using namespace mlir;
using namespace mlir::attn;

namespace {
class TileClassificationTest : public ::testing::Test {
protected:
  TileClassificationTest() { context.loadDialect<AttnDialect>(); }

  Alignment randomAlign() {
    return rng() % 2 ? Alignment::top_left : Alignment::bottom_right;
  }

  Attribute randomAtom(int depth = 0) {
    MLIRContext *ctx = &context;
    switch (rng() % (depth == 0 ? 5 : 4)) {
    case 0:
      return CausalAttr::get(ctx, randomAlign());
    case 1:
      return SlidingWindowAttr::get(ctx, int64_t(rng() % 12) - 1,
                                    int64_t(rng() % 12) - 1, randomAlign());
    case 2:
      return PrefixLMAttr::get(ctx, rng() % 20, randomAlign());
    case 3:
      return ChunkedAttr::get(ctx, 1 + rng() % 10, randomAlign());
    default:
      return OrMaskAttr::get(ctx, ArrayAttr::get(ctx, {randomAtom(depth + 1),
                                                       randomAtom(depth + 1)}));
    }
  }

  bool keeps(ArrayRef<Attribute> atoms, int64_t i, int64_t j, int64_t seqQ,
             int64_t seqK) {
    for (Attribute atom : atoms)
      if (!reference::analyticKeeps(atom, i, j, seqQ, seqK))
        return false;
    return true;
  }

  MLIRContext context;
  std::mt19937 rng{20261121};
};

TEST_F(TileClassificationTest, EmptyAndFullAgreeWithDefinitions) {
  StaticArith arith;
  int64_t empties = 0, fulls = 0, partials = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    int64_t seqQ = 1 + rng() % 40, seqK = 1 + rng() % 40;
    int64_t qTile = 1 + rng() % 9, kvTile = 1 + rng() % 9;
    SmallVector<Attribute> atoms;
    for (int n = rng() % 3; n >= 0; --n)
      atoms.push_back(randomAtom());
    ArrayAttr masks = ArrayAttr::get(&context, atoms);
    for (int64_t q0 = 0; q0 < seqQ; q0 += qTile) {
      int64_t q1 = std::min(q0 + qTile, seqQ);
      RowTileKeys<int64_t> keys =
          analyzeRowTile(arith, masks, q0, q1, seqQ, seqK);
      for (int64_t k0 = 0; k0 < seqK; k0 += kvTile) {
        int64_t k1 = k0 + kvTile;
        TileClass tileClass = classifyTile(keys, k0, k1, seqK);
        bool any = false, all = true;
        for (int64_t i = q0; i < q1; ++i)
          for (int64_t j = k0; j < std::min(k1, seqK); ++j) {
            bool kept = keeps(atoms, i, j, seqQ, seqK);
            any |= kept;
            all &= kept;
          }
        if (tileClass == TileClass::Empty) {
          ++empties;
          ASSERT_FALSE(any) << "tile [" << q0 << "," << q1 << ")x[" << k0 << ","
                            << k1 << ") called empty keeps a pair";
        } else if (tileClass == TileClass::Full) {
          ++fulls;
          ASSERT_TRUE(all) << "tile [" << q0 << "," << q1 << ")x[" << k0 << ","
                           << k1 << ") called full masks a pair";
        } else {
          ++partials;
        }
      }
    }
  }
  // The random cases exercise all three classes.
  EXPECT_GT(empties, 1000);
  EXPECT_GT(fulls, 1000);
  EXPECT_GT(partials, 1000);
}

TEST_F(TileClassificationTest, CausalBelowDiagonalIsFull) {
  StaticArith arith;
  ArrayAttr masks = ArrayAttr::get(
      &context, {CausalAttr::get(&context, Alignment::top_left)});
  const int64_t seq = 64, tile = 8;
  for (int64_t q0 = 0; q0 < seq; q0 += tile) {
    RowTileKeys<int64_t> keys =
        analyzeRowTile(arith, masks, q0, q0 + tile, seq, seq);
    for (int64_t k0 = 0; k0 < seq; k0 += tile) {
      TileClass expected = k0 < q0    ? TileClass::Full
                           : k0 == q0 ? TileClass::Partial
                                      : TileClass::Empty;
      EXPECT_EQ(classifyTile(keys, k0, k0 + tile, seq), expected)
          << "q0 = " << q0 << ", k0 = " << k0;
    }
  }
}
} // namespace
