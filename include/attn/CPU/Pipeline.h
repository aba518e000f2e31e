//===- Pipeline.h - the CPU lowering pipeline -------------------*- C++ -*-===//

#ifndef ATTN_CPU_PIPELINE_H
#define ATTN_CPU_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

/// Options of `--attn-lower-to-cpu`.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<int64_t> qTile{*this, "q-tile", llvm::cl::desc("query rows per tile"),
                        llvm::cl::init(64)};
  Option<int64_t> kvTile{*this, "kv-tile", llvm::cl::desc("keys per kv tile"),
                         llvm::cl::init(64)};
};

/// attn.attention -> canonical masks -> tiles -> online softmax -> buffers
/// -> LLVM dialect, ready for the ExecutionEngine.
void buildLowerToCpuPipeline(OpPassManager &pm,
                             const CpuPipelineOptions &options);

/// Registers `--attn-lower-to-cpu` with the pass registry.
void registerLowerToCpuPipeline();

} // namespace mlir::attn

#endif // ATTN_CPU_PIPELINE_H
