//===- Pipeline.cpp - the CPU lowering pipeline ---------------------------===//

#include "attn/CPU/Pipeline.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void attn::buildLowerToCpuPipeline(OpPassManager &pm,
                                   const CpuPipelineOptions &options) {
  // Level 0 -> 1 -> 2 -> 3: the attn passes.
  buildAttnFrontendPipeline(pm);
  AttnTileOptions tile;
  tile.qTile = options.qTile;
  tile.kvTile = options.kvTile;
  pm.addPass(createAttnTile(tile));
  pm.addPass(createAttnOnlineSoftmax());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Tensors at the function boundary -> buffers, with deallocation.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // After the last canonicalization (which would inline the scopes): the
  // tile loops' stack is released every iteration.
  pm.addPass(createAttnScopeLoopAllocas());

  // Loops and arithmetic -> LLVM. bf16 conversions are expanded to integer
  // code; f16 ones become compiler-rt/libgcc calls.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void attn::registerLowerToCpuPipeline() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "attn-lower-to-cpu",
      "Lower attn.attention through tiling and online softmax to the LLVM "
      "dialect for the CPU",
      buildLowerToCpuPipeline);
}
