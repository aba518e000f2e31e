//===- Passes.td - attn conversion passes ------------------*- tablegen -*-===//

#ifndef ATTN_CONVERSION_PASSES_TD
#define ATTN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnGPUKernels : Pass<"attn-gpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Generate tensor-core GPU kernels for attn.attention";
  let description = [{
    Replaces each function holding one `attn.attention` (f16/bf16, bshd,
    head dims 64 or 128) by a `gpu.module` with a FlashAttention-2 forward
    kernel on the sm_80 path: 4 warps per 64-row query tile,
    `nvgpu.device_async_copy` double-buffered K/V tiles of 64 keys,
    `nvgpu.ldmatrix` + `nvgpu.mma.sync` m16n8k16 for Q K^T and P V, warp
    shuffles for row max and sum, exp2. Only the kv tiles the mask analysis
    keeps are visited; full tiles carry no mask code. The kernel's parameters
    are the function's arguments then its results, as memrefs; `attn.block`,
    `attn.grid` and `attn.shared_bytes` describe the launch.

    `chip` names the target GPU; an unsupported one (before sm_80, or a name
    the target table in `GpuTarget.h` does not list) is an error. The tile
    sizes are chosen per op (4 warps, 64 query rows; the largest key tile of
    64, 32, 16 that fits the chip's shared memory) or forced with `block-q`
    / `block-k`; the choice is recorded on the kernel as
    `attn.lowering_config = #attn.lowering_config<...>`.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "target GPU (sm_80 or newer, see GpuTarget.h)">,
    Option<"blockQ", "block-q", "int64_t", /*default=*/"0",
           "query rows per CTA, 16 per warp (0: chosen)">,
    Option<"blockK", "block-k", "int64_t", /*default=*/"0",
           "keys per kv step, a multiple of 16 (0: chosen)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // ATTN_CONVERSION_PASSES_TD
