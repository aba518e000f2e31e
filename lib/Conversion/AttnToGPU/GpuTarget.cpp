//===- GpuTarget.cpp - the NVIDIA GPUs Attn generates kernels for ---------===//

#include "attn/Conversion/GpuTarget.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir::attn;

namespace {
/// The sm80 kernels need cp.async, ldmatrix and bf16 mma.sync m16n8k16:
/// sm_80 and newer. PTX 8.0 is the version the kernels are tested with on
/// Ampere/Hopper; Blackwell chips need the ISA version that introduced them.
/// Shared memory: the per-block opt-in maximum of the CUDA programming
/// guide's table of compute capabilities.
constexpr int64_t kKiB = 1024;
constexpr GpuTarget kTargets[] = {
    {"sm_80", "+ptx80", 163 * kKiB},  {"sm_86", "+ptx80", 99 * kKiB},
    {"sm_87", "+ptx80", 163 * kKiB},  {"sm_89", "+ptx80", 99 * kKiB},
    {"sm_90", "+ptx80", 227 * kKiB},  {"sm_90a", "+ptx80", 227 * kKiB, true},
    {"sm_100", "+ptx86", 227 * kKiB}, {"sm_100a", "+ptx86", 227 * kKiB},
    {"sm_103", "+ptx88", 227 * kKiB}, {"sm_103a", "+ptx88", 227 * kKiB},
    {"sm_110", "+ptx90", 227 * kKiB}, {"sm_110a", "+ptx90", 227 * kKiB},
    {"sm_120", "+ptx87", 99 * kKiB},  {"sm_120a", "+ptx87", 99 * kKiB},
    {"sm_121", "+ptx88", 99 * kKiB},  {"sm_121a", "+ptx88", 99 * kKiB},
};
} // namespace

std::string mlir::attn::supportedGpuChips() {
  return llvm::join(
      llvm::map_range(kTargets, [](const GpuTarget &t) { return t.chip; }),
      ", ");
}

llvm::Expected<GpuTarget> mlir::attn::lookupGpuTarget(llvm::StringRef chip) {
  for (const GpuTarget &target : kTargets)
    if (target.chip == chip)
      return target;
  std::string why = "unsupported GPU chip '" + chip.str() + "'";
  unsigned version = 0;
  if (chip.consume_front("sm_") && !chip.consumeInteger(10, version) &&
      version < 80)
    why += " (the kernels use cp.async, ldmatrix and bf16 mma.sync, which "
           "need sm_80 or newer)";
  return llvm::createStringError(why + "; supported: " + supportedGpuChips());
}
