//===- Float8.cpp - fp8 (e4m3) values as f32 ------------------------------===//

#include "attn/Transforms/Float8.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;

Value mlir::attn::emitE4M3ToF32(OpBuilder &b, Location loc, Value x) {
  auto i32 = b.getI32Type();
  auto f32 = b.getF32Type();
  auto c = [&](int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  };
  auto cf = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Value bits = arith::ExtUIOp::create(
      b, loc, i32, arith::BitcastOp::create(b, loc, b.getI8Type(), x));
  Value sign = arith::AndIOp::create(b, loc, bits, c(0x80));
  Value exponent = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, c(3)), c(0xF));
  Value mantissa = arith::AndIOp::create(b, loc, bits, c(7));
  // Normal: f32 sign at bit 31, exponent e - 7 + 127 at bits 23..30, the
  // three mantissa bits at the top of f32's 23.
  Value normalBits = arith::OrIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, sign, c(24)),
      arith::OrIOp::create(
          b, loc,
          arith::ShLIOp::create(
              b, loc, arith::AddIOp::create(b, loc, exponent, c(120)), c(23)),
          arith::ShLIOp::create(b, loc, mantissa, c(20))));
  Value normal = arith::BitcastOp::create(b, loc, f32, normalBits);
  // Subnormal: m * 2^-9, signed.
  Value magnitude = arith::MulFOp::create(
      b, loc, arith::SIToFPOp::create(b, loc, f32, mantissa),
      cf(std::ldexp(1.0, -9)));
  Value negative =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, sign, c(0));
  Value subnormal = arith::SelectOp::create(
      b, loc, negative, arith::NegFOp::create(b, loc, magnitude), magnitude);
  Value isSubnormal =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, exponent, c(0));
  Value value = arith::SelectOp::create(b, loc, isSubnormal, subnormal, normal);
  Value isNaN = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, bits, c(0x7F)), c(0x7F));
  return arith::SelectOp::create(
      b, loc, isNaN, cf(std::numeric_limits<double>::quiet_NaN()), value);
}
