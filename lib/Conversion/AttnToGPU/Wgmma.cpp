//===- Wgmma.cpp - Hopper warpgroup MMA from shared memory ----------------===//

#include "Wgmma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <string>

using namespace mlir;

namespace mlir::attn::sm90 {

/// A side-effecting inline PTX block with `count` f32 results.
static SmallVector<Value> floatAsm(OpBuilder &b, Location loc,
                                   ValueRange operands, StringRef text,
                                   StringRef constraints, int64_t count) {
  auto resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(count, b.getF32Type()));
  auto inlineAsm = LLVM::InlineAsmOp::create(
      b, loc, resultType, operands, text, constraints,
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
  SmallVector<Value> result;
  for (int64_t i = 0; i < count; ++i)
    result.push_back(LLVM::ExtractValueOp::create(b, loc, inlineAsm.getRes(),
                                                  ArrayRef<int64_t>{i}));
  return result;
}

SharedTiles sharedTiles(int64_t blockQ, int64_t blockK, int64_t stages,
                        int64_t headDim, int64_t headDimV, int64_t mbarriers) {
  auto aligned = [](int64_t bytes) { return (bytes + 1023) / 1024 * 1024; };
  SharedTiles tiles;
  tiles.k = aligned(blockQ * headDim * 2);
  tiles.v = tiles.k + aligned(stages * blockK * headDim * 2);
  // V tiles are multiples of 32 bytes: the mbarriers stay 8-byte aligned.
  tiles.barriers = tiles.v + stages * blockK * headDimV * 2;
  tiles.total = tiles.barriers + 8 * mbarriers + 1024;
  return tiles;
}

Value swizzledOffset(OpBuilder &b, Location loc, Value row, Value col,
                     int64_t rows, SwizzleLayout layout) {
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  int64_t columns = layout.columns;
  Value panel = arith::DivUIOp::create(b, loc, col, c(columns));
  Value chunk = arith::DivUIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, col, c(columns)), c(8));
  // Address bits 7.. of row r: r / (128 / row bytes), over chunks values.
  Value phase = arith::RemUIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, row, c(128 / layout.rowBytes())),
      c(columns / 8));
  Value swizzled = arith::XOrIOp::create(b, loc, chunk, phase);
  // (panel * rows + row) * columns + swizzled chunk * 8 + col mod 8
  Value offset = arith::MulIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc,
                            arith::MulIOp::create(b, loc, panel, c(rows)), row),
      c(columns));
  offset = arith::AddIOp::create(b, loc, offset,
                                 arith::MulIOp::create(b, loc, swizzled, c(8)));
  return arith::AddIOp::create(b, loc, offset,
                               arith::RemUIOp::create(b, loc, col, c(8)));
}

Value smemDescriptor(OpBuilder &b, Location loc, Value address, int64_t leading,
                     int64_t stride, SwizzleLayout layout) {
  // Bits 0-13: address >> 4; 16-29: leading byte offset >> 4; 32-45: stride
  // byte offset >> 4; 49-51: base offset (0: panels are 1024-aligned);
  // 62-63: swizzle mode. A shared address is below 2^18, so the address
  // field is added, not masked.
  uint64_t fixed = (uint64_t(leading >> 4) << 16) |
                   (uint64_t(stride >> 4) << 32) |
                   (uint64_t(layout.mode()) << 62);
  Value field = arith::IndexCastUIOp::create(
      b, loc, b.getI64Type(),
      arith::ShRUIOp::create(b, loc, address,
                             arith::ConstantIndexOp::create(b, loc, 4)));
  return arith::AddIOp::create(
      b, loc, field,
      arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(int64_t(fixed))));
}

Value advanceDescriptor(OpBuilder &b, Location loc, Value descriptor,
                        int64_t bytes) {
  assert(bytes % 16 == 0 && "operands start on 16-byte boundaries");
  if (bytes == 0)
    return descriptor;
  return arith::AddIOp::create(
      b, loc, descriptor,
      arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(bytes >> 4)));
}

