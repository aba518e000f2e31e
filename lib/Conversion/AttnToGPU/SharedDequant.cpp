//===- SharedDequant.cpp - reading an fp8 KV cache ------------------------===//
//
// An fp8 (f8E4M3FN) cache is copied as bytes, half the traffic of f16, into
// byte stages (rows padded to fp8Pitch). Its values become q's element type
// exactly (cvt.rn.f16x2.e4m3x2: every e4m3 value is an f16 and a bf16
// value); k_scale multiplies S after Q K^T and v_scale the output rows, so
// the conversion itself is exact (Sm80Config's Fp8Read says which way):
//
//   fragments: each MMA B fragment is assembled from the bytes: K's two
//     adjacent values per register are one 16-bit load, V's (two keys of
//     one column, the transposed fragment) two byte loads; no f16 tile, no
//     barrier, and the CTA's shared memory is Q plus the byte stages;
//   pass: once a stage lands the CTA converts it, 16-byte units spread over
//     every thread, into one f16/bf16 K/V tile (where #attn.rope rewrites
//     the K tile afterwards).
//
//===----------------------------------------------------------------------===//

#include "Sm80KernelBuilder.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::sm80;

Value KernelBuilder::e4m3Pair(Value pair) {
  // cvt.rn.f16x2.e4m3x2 (sm_89+; no NVVM op for it in MLIR 22): the low
  // byte becomes the low half.
  Value bits =
      LLVM::InlineAsmOp::create(
          b, loc, b.getI32Type(), ValueRange{pair},
          "cvt.rn.f16x2.e4m3x2 $0, $1;", "=r,h", /*has_side_effects=*/false,
          /*is_align_stack=*/false, LLVM::TailCallKind::None,
          LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
          /*operand_attrs=*/ArrayAttr())
          .getRes();
  Value halves = LLVM::BitcastOp::create(
      b, loc, VectorType::get({2}, b.getF16Type()), bits);
  if (elementType.isF16())
    return halves;
  // bf16 holds every e4m3 value too: through f32, exactly.
  return arith::TruncFOp::create(
      b, loc, VectorType::get({2}, elementType),
      arith::ExtFOp::create(b, loc, VectorType::get({2}, f32), halves));
}

Value KernelBuilder::fp8KFragment(Value stage, int64_t n, int64_t kk) {
  // K[key 8n + group][dims 16kk + 2 quad + {0, 1}] and the same 8 dims on:
  // one 16-bit load each (the halves view indexes pairs of bytes).
  Value key = tileKey(addIdx(group, index(8 * n)));
  Value pairs[2];
  for (int64_t h = 0; h < 2; ++h) {
    Value col = addIdx(quad, index(8 * kk + 4 * h));
    pairs[h] = e4m3Pair(
        memref::LoadOp::create(b, loc, kHalves, ValueRange{stage, key, col}));
  }
  auto fragType = VectorType::get({2, 2}, elementType);
  Value frag = arith::ConstantOp::create(
      b, loc, fragType,
      DenseElementsAttr::get(fragType, b.getZeroAttr(elementType)));
  for (int64_t h = 0; h < 2; ++h)
    frag = vector::InsertOp::create(b, loc, pairs[h], frag, h);
  return frag;
}

Value KernelBuilder::fp8VFragment(Value stage, int64_t kb, int64_t nd) {
  // V[keys 16kb + 2 quad + {0, 1} (and + 8)][column 8nd + group]: two byte
  // loads packed low-key-first into the 16-bit pair the conversion takes.
  auto i16 = b.getI16Type();
  Value col = addIdx(group, index(8 * nd));
  Value key0 = tileKey(addIdx(mulIdx(quad, 2), index(16 * kb)));
  auto fragType = VectorType::get({2, 2}, elementType);
  Value frag = arith::ConstantOp::create(
      b, loc, fragType,
      DenseElementsAttr::get(fragType, b.getZeroAttr(elementType)));
  for (int64_t h = 0; h < 2; ++h) {
    Value bytes[2];
    for (int64_t e = 0; e < 2; ++e) {
      Value key = addIdx(key0, index(8 * h + e));
      bytes[e] = arith::ExtUIOp::create(
          b, loc, i16,
          memref::LoadOp::create(b, loc, vBytes8, ValueRange{stage, key, col}));
    }
    Value pair = arith::OrIOp::create(
        b, loc, bytes[0],
        arith::ShLIOp::create(
            b, loc, bytes[1],
            arith::ConstantOp::create(b, loc, b.getIntegerAttr(i16, 8))));
    frag = vector::InsertOp::create(b, loc, e4m3Pair(pair), frag, h);
  }
  return frag;
}

void KernelBuilder::dequantizeStage(Value stage) {
  dequantizeTile(kWords, kShared, stage, headDim);
  dequantizeTile(vWords, vShared, stage, headDimV);
}

void KernelBuilder::dequantizeTile(Value words, Value tile, Value stage,
                                   int64_t dim) {
  auto wordsType = VectorType::get({4}, b.getI32Type());
  // Unit (r, u): 16 bytes, words 4u .. 4u + 3 of row r, columns 16u ..
  // 16u + 15. Up to 8 units per thread unrolled: one warp of a decode CTA
  // converts a whole 32-key tile, and its loads must overlap (a rolled
  // loop of one word per step ran the d128 decode 1.7x slower than bf16).
  forEachTileUnit(
      tileK, dim / 16,
      [&](Value r, Value u) {
        Value four = vector::LoadOp::create(b, loc, wordsType, words,
                                            ValueRange{stage, r, mulIdx(u, 4)});
        for (int64_t w = 0; w < 4; ++w)
          dequantizeWord(vector::ExtractOp::create(b, loc, four, w), tile, r,
                         addIdx(mulIdx(u, 16), index(4 * w)));
      },
      {}, /*maxUnrolled=*/8);
}

void KernelBuilder::dequantizeWord(Value word, Value tile, Value r, Value col) {
  auto i16 = b.getI16Type();
  // Little-endian: the low half-word holds columns col and col + 1.
  Value low = e4m3Pair(arith::TruncIOp::create(b, loc, i16, word));
  Value high = e4m3Pair(arith::TruncIOp::create(
      b, loc, i16,
      arith::ShRUIOp::create(
          b, loc, word,
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)))));
  Value four = vector::ShuffleOp::create(b, loc, low, high,
                                         ArrayRef<int64_t>{0, 1, 2, 3});
  vector::StoreOp::create(b, loc, four, tile, ValueRange{index(0), r, col});
}
