//===- GridConstantParams.cpp - tensor maps as grid_constant params -------===//
//
// attn-grid-constant-params: the arguments an llvm.func's
// `attn.grid_constants` lists become `llvm.byval = !llvm.array<128 x i8>`,
// `nvvm.grid_constant` parameters (Passes.td says why).
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNGRIDCONSTANTPARAMS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {
struct GridConstantParams
    : public attn::impl::AttnGridConstantParamsBase<GridConstantParams> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([](LLVM::LLVMFuncOp func) {
      auto positions = func->getAttrOfType<DenseI64ArrayAttr>(
          attn::kKernelGridConstantsAttr);
      if (!positions)
        return WalkResult::advance();
      MLIRContext *context = func.getContext();
      auto bytes = LLVM::LLVMArrayType::get(IntegerType::get(context, 8),
                                            attn::kTensorMapBytes);
      for (int64_t position : positions.asArrayRef()) {
        if (position < 0 || position >= int64_t(func.getNumArguments()) ||
            !isa<LLVM::LLVMPointerType>(func.getArgumentTypes()[position])) {
          func.emitError("attn.grid_constants names argument ")
              << position << ", which is not a pointer argument";
          return WalkResult::interrupt();
        }
        func.setArgAttr(position, LLVM::LLVMDialect::getByValAttrName(),
                        TypeAttr::get(bytes));
        func.setArgAttr(position, NVVM::NVVMDialect::getGridConstantAttrName(),
                        UnitAttr::get(context));
      }
      func->removeAttr(attn::kKernelGridConstantsAttr);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