SmallVector<Value> emitWgmma(OpBuilder &b, Location loc, const WgmmaGemm &gemm,
                             bool wait) {
  int64_t accCount = gemm.n / 2;
  bool accumulate = !gemm.acc.empty();
  bool registerA = gemm.a.front().size() == 4;
  StringRef type = gemm.elementType.isBF16() ? "bf16" : "f16";

  // Operands: accCount outputs, then the A and B operands of every step, a
  // zero register for the scale-d predicates, then the accumulators tied to
  // the outputs.
  SmallVector<Value> operands;
  std::string constraints;
  for (int64_t i = 0; i < accCount; ++i)
    constraints += (i ? ",=f" : "=f");
  int64_t next = accCount;
  SmallVector<std::string> aText, bText;
  for (size_t step = 0; step < gemm.b.size(); ++step) {
    if (registerA) {
      std::string regs;
      for (Value reg : gemm.a[step]) {
        regs += (regs.empty() ? "{$" : ", $") + std::to_string(next++);
        operands.push_back(reg);
        constraints += ",r";
      }
      aText.push_back(regs + "}");
    } else {
      aText.push_back("$" + std::to_string(next++));
      operands.push_back(gemm.a[step].front());
      constraints += ",l";
    }
    bText.push_back("$" + std::to_string(next++));
    operands.push_back(gemm.b[step]);
    constraints += ",l";
  }
  int64_t zero = next++;
  operands.push_back(arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0)));
  constraints += ",r";
  for (int64_t i = 0; accumulate && i < accCount; ++i) {
    operands.push_back(gemm.acc[i]);
    constraints += "," + std::to_string(i);
  }

  std::string accText;
  for (int64_t i = 0; i < accCount; ++i)
    accText += (i ? ", $" : "$") + std::to_string(i);
  // zd / od: the scale-d predicates false / true (from a zero register:
  // scale-d takes no immediate).
  std::string zeroReg = "$" + std::to_string(zero);
  std::string asmText = "{\n.reg .pred zd, od;\nsetp.ne.b32 zd, " + zeroReg +
                        ", 0;\nsetp.eq.b32 od, " + zeroReg +
                        ", 0;\nwgmma.fence.sync.aligned;\n";
  std::string shape = "wgmma.mma_async.sync.aligned.m64n" +
                      std::to_string(gemm.n) + "k16.f32." + type.str() + "." +
                      type.str() + " {" + accText + "}, ";
  for (size_t step = 0; step < gemm.b.size(); ++step) {
    // The first step of D = A B ignores the accumulators; imm-scale-a/b 1;
    // imm-trans-a (A from shared memory only) 0; imm-trans-b.
    std::string scaleD = (!accumulate && step == 0) ? "zd" : "od";
    asmText += shape + aText[step] + ", " + bText[step] + ", " + scaleD +
               ", 1, 1, " + (registerA ? "" : "0, ") +
               (gemm.bTransposed ? "1" : "0") + ";\n";
  }
  asmText += "wgmma.commit_group.sync.aligned;\n";
  if (wait)
    asmText += "wgmma.wait_group.sync.aligned 0;\n";
  asmText += "}";

  return floatAsm(b, loc, operands, asmText, constraints, accCount);
}

SmallVector<Value> emitWgmmaWait(OpBuilder &b, Location loc, int64_t pending,
                                 ArrayRef<Value> accumulators) {
  int64_t count = accumulators.size();
  std::string constraints;
  for (int64_t i = 0; i < count; ++i)
    constraints += (i ? ",=f" : "=f");
  for (int64_t i = 0; i < count; ++i)
    constraints += "," + std::to_string(i);
  return floatAsm(b, loc, accumulators,
                  "wgmma.wait_group.sync.aligned " + std::to_string(pending) +
                      ";",
                  constraints, count);
}

} // namespace mlir::attn::sm90
