//===- CubinInfo.h - what ptxas decided for a kernel ------------*- C++ -*-===//
//
// The registers per thread, the stack frame (spills, when not 0) and the
// static shared memory of a kernel, read from its cubin (an ELF file). The
// `.text.<kernel>` section's sh_info is the kernel's symbol index; the
// `.nv.info` section holds records {u8 format, u8 attribute, u16 size,
// payload}, among them (format 4) REGCOUNT (0x2f) and FRAME_SIZE (0x11),
// each {u32 symbol, u32 value}; the static shared memory is the size of
// `.nv.shared.<kernel>`.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_RUN_CUBININFO_H
#define ATTN_TOOLS_ATTN_RUN_CUBININFO_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attn_run {

struct CubinInfo {
  unsigned registers = 0;
  unsigned frameBytes = 0;
  uint64_t staticSharedBytes = 0;
};

/// The kernel `entry`'s resources, or std::nullopt when `cubin` is not an
/// ELF file holding it.
std::optional<CubinInfo> readCubinInfo(const std::vector<uint8_t> &cubin,
                                       const std::string &entry);

} // namespace attn_run

#endif // ATTN_TOOLS_ATTN_RUN_CUBININFO_H
