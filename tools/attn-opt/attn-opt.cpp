//===- attn-opt.cpp - The attn optimizer driver ---------------------------===//
//
// mlir-opt with the attn dialect and passes, plus the upstream dialects and
// passes that the CPU and GPU lowerings produce and use.
//
//===----------------------------------------------------------------------===//

#include "attn/CPU/Pipeline.h"
#include "attn/Conversion/Passes.h"
#include "attn/GPU/Pipeline.h"
#include "attn/IR/AttnDialect.h"
#include "attn/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::attn::registerAttnPasses();
  mlir::attn::registerLowerToCpuPipeline();
  mlir::attn::registerAttnConversionPasses();
  mlir::attn::registerLowerToGpuPipeline();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates GPU modules to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::attn::AttnDialect>();

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Attn optimizer driver\n", registry));
}
