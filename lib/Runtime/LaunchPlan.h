//===- LaunchPlan.h - the grids and workspace of one launch -----*- C++ -*-===//
//
// Internal to the runtime: how a launch of an artifact with given arguments
// is planned (grids from the arguments' shapes, the split-KV count from the
// SM count, the workspace bytes), apart from the driver calls.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_RUNTIME_LAUNCHPLAN_H
#define ATTN_LIB_RUNTIME_LAUNCHPLAN_H

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace attn::runtime {

/// One launch, planned: the grids of the kernels that run, the split count
/// and the workspace bytes (0 without a split).
struct LaunchPlan {
  bool empty = false;
  unsigned grids[ArtifactDesc::kMaxKernels][3] = {};
  uint32_t splits = 1;
  size_t workspaceBytes = 0;
};

/// Whether `t` has no element (never read: its pointer may be null).
inline bool isEmpty(const attn_tensor &t) {
  for (int32_t d = 0; d < t.rank; ++d)
    if (t.shape[d] == 0)
      return true;
  return false;
}

/// ceil(size / divisor) without forming size + divisor - 1, which wraps for
/// sizes near 2^63.
inline int64_t ceilDiv(int64_t size, int64_t divisor) {
  return size / divisor + (size % divisor != 0);
}

/// The grids, split count and workspace of a launch of `a` with `args`
/// (already checked). `multiprocessors` gives the device's SM count; it is
/// asked only when the keys may be split and the problem is not empty, so
/// that other launches are planned without the driver (its failure is
/// returned as it is). A launch the hardware cannot take returns
/// ATTN_ERROR_INVALID_ARGUMENT with `error` saying why.
template <typename SmCount>
attn_status planLaunch(const ArtifactDesc &a, const attn_arg *args,
                       SmCount multiprocessors, LaunchPlan &plan,
                       std::string &error) {
  auto fail = [&](attn_status status, std::string message) {
    error = std::move(message);
    return status;
  };
  auto extent = [&](const GridDim &g, uint32_t splits) -> int64_t {
    if (g.param == GridDim::kConstant)
      return g.value;
    if (g.param == GridDim::kSplits)
      return splits;
    return ceilDiv(args[g.param].tensor.shape[g.dim], g.value);
  };
  for (size_t k = 0; k < a.kernels.size(); ++k)
    for (int i = 0; i < 3; ++i) {
      int64_t e = extent(a.kernels[k].grid[i], plan.splits);
      if (e <= 0) {
        plan.empty = true; // empty problem: nothing to launch
        return ATTN_SUCCESS;
      }
      if (e > (i == 0 ? 0x7FFFFFFFll : 65535ll))
        return fail(ATTN_ERROR_INVALID_ARGUMENT,
                    "attn_kernel_launch: grid dimension " + std::to_string(i) +
                        " of " + a.kernels[k].entry + " would be " +
                        std::to_string(e) + ", beyond the hardware limit");
      plan.grids[k][i] = static_cast<unsigned>(e);
    }
  // Split-KV: as many CTAs as a full wave holds (SMs x resident CTAs per
  // SM, at least two per SM), at most maxSplits, and at least
  // minTilesPerSplit kv tiles per split.
  const SplitRule &rule = a.split;
  if (rule.maxSplits > 1) {
    int sms = 1;
    if (attn_status s = multiprocessors(sms); s != ATTN_SUCCESS)
      return s;
    int64_t ctas = 1;
    for (int i = 0; i < 3; ++i)
      if (a.kernels.front().grid[i].param != GridDim::kSplits)
        ctas *= plan.grids[0][i];
    int64_t tiles = ceilDiv(args[rule.keysParam].tensor.shape[rule.keysDim],
                            rule.keysPerTile);
    // As many splits as one wave holds, rounded down: a wave and a few
    // CTAs would take two waves' time.
    int64_t wave = int64_t(sms) * std::max<int64_t>(2, rule.ctasPerSm);
    int64_t wanted = wave / ctas;
    int64_t most = std::min<int64_t>(rule.maxSplits,
                                     tiles / int64_t(rule.minTilesPerSplit));
    plan.splits = uint32_t(std::max<int64_t>(1, std::min(wanted, most)));
    for (size_t k = 0; k < a.kernels.size(); ++k)
      for (int i = 0; i < 3; ++i)
        if (a.kernels[k].grid[i].param == GridDim::kSplits)
          plan.grids[k][i] = plan.splits;
  }
  if (plan.splits > 1) {
    const attn_tensor &rows = args[rule.rowsParam].tensor;
    uint64_t bytes = uint64_t(plan.splits) * rule.floatsPerRow * 4;
    for (int32_t d = 0; d + 1 < rows.rank; ++d)
      if (__builtin_mul_overflow(bytes, uint64_t(rows.shape[d]), &bytes))
        return fail(ATTN_ERROR_INVALID_ARGUMENT,
                    "attn_kernel_launch: the split-KV workspace would "
                    "overflow 64 bits");
    plan.workspaceBytes = bytes;
  }
  return ATTN_SUCCESS;
}

} // namespace attn::runtime

#endif // ATTN_LIB_RUNTIME_LAUNCHPLAN_H
