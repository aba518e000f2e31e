//===- NvvmMath.h - exp2/log2 as single PTX instructions --------*- C++ -*-===//
//
// ex2.approx / lg2.approx straight from the NVVM intrinsics: math.exp2
// would become a libdevice call, which needs the CUDA toolkit to link.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_NVVMMATH_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_NVVMMATH_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::attn {

/// 2^x (ex2.approx.ftz.f32; 2^-inf = 0). Flushing subnormals keeps it one
/// MUFU.EX2: without .ftz ptxas wraps each in a range check and two
/// multiplies (H100, d64: 357 -> 392 TFLOP/s). Probabilities below 2^-126
/// of the row maximum do not change a softmax.
inline Value emitExp2(OpBuilder &b, Location loc, Value x) {
  return LLVM::CallIntrinsicOp::create(
             b, loc, b.getF32Type(),
             b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"), x)
      .getResult(0);
}

/// log2 x (lg2.approx.f32).
inline Value emitLog2(OpBuilder &b, Location loc, Value x) {
  return LLVM::CallIntrinsicOp::create(
             b, loc, b.getF32Type(), b.getStringAttr("llvm.nvvm.lg2.approx.f"),
             x)
      .getResult(0);
}

/// tanh x (tanh.approx.f32: the SFU's tanh, max relative error 2^-10.99,
/// as FlashAttention's soft-capping uses; there is no NVVM intrinsic for it
/// in LLVM 22).
inline Value emitTanh(OpBuilder &b, Location loc, Value x) {
  return LLVM::InlineAsmOp::create(
             b, loc, b.getF32Type(), ValueRange{x}, "tanh.approx.f32 $0, $1;",
             "=f,f", /*has_side_effects=*/false, /*is_align_stack=*/false,
             LLVM::TailCallKind::None,
             LLVM::AsmDialectAttr::get(b.getContext(),
                                       LLVM::AsmDialect::AD_ATT),
             /*operand_attrs=*/ArrayAttr())
      .getRes();
}

/// (sin x, cos x) for any f32 x: x is first reduced to r = x - k 2pi in
/// [-pi, pi] (k = rint(x / 2pi); 2pi split in two f32 parts so that r is
/// exact to about 2^-24 of |x|), then sin.approx / cos.approx (the SFU's,
/// max absolute error 2^-20.9 on [-pi, pi]; outside it their error grows
/// with |x|, and RoPE angles reach 10^5).
inline std::pair<Value, Value> emitSinCos(OpBuilder &b, Location loc, Value x) {
  auto c = [&](double v) {
    return LLVM::ConstantOp::create(b, loc, b.getF32Type(),
                                    b.getF32FloatAttr(v));
  };
  constexpr double twoPi = 6.283185307179586;
  float hi = float(twoPi);
  Value k = LLVM::RintOp::create(
      b, loc, LLVM::FMulOp::create(b, loc, x, c(1.0 / twoPi)));
  Value negK = LLVM::FNegOp::create(b, loc, k);
  Value r = LLVM::FMAOp::create(b, loc, negK, c(hi), x);
  r = LLVM::FMAOp::create(b, loc, negK, c(twoPi - double(hi)), r);
  auto call = [&](const char *name) {
    return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(),
                                         b.getStringAttr(name), r)
        .getResult(0);
  };
  return {call("llvm.nvvm.sin.approx.ftz.f"),
          call("llvm.nvvm.cos.approx.ftz.f")};
}

} // namespace mlir::attn

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_NVVMMATH_H
