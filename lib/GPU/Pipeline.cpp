//===- Pipeline.cpp - the GPU lowering pipeline ---------------------------===//

#include "attn/GPU/Pipeline.h"
#include "attn/Conversion/GpuTarget.h"
#include "attn/Conversion/Passes.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void attn::buildLowerToGpuPipeline(OpPassManager &pm,
                                   const GpuPipelineOptions &options) {
  buildAttnFrontendPipeline(pm);
  AttnGPUKernelsOptions kernels;
  kernels.chip = options.chip;
  pm.addPass(createAttnGPUKernels(kernels));
  buildGpuKernelsToBinaryPipeline(pm, options);
}

void attn::buildGpuKernelsToBinaryPipeline(OpPassManager &pm,
                                           const GpuPipelineOptions &options) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  // An unsupported chip never gets here: attn-gpu-kernels (or the caller of
  // this part alone, compileKernelArtifact) rejects it first.
  if (llvm::Expected<GpuTarget> known = lookupGpuTarget(options.chip))
    target.features = known->ptxFeature.str();
  else
    llvm::consumeError(known.takeError());
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertNVGPUToNVVMPass());
  // cp.async copies fetch whole 128-byte lines into L2.
  pm.addPass(attn::createAttnCpAsyncL2Prefetch());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  // NVVM ops without an LLVM intrinsic (mbarrier.try_wait.parity's retry
  // loop) become inline PTX.
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Tensor maps travel as 128-byte grid_constant parameters.
  pm.addPass(attn::createAttnGridConstantParams());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  // ptxas warnings fail the build: a serialized wgmma (C7515) or an
  // ignored setmaxnreg (C7508) is a slow kernel nobody would notice.
  binary.cmdOptions = "--warning-as-error";
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void attn::registerLowerToGpuPipeline() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "attn-lower-to-gpu",
      "Lower attn.attention to tensor-core GPU kernels in a gpu.binary (PTX "
      "or cubin)",
      buildLowerToGpuPipeline);
}
