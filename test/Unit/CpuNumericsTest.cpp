//===- CpuNumericsTest.cpp - the lowering, executed, against the oracle ---===//
//
// Each test compiles an attn.attention through --attn-lower-to-cpu, runs it
// on fresh random inputs with poisoned outputs, and compares every output
// element and every lse entry with the by-definition oracle in double
// (AttentionCase.h states the tolerance and why). The relative error of each
// case is printed so that a run doubles as an error report.
//
//===----------------------------------------------------------------------===//

#include "AttentionCase.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

using namespace attn_test;

namespace {
constexpr ElementType F32 = ElementType::F32;
constexpr ElementType F16 = ElementType::F16;
constexpr ElementType BF16 = ElementType::BF16;

void expectMatches(AttentionCase &c) {
  CaseReport report = c.check();
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "[ numerics ] " << info->name() << ": max rel error "
            << report.maxRelError << ", max lse error " << report.maxLseError
            << ", fully masked rows " << report.maskedRows << "\n";
  EXPECT_TRUE(report.ok) << report.message;
}

//===----------------------------------------------------------------------===//
// Lengths, dtypes, layouts, GQA
//===----------------------------------------------------------------------===//

TEST(CpuNumerics, PlainF32) {
  AttentionCase c(F32, 2, 17, 17, 2, 2, 16);
  expectMatches(c);
}

TEST(CpuNumerics, LengthOne) {
  AttentionCase c(F32, 3, 1, 1, 2, 1, 8);
  expectMatches(c);
}

TEST(CpuNumerics, Length100NotTileMultiple) {
  AttentionCase c(F32, 1, 100, 100, 2, 2, 16);
  c.mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, Length1000) {
  AttentionCase c(F32, 1, 1000, 1000, 1, 1, 16);
  c.mask("#attn.causal<top_left>").tiles(64, 64);
  expectMatches(c);
}

TEST(CpuNumerics, ManyTilesKeepTheStackFlat) {
  // 64 heads x 4 q tiles, each with 64 x (256 + 2)
  // floats of state on the stack: 17 MiB if the tile loops never released
  // their stack (the default stack is 8 MiB), 66 KiB when each iteration
  // does (attn-scope-loop-allocas).
  AttentionCase c(F32, 1, 256, 16, 64, 64, 256);
  c.tiles(64, 64);
  expectMatches(c);
}

TEST(CpuNumerics, F16) {
  AttentionCase c(F16, 2, 33, 47, 4, 2, 32);
  c.mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, BF16) {
  AttentionCase c(BF16, 2, 33, 47, 4, 2, 32);
  c.mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, BhsdLayout) {
  AttentionCase c(F32, 2, 19, 23, 4, 2, 16);
  c.bhsd().mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, GqaAndValueHeadDim) {
  AttentionCase c(F32, 2, 20, 30, 8, 2, 16, 24);
  expectMatches(c);
}

TEST(CpuNumerics, Mqa) {
  AttentionCase c(BF16, 1, 40, 40, 4, 1, 64);
  c.mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, ExplicitScaleNoLse) {
  AttentionCase c(F32, 1, 24, 24, 2, 2, 16);
  c.scale(0.7).withLse(false);
  expectMatches(c);
}

//===----------------------------------------------------------------------===//
// Masks
//===----------------------------------------------------------------------===//

TEST(CpuNumerics, CausalTopLeftSqLessThanSk) {
  AttentionCase c(F32, 2, 17, 100, 2, 2, 16);
  c.mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, CausalBottomRightSqLessThanSk) {
  AttentionCase c(F32, 2, 17, 100, 2, 2, 16);
  c.mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, CausalBottomRightFullyMaskedRows) {
  // Sq > Sk, bottom-right: rows i < Sq - Sk keep no key: out 0, lse -inf.
  AttentionCase c(F32, 1, 100, 17, 2, 2, 16);
  c.mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, SlidingWindow) {
  AttentionCase c(F32, 2, 70, 70, 2, 2, 16);
  c.mask("#attn.sliding_window<left = 8, right = 4, align = top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, SlidingWindowBottomRightCausal) {
  AttentionCase c(BF16, 1, 30, 90, 2, 1, 32);
  c.mask("#attn.sliding_window<left = 20, right = 0, align = bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, PrefixLM) {
  AttentionCase c(F32, 2, 50, 50, 2, 2, 16);
  c.mask("#attn.prefix_lm<prefix = 13, align = top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, ChunkedCausal) {
  AttentionCase c(F32, 1, 64, 64, 2, 2, 16);
  c.mask("#attn.chunked<size = 24, align = top_left>")
      .mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, OrOfAnalyticMasks) {
  AttentionCase c(F32, 1, 60, 60, 2, 2, 16);
  c.orMask("#attn.sliding_window<left = 4, right = 0, align = top_left>",
           "#attn.prefix_lm<prefix = 6, align = top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, DocumentCausal) {
  AttentionCase c(F32, 2, 80, 80, 2, 2, 16);
  c.documents(4).mask("#attn.causal<top_left>");
  expectMatches(c);
}

// The tiling reads the ids to narrow each query tile's keys
// (DocumentKeys.h): unsorted ids (no key range is exact, few tiles full),
// and queries and keys with their own ids beside a window.
TEST(CpuNumerics, DocumentUnsortedCausal) {
  AttentionCase c(F32, 2, 90, 90, 2, 2, 16);
  c.documents(3, /*sorted=*/false).mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, DocumentCrossWithWindow) {
  AttentionCase c(F32, 2, 50, 130, 2, 1, 16);
  c.documents(5).mask(
      "#attn.sliding_window<left = 40, right = 8, align = bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, CustomMaskBool) {
  AttentionCase c(F32, 2, 30, 41, 2, 2, 16);
  c.customMask(/*packed=*/false);
  expectMatches(c);
}

TEST(CpuNumerics, CustomMaskPackedBits) {
  AttentionCase c(F16, 2, 30, 41, 2, 2, 16);
  c.customMask(/*packed=*/true, 0.5);
  expectMatches(c);
}

TEST(CpuNumerics, MaskModRegion) {
  // keep j <= i, or j a multiple of 5 ("global" tokens).
  AttentionCase c(F32, 1, 45, 45, 2, 2, 16);
  c.maskMod(R"(    %c5 = arith.constant 5 : index
    %c0 = arith.constant 0 : index
    %r = arith.remui %j, %c5 : index
    %global = arith.cmpi eq, %r, %c0 : index
    %causal = arith.cmpi ule, %j, %i : index
    %keep = arith.ori %global, %causal : i1
    attn.yield %keep : i1)",
            [](const Pair &p) { return p.j % 5 == 0 || p.j <= p.i; });
  expectMatches(c);
}

//===----------------------------------------------------------------------===//
// Score modifications and compositions
//===----------------------------------------------------------------------===//

TEST(CpuNumerics, Softcap) {
  AttentionCase c(F32, 2, 33, 33, 2, 2, 16);
  c.softcap(2.5);
  expectMatches(c);
}

TEST(CpuNumerics, AlibiPerHead) {
  AttentionCase c(F32, 2, 40, 40, 4, 2, 16);
  c.alibi(/*perBatch=*/false).mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, AlibiPerBatchSqNeSk) {
  AttentionCase c(F32, 2, 20, 50, 4, 4, 16);
  c.alibi(/*perBatch=*/true);
  expectMatches(c);
}

TEST(CpuNumerics, BiasBroadcastBatch) {
  AttentionCase c(F32, 2, 25, 35, 2, 2, 16);
  c.bias(/*broadcastBatch=*/true);
  expectMatches(c);
}

TEST(CpuNumerics, ScoreModRegion) {
  // s + 0.1 * h - 0.05 * (i - j)
  AttentionCase c(F32, 1, 30, 30, 3, 3, 16);
  c.scoreMod(R"(    %hi = arith.index_cast %h : index to i64
    %hf = arith.sitofp %hi : i64 to f32
    %c01 = arith.constant 0.1 : f32
    %t0 = arith.mulf %hf, %c01 : f32
    %d = arith.subi %i, %j : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %c005 = arith.constant 0.05 : f32
    %t1 = arith.mulf %df, %c005 : f32
    %a = arith.addf %s, %t0 : f32
    %r = arith.subf %a, %t1 : f32
    attn.yield %r : f32)",
             [](double s, const Pair &p) {
               return s + 0.1 * p.h - 0.05 * double(p.i - p.j);
             });
  expectMatches(c);
}

TEST(CpuNumerics, CompositionCausalWindowSoftcapAlibi) {
  AttentionCase c(BF16, 2, 64, 64, 4, 2, 32);
  c.mask("#attn.causal<top_left>")
      .mask("#attn.sliding_window<left = 16, right = -1, align = top_left>")
      .softcap(5.0)
      .alibi(false);
  expectMatches(c);
}

//===----------------------------------------------------------------------===//
// Sinks, sparse softmax, gates, block sparsity
//===----------------------------------------------------------------------===//

TEST(CpuNumerics, Sinks) {
  AttentionCase c(F32, 2, 30, 30, 4, 2, 16);
  c.sinks().mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, SinksWithFullyMaskedRows) {
  // Rows that keep no key still have the sink: out 0, finite lse.
  AttentionCase c(F32, 1, 40, 10, 2, 2, 16);
  c.sinks().mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, SparseSoftmaxExplicitThreshold) {
  AttentionCase c(F32, 1, 64, 128, 2, 2, 16);
  c.sparseSoftmax(0.05, 16);
  expectMatches(c);
}

TEST(CpuNumerics, SparseSoftmaxDefaultThreshold) {
  // Default threshold head_dim / Sk = 16 / 96.
  AttentionCase c(F32, 2, 48, 96, 2, 1, 16);
  c.sparseSoftmax(std::nullopt, 16).mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, GateLogsigmoidAdaptiveThreshold) {
  AttentionCase c(F32, 2, 40, 40, 4, 2, 16);
  c.gate(/*logsigmoid=*/true, -1.0, /*adaptive=*/true);
  expectMatches(c);
}

TEST(CpuNumerics, GateLinear) {
  AttentionCase c(F32, 1, 30, 30, 2, 2, 16);
  c.gate(/*logsigmoid=*/false, std::nullopt, false)
      .mask("#attn.causal<top_left>");
  expectMatches(c);
}

TEST(CpuNumerics, BlockSparse) {
  AttentionCase c(F32, 2, 50, 70, 2, 2, 16);
  c.blockSparse(16, 16, /*withFull=*/false);
  expectMatches(c);
}

TEST(CpuNumerics, BlockSparseWithFullBlocksAndMaskMod) {
  // Partial blocks evaluate the mask_mod; full blocks skip it.
  AttentionCase c(F32, 1, 64, 64, 2, 2, 16);
  c.blockSparse(16, 32, /*withFull=*/true)
      .maskMod(R"(    %keep = arith.cmpi ule, %j, %i : index
    attn.yield %keep : i1)",
               [](const Pair &p) { return p.j <= p.i; });
  expectMatches(c);
}

//===----------------------------------------------------------------------===//
// Varlen
//===----------------------------------------------------------------------===//

TEST(CpuNumerics, VarlenCausalBottomRight) {
  AttentionCase c(F32, 0, 0, 0, 4, 2, 16);
  c.varlen({1, 17, 40}, {5, 17, 60}).mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, VarlenSequsedEmptySequence) {
  AttentionCase c(F32, 0, 0, 0, 2, 2, 16);
  c.varlen({10, 0, 33}, {12, 4, 30}).seqused({7, 0, 33}, {12, 2, 25});
  c.mask("#attn.causal<top_left>");
  expectMatches(c);
}

// Dense seqused (flash_attention's seq_lens): keys past seqused_k[b] hold
// NaN and are never read; rows past seqused_q[b] give 0 / -inf.
TEST(CpuNumerics, DenseSequsedNaNPadding) {
  AttentionCase c(F32, 3, 40, 40, 2, 2, 16);
  c.seqused({10, 0, 40}, {10, 0, 33}).nanPastSeqused();
  c.mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

TEST(CpuNumerics, DenseSequsedBhsdBF16) {
  AttentionCase c(BF16, 2, 70, 70, 2, 1, 32);
  c.bhsd().seqused({70, 5}, {64, 5}).nanPastSeqused();
  expectMatches(c);
}

TEST(CpuNumerics, VarlenDocumentsCustomMaskGate) {
  AttentionCase c(BF16, 0, 0, 0, 4, 2, 32);
  c.varlen({9, 21}, {9, 21})
      .documents(3)
      .customMask(/*packed=*/true, 0.8)
      .gate(true, -2.0, false);
  expectMatches(c);
}

TEST(CpuNumerics, VarlenBoolCustomMaskSinksAlibi) {
  AttentionCase c(F16, 0, 0, 0, 2, 1, 16);
  c.varlen({13, 5}, {20, 5}).customMask(false, 0.6).sinks().alibi(false);
  expectMatches(c);
}
} // namespace

//===----------------------------------------------------------------------===//
// Rotary position embedding
//===----------------------------------------------------------------------===//

namespace {
// Sq < Sk with the queries at the end (FlashInfer's append / decode), GQA,
// positions up to 300 so that the high-frequency pairs turn many times.
TEST(CpuNumerics, RopeBottomRightGqa) {
  AttentionCase c(F32, 2, 37, 300, 4, 2, 32);
  c.rope(1e4, 1.0, /*bottomRight=*/true).mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

// Top-left positions, a scaled rope (positions divided by 4) and theta
// 5e5 (LLaMA 3), Dv != D, lse.
TEST(CpuNumerics, RopeTopLeftScaledLse) {
  AttentionCase c(BF16, 1, 70, 90, 2, 2, 64, 32);
  c.rope(5e5, 4.0, /*bottomRight=*/false).withLse();
  expectMatches(c);
}

// Varlen sequences: each sequence's positions start at 0 (queries at the
// end of their own keys); an empty sequence and a single query included.
TEST(CpuNumerics, RopeVarlen) {
  AttentionCase c(F16, 0, 0, 0, 2, 1, 16);
  c.varlen({5, 0, 1, 30}, {40, 3, 9, 30}).rope(1e4, 1.0, true).softcap(20.0);
  expectMatches(c);
}

} // namespace

//===----------------------------------------------------------------------===//
// fp8 KV cache
//===----------------------------------------------------------------------===//

namespace {
// k/v in f8E4M3FN (values rounded to e4m3 on the host, subnormals and
// both signs included at amplitude 2), dequantized with k_scale / v_scale.
TEST(CpuNumerics, Fp8KvScalesGqaCausal) {
  AttentionCase c(BF16, 2, 33, 70, 4, 2, 32);
  c.fp8KV(0.75, 1.5).mask("#attn.causal<bottom_right>");
  expectMatches(c);
}

// No scale operands (scale 1), f16 q, varlen, lse.
TEST(CpuNumerics, Fp8KvVarlenNoScales) {
  AttentionCase c(F16, 0, 0, 0, 2, 1, 16);
  c.varlen({5, 0, 20}, {9, 3, 20}).fp8KV(std::nullopt, std::nullopt);
  expectMatches(c);
}

// fp8 K/V with RoPE: dequantized, then rotated.
TEST(CpuNumerics, Fp8KvWithRope) {
  AttentionCase c(F16, 1, 8, 90, 2, 2, 32);
  c.fp8KV(0.5, std::nullopt).rope(1e4, 1.0, true);
  expectMatches(c);
}

// Keys past seqused_k hold fp8 NaN (0x7F): never read.
TEST(CpuNumerics, Fp8KvNaNPastSeqused) {
  AttentionCase c(BF16, 2, 16, 40, 2, 2, 16);
  c.fp8KV(2.0, 0.25).seqused({16, 3}, {40, 11}).nanPastSeqused();
  expectMatches(c);
}
} // namespace
