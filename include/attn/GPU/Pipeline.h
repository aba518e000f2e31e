//===- Pipeline.h - the GPU lowering pipeline -------------------*- C++ -*-===//

#ifndef ATTN_GPU_PIPELINE_H
#define ATTN_GPU_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

/// Options of `--attn-lower-to-gpu`.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("target GPU, sm_80 or newer (the PTX version follows "
                     "from it; see attn/Conversion/GpuTarget.h)"),
      llvm::cl::init("sm_80")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("gpu-module-to-binary format: isa (PTX) or bin (cubin, "
                     "needs ptxas from the CUDA toolkit)"),
      llvm::cl::init("isa")};
};

/// attn.attention -> attn-gpu-kernels -> NVVM -> PTX or cubin in a
/// gpu.binary.
void buildLowerToGpuPipeline(OpPassManager &pm,
                             const GpuPipelineOptions &options);

/// The part after attn-gpu-kernels: gpu.module kernels -> gpu.binary.
void buildGpuKernelsToBinaryPipeline(OpPassManager &pm,
                                     const GpuPipelineOptions &options);

/// Registers `--attn-lower-to-gpu` with the pass registry.
void registerLowerToGpuPipeline();

} // namespace mlir::attn

#endif // ATTN_GPU_PIPELINE_H
