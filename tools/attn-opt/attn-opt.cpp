//===- attn-opt.cpp - The attn optimizer driver ---------------------------===//
//
// mlir-opt with the attn dialect and passes, plus the upstream dialects and
// passes that the CPU and GPU lowerings produce and use. The input is
// checked for nesting the parser cannot survive (SourceLimits.h) first.
//
//===----------------------------------------------------------------------===//

#include "Help.h"
#include "Transforms/TestPasses.h"
#include "attn/CPU/Pipeline.h"
#include "attn/Conversion/Passes.h"
#include "attn/GPU/Pipeline.h"
#include "attn/IR/AttnDialect.h"
#include "attn/Support/SourceLimits.h"
#include "attn/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::attn::registerAttnPasses();
  mlir::attn::test::registerAttnTestPasses();
  mlir::attn::registerLowerToCpuPipeline();
  mlir::attn::registerAttnConversionPasses();
  mlir::attn::registerLowerToGpuPipeline();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates GPU modules to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::attn::AttnDialect>();
  if (attn_opt::handleHelp(argc, argv, registry))
    return 0;

  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "Attn optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, input, output, registry));

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file = mlir::openInputFile(input, &error);
  if (!file) {
    llvm::errs() << error << "\n";
    return 1;
  }
  if (std::optional<size_t> offset =
          mlir::attn::findExcessNesting(file->getBuffer())) {
    llvm::errs() << input << ":"
                 << mlir::attn::describeExcessNesting(file->getBuffer(),
                                                      *offset)
                 << "\n";
    return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> out =
      mlir::openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << error << "\n";
    return 1;
  }
  if (mlir::failed(
          mlir::MlirOptMain(out->os(), std::move(file), registry, config)))
    return 1;
  out->keep();
  return 0;
}
