//===- CubinInfo.cpp - what ptxas decided for a kernel --------------------===//

#include "CubinInfo.h"

#include <cstring>
#include <elf.h>

std::optional<attn_run::CubinInfo>
attn_run::readCubinInfo(const std::vector<uint8_t> &cubin,
                        const std::string &entry) {
  Elf64_Ehdr header;
  if (cubin.size() < sizeof(header))
    return std::nullopt;
  std::memcpy(&header, cubin.data(), sizeof(header));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_shentsize != sizeof(Elf64_Shdr) ||
      header.e_shoff + uint64_t(header.e_shnum) * sizeof(Elf64_Shdr) >
          cubin.size() ||
      header.e_shstrndx >= header.e_shnum)
    return std::nullopt;
  auto section = [&](unsigned index) {
    Elf64_Shdr s;
    std::memcpy(&s, cubin.data() + header.e_shoff + index * sizeof(s),
                sizeof(s));
    return s;
  };
  Elf64_Shdr names = section(header.e_shstrndx);
  if (names.sh_offset + names.sh_size > cubin.size())
    return std::nullopt;
  auto nameOf = [&](const Elf64_Shdr &s) -> std::string {
    if (s.sh_name >= names.sh_size)
      return "";
    const char *start =
        reinterpret_cast<const char *>(cubin.data() + names.sh_offset) +
        s.sh_name;
    return std::string(start, strnlen(start, names.sh_size - s.sh_name));
  };
  std::optional<unsigned> symbol;
  Elf64_Shdr info{};
  uint64_t shared = 0;
  for (unsigned i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr s = section(i);
    std::string name = nameOf(s);
    if (name == ".text." + entry)
      symbol = s.sh_info;
    else if (name == ".nv.shared." + entry)
      shared = s.sh_size;
    else if (name == ".nv.info")
      info = s;
  }
  if (!symbol || info.sh_offset + info.sh_size > cubin.size())
    return std::nullopt;
  CubinInfo result;
  result.staticSharedBytes = shared;
  constexpr uint8_t kFormatSizedValue = 4, kRegCount = 0x2f, kFrameSize = 0x11;
  const uint8_t *record = cubin.data() + info.sh_offset;
  const uint8_t *end = record + info.sh_size;
  while (record + 4 <= end) {
    uint8_t format = record[0], attribute = record[1];
    uint16_t size;
    std::memcpy(&size, record + 2, 2);
    if (format != kFormatSizedValue) { // a value in the size field itself
      record += 4;
      continue;
    }
    if (record + 4 + size > end)
      break;
    uint32_t payload[2];
    if (size == 8) {
      std::memcpy(payload, record + 4, 8);
      if (payload[0] == *symbol && attribute == kRegCount)
        result.registers = payload[1];
      if (payload[0] == *symbol && attribute == kFrameSize)
        result.frameBytes = payload[1];
    }
    record += 4 + size;
  }
  return result;
}
