//===- HalfFloat.hpp - f16 / bf16 <-> float on the host ---------*- C++ -*-===//
//
// Host programs that feed f16/bf16 kernels (the C++ example, attn-run, the
// tests) fill and read buffers of 16-bit values. bf16 is the upper half of
// an IEEE float (rounded to nearest even on the way down); f16 goes through
// the compiler's _Float16 (GCC >= 12, Clang).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_HALFFLOAT_HPP
#define ATTN_RUNTIME_HALFFLOAT_HPP

#include <cstdint>
#include <cstring>

namespace attn {

/// The bf16 nearest to `x` (ties to even).
inline uint16_t floatToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

inline float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

/// The f16 nearest to `x`.
inline uint16_t floatToF16(float x) {
  _Float16 h = static_cast<_Float16>(x);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

inline float f16ToFloat(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<float>(h);
}

} // namespace attn

#endif // ATTN_RUNTIME_HALFFLOAT_HPP
