//===- Passes.td - attn conversion passes ------------------*- tablegen -*-===//

#ifndef ATTN_CONVERSION_PASSES_TD
#define ATTN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnGPUKernels : Pass<"attn-gpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Generate GPU kernels for attn.attention and attn.block_mask";
  let description = [{
    Replaces each function holding one `attn.attention` by a `gpu.module`
    with the kernels of a *strategy* (`KernelStrategy.h`), tried in order:

    - `decode`: a static query length whose rows for all query heads of one
      kv head fit one tile (Hq / Hkv x Sq <= 64, no varlen or block lists):
      those rows are packed into one tile so each K/V tile is read once per
      kv head, and the keys are split over CTAs (grid x = the split count,
      chosen at launch) writing partial outputs and log-sum-exps to a
      workspace that a second kernel merges (`attn.split_rule`);
    - `sm80` (the fallback): FlashAttention-2 style, one CTA per query tile
      and head, `nvgpu.device_async_copy` double-buffered K/V tiles,
      `nvgpu.ldmatrix` + `mma.sync` m16n8k16 for Q K^T and P V, warp
      shuffles for row max and sum, exp2.

    Both visit only the kv tiles the mask analysis keeps, run full tiles
    without mask code and share the element code with the CPU path. Every
    kernel's parameters are the function's arguments, then its results,
    then (split-KV) the workspace, as memrefs; `attn.block`, `attn.grid`,
    `attn.shared_bytes` describe each launch and `attn.kernels` their order.

    A function holding one `attn.block_mask` becomes its one kernel
    (`BlockMaskKernel.h`): a CTA per (query block, head, batch) evaluates
    the mask on every pair of each key block and writes FlexAttention's
    block lists; its parameters are the lengths (i64), the tensors the
    mask_mod region captures, then the four lists.

    `chip` names the target GPU; an unsupported one (before sm_80, or a name
    the target table in `GpuTarget.h` does not list) is an error.
    `strategy` forces one (an op it cannot build is an error saying why);
    the tile sizes are chosen per op and chip or forced with `block-q` /
    `block-k`; the choice is recorded on each kernel as
    `attn.lowering_config = #attn.lowering_config<...>`.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "target GPU (sm_80 or newer, see GpuTarget.h)">,
    Option<"strategy", "strategy", "std::string", /*default=*/"\"\"",
           "the kernel strategy (sm80, sm90a or decode; empty: the first of "
           "decode, sm80 that applies)">,
    Option<"blockQ", "block-q", "int64_t", /*default=*/"0",
           "query rows per CTA, 16 per warp (0: chosen)">,
    Option<"blockK", "block-k", "int64_t", /*default=*/"0",
           "keys per kv step, a multiple of 16 (0: chosen)">,
    Option<"stages", "stages", "int64_t", /*default=*/"0",
           "K/V tiles in flight, 2 to 8 (0: chosen)">,
    Option<"producerWarps", "producer-warps", "int64_t", /*default=*/"-1",
           "sm90a: warps of the producer warpgroup, 0 (none) or 4 "
           "(-1: chosen)">,
    Option<"kvWarps", "kv-warps", "int64_t", /*default=*/"0",
           "decode: warps splitting each key tile, 1, 2 or 4 (0: chosen)">,
    Option<"tma", "tma", "int64_t", /*default=*/"-1",
           "sm90a with a producer: TMA copies, 0 (cp.async) or 1 "
           "(-1: chosen)">,
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

def AttnCpAsyncL2Prefetch : Pass<"attn-cp-async-l2-prefetch", "::mlir::ModuleOp"> {
  let summary = "Give 16-byte cp.async copies an L2 prefetch of 128 bytes";
  let description = [{
    Rewrites each `nvvm.cp.async.shared.global` of 16 bytes with the `cg`
    modifier (what `nvgpu.device_async_copy` of a kernel's K/V and Q tiles
    lowers to) into `cp.async.cg.shared.global.L2::128B` inline PTX, the
    same copy (and zero fill from `cpSize`) with a hint that the L2 fetch
    the whole 128-byte line from memory. The tiles are rows of whole lines
    (a head's 64 to 512 bytes), so the hint turns a warp's 16-byte sector
    requests into line requests: decode, which only streams K/V, read
    2-2.4% faster on an H100 (docs/perf-log.md). The LLVM intrinsic has no
    prefetch-size form, hence the inline PTX (sm_80 and newer).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def AttnGridConstantParams : Pass<"attn-grid-constant-params", "::mlir::ModuleOp"> {
  let summary = "Pass a kernel's tensor maps as 128-byte grid_constant parameters";
  let description = [{
    On each `llvm.func` with `attn.grid_constants` (the argument positions
    attn-gpu-kernels recorded for its `#attn.tensor_map` arguments, in the
    lowered signature): marks those `!llvm.ptr` arguments
    `llvm.byval = !llvm.array<128 x i8>` and `nvvm.grid_constant`, so that
    the NVPTX back end declares a 128-byte, 64-byte aligned `.param` the
    launch copies the CUtensorMap into, and the kernel hands its address to
    `cp.async.bulk.tensor` (a TMA copy reads its tensor map from parameter,
    constant or global memory, never from a local copy). Runs after the
    GPU-to-NVVM lowering, which drops `llvm.byval` from gpu.func arguments
    and rejects `nvvm.grid_constant` on them. Removes the attribute.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

#endif // ATTN_CONVERSION_PASSES_TD
