//===- SharedDequant.cpp - an fp8 KV cache, dequantized in shared memory --===//
//
// An fp8 (f8E4M3FN) cache is copied as bytes, half the traffic of f16, into
// staging tiles beside the K/V tiles; once a stage lands, every thread
// converts a share of its 32-bit words (4 values each: two
// cvt.rn.f16x2.e4m3x2, exact, since e4m3 values are f16 values), scales
// them by k_scale / v_scale in f32 and stores them, rounded to the element
// type, into the one K and V tile the MMAs read (padded as in the f16 path;
// only the byte tiles are staged, so an fp8 kernel needs less shared memory
// than an f16 one: the d128 decode kernel 46 instead of 57 KB).
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

namespace {
/// Two e4m3 values (the low and high byte of `pair`, i16) as f16x2 (i32):
/// cvt.rn.f16x2.e4m3x2 (sm_89+; there is no NVVM op for it in MLIR 22).
Value e4m3PairToF16x2(OpBuilder &b, Location loc, Value pair) {
  return LLVM::InlineAsmOp::create(
             b, loc, b.getI32Type(), ValueRange{pair},
             "cvt.rn.f16x2.e4m3x2 $0, $1;", "=r,h",
             /*has_side_effects=*/false, /*is_align_stack=*/false,
             LLVM::TailCallKind::None,
             LLVM::AsmDialectAttr::get(b.getContext(),
                                       LLVM::AsmDialect::AD_ATT),
             /*operand_attrs=*/ArrayAttr())
      .getRes();
}
} // namespace

void KernelBuilder::dequantizeStage(Value stage) {
  dequantizeTile(kWords, kShared, stage, headDim, kScale);
  dequantizeTile(vWords, vShared, stage, headDimV, vScale);
}

void KernelBuilder::dequantizeTile(Value words, Value tile, Value stage,
                                   int64_t dim, Value scale) {
  auto quadF32 = VectorType::get({4}, f32);
  Value scales = vector::BroadcastOp::create(b, loc, quadF32, scale);
  auto wordsType = VectorType::get({4}, b.getI32Type());
  // Unit (r, u): 16 bytes, words 4u .. 4u + 3 of row r, columns 16u ..
  // 16u + 15. Up to 8 units per thread unrolled: one warp of a decode CTA
  // dequantizes a whole 32-key tile, and its loads must overlap (a rolled
  // loop of one word per step ran the d128 decode 1.7x slower than bf16).
  forEachTileUnit(
      tileK, dim / 16,
      [&](Value r, Value u) {
        Value four = vector::LoadOp::create(b, loc, wordsType, words,
                                            ValueRange{stage, r, mulIdx(u, 4)});
        for (int64_t w = 0; w < 4; ++w)
          dequantizeWord(vector::ExtractOp::create(b, loc, four, w), tile,
                         r, addIdx(mulIdx(u, 16), index(4 * w)), scales);
      },
      {}, /*maxUnrolled=*/8);
}

void KernelBuilder::dequantizeWord(Value word, Value tile, Value r, Value col,
                                   Value scales) {
  auto i16 = b.getI16Type();
  auto halves = VectorType::get({2}, b.getF16Type());
  auto convert = [&](Value pair) {
    return LLVM::BitcastOp::create(b, loc, halves,
                                   e4m3PairToF16x2(b, loc, pair))
        .getResult();
  };
  // Little-endian: the low half-word holds columns col and col + 1.
  Value low = convert(arith::TruncIOp::create(b, loc, i16, word));
  Value high = convert(arith::TruncIOp::create(
      b, loc, i16,
      arith::ShRUIOp::create(
          b, loc, word,
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)))));
  Value four = vector::ShuffleOp::create(b, loc, low, high,
                                         ArrayRef<int64_t>{0, 1, 2, 3});
  Value scaled = arith::MulFOp::create(
      b, loc, arith::ExtFOp::create(b, loc, scales.getType(), four), scales);
  vector::StoreOp::create(
      b, loc,
      arith::TruncFOp::create(b, loc, VectorType::get({4}, elementType),
                              scaled),
      tile, ValueRange{index(0), r, col});
}
