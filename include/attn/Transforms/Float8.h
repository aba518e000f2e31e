//===- Float8.h - fp8 (e4m3) values as f32 ----------------------*- C++ -*-===//
//
// An fp8 KV cache (f8E4M3FN k/v) is read as f32 by the CPU lowering: LLVM
// has no fp8 type to extend from, so the conversion is spelled out on the
// bits. (The GPU kernels convert pairs with cvt.rn.f16x2.e4m3x2.)
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_FLOAT8_H
#define ATTN_TRANSFORMS_FLOAT8_H

#include "mlir/IR/Builders.h"

namespace mlir::attn {

/// The f32 value of an f8E4M3FN scalar `x`, exactly: sign s, exponent e
/// (bias 7), mantissa m; (-1)^s 2^(e-7) (1 + m/8) for e > 0, (-1)^s m 2^-9
/// for e = 0 (subnormals), NaN for e = 15, m = 7 (the format has no
/// infinities).
Value emitE4M3ToF32(OpBuilder &b, Location loc, Value x);

} // namespace mlir::attn

#endif // ATTN_TRANSFORMS_FLOAT8_H
