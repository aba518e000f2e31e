//===- DeviceRun.h - run the kernel artifact on the GPU ---------*- C++ -*-===//
//
// Where a CUDA driver and a GPU are present: the GPU's name and chip, and a
// run of the kernel artifact through libAttnRuntime on the same tensors as
// the CPU run (device memory from the driver, opened at run time like the
// runtime does, so attn-run starts anywhere).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_RUN_DEVICERUN_H
#define ATTN_TOOLS_ATTN_RUN_DEVICERUN_H

#include "HostRun.h"

#include <optional>
#include <string>

namespace attn_run {

struct Gpu {
  std::string name; ///< e.g. "NVIDIA H100 80GB HBM3"
  std::string chip; ///< e.g. "sm_90"
};

/// The first GPU, or std::nullopt (and why) where there is none.
std::optional<Gpu> detectGpu(std::string &whyNot);

/// Uploads q/k/v, launches the artifact once into poisoned outputs (copied
/// back into `tensors`), then times `repeats` launches; returns the seconds
/// of one launch.
llvm::Expected<double> runOnGpu(const std::vector<uint8_t> &artifact,
                                Tensors &tensors, ElementType dtype,
                                bool hasLse, int repeats = 10);

} // namespace attn_run

#endif // ATTN_TOOLS_ATTN_RUN_DEVICERUN_H
