//===- CpAsyncL2Prefetch.cpp - L2 prefetch hints on cp.async copies -------===//
//
// attn-cp-async-l2-prefetch: `cp.async.cg.shared.global [dst], [src], 16
// (, src_size)` becomes the same copy with `.L2::128B`, so that the L2
// fetches a whole 128-byte line per request (Passes.td says why).
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNCPASYNCL2PREFETCH
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {
struct CpAsyncL2Prefetch
    : public attn::impl::AttnCpAsyncL2PrefetchBase<CpAsyncL2Prefetch> {
  void runOnOperation() override {
    getOperation().walk([](NVVM::CpAsyncOp copy) {
      if (copy.getModifier() != NVVM::LoadCacheModifierKind::CG ||
          copy.getSize() != 16)
        return;
      OpBuilder b(copy);
      Location loc = copy.getLoc();
      // Both addresses as 64-bit registers (a shared one is a window
      // offset; PTX takes either width for the .shared operand).
      SmallVector<Value> operands;
      for (Value address : {copy.getDst(), copy.getSrc()})
        operands.push_back(
            LLVM::PtrToIntOp::create(b, loc, b.getI64Type(), address));
      std::string text = "cp.async.cg.shared.global.L2::128B [$0], [$1], 16";
      std::string constraints = "l,l";
      if (Value srcSize = copy.getCpSize()) {
        // Bytes read from src; the rest of the 16 are zero-filled.
        text += ", $2";
        constraints += ",r";
        operands.push_back(srcSize);
      }
      LLVM::InlineAsmOp::create(
          b, loc, TypeRange(), operands, text + ";", constraints,
          /*has_side_effects=*/true, /*is_align_stack=*/false,
          LLVM::TailCallKind::None,
          LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
          /*operand_attrs=*/ArrayAttr());
      copy.erase();
    });
  }
};
} // namespace
