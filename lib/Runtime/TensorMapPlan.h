//===- TensorMapPlan.h - the tensor maps of one launch ----------*- C++ -*-===//
//
// Internal to the runtime: what cuTensorMapEncodeTiled is given for an
// artifact's tensor map (Artifact.h's TensorMapDesc) and a launch's tensor,
// and why a tensor cannot be described by one, apart from the driver call.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_RUNTIME_TENSORMAPPLAN_H
#define ATTN_LIB_RUNTIME_TENSORMAPPLAN_H

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"

#include "LaunchPlan.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace attn::runtime {

/// cuTensorMapEncodeTiled's arguments, dimensions innermost first.
struct TensorMapEncoding {
  static constexpr uint32_t kMaxRank = TensorMapDesc::kMaxRank;
  uint32_t dataType = 0; ///< CUtensorMapDataType
  uint32_t rank = 0;
  uint64_t address = 0;
  uint64_t dims[kMaxRank] = {};
  uint64_t strides[kMaxRank - 1] = {}; ///< bytes, of dimensions 1..rank-1
  uint32_t box[kMaxRank] = {};
  uint32_t swizzle = 0; ///< CUtensorMapSwizzle

  bool operator==(const TensorMapEncoding &o) const {
    return std::memcmp(this, &o, sizeof(*this)) == 0;
  }
};

/// The encoding of tensor map `m` for the tensor `t` of parameter `p`
/// (already checked against `p`). An empty tensor (keys of length 0) is
/// never read: every copy from it lies outside it, so its map describes
/// extents of 1 at `emptyAddress` (TMA faults on a copy whose
/// base is not mapped memory, even one wholly outside the tensor: the
/// caller passes one of the launch's non-empty tensors). False with `error`
/// saying why
/// where TMA cannot copy from `t`: a last dimension that is not
/// contiguous, a data address or a stride that is not a multiple of 16
/// bytes, a stride of 2^40 bytes or more, an extent above 2^32.
inline bool planTensorMap(const TensorMapDesc &m, const ParamDesc &p,
                          const attn_tensor &t, size_t elementBytes,
                          uintptr_t emptyAddress, TensorMapEncoding &e,
                          std::string &error) {
  std::memset(&e, 0, sizeof(e));
  switch (p.dtype) {
  case ATTN_DTYPE_F16:
    e.dataType = 6; // CU_TENSOR_MAP_DATA_TYPE_FLOAT16
    break;
  case ATTN_DTYPE_BF16:
    e.dataType = 9; // CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
    break;
  default:
    error = "must hold f16 or bf16";
    return false;
  }
  uint32_t rank = static_cast<uint32_t>(t.rank);
  if (rank == 0 || rank > TensorMapEncoding::kMaxRank || m.box.size() != rank) {
    error = "has rank " + std::to_string(rank) +
            ", the tensor map describes rank " + std::to_string(m.box.size());
    return false;
  }
  bool empty = isEmpty(t);
  uintptr_t address =
      empty ? emptyAddress : reinterpret_cast<uintptr_t>(t.data);
  if (address % 16 != 0) {
    error = "must be 16-byte aligned";
    return false;
  }
  e.rank = rank;
  e.address = address;
  // Innermost first: dimension i of the map is the tensor's rank - 1 - i.
  uint64_t packed = elementBytes; // bytes of the dimensions inside
  for (uint32_t i = 0; i < rank; ++i) {
    int32_t d = static_cast<int32_t>(rank - 1 - i);
    uint64_t extent = empty ? 1 : static_cast<uint64_t>(t.shape[d]);
    if (extent == 0 || extent > (uint64_t(1) << 32)) {
      error = "dimension " + std::to_string(d) + " is " +
              std::to_string(extent) + ", outside [1, 2^32]";
      return false;
    }
    e.dims[i] = extent;
    e.box[i] = m.box[d];
    uint64_t stride = static_cast<uint64_t>(t.strides[d]) * elementBytes;
    if (i == 0) {
      if (extent > 1 && t.strides[d] != 1) {
        error = "must be contiguous in its last dimension (stride "
                "1), got stride " +
                std::to_string(t.strides[d]);
        return false;
      }
    } else if (extent == 1) {
      // Never stepped over: any valid stride, the packed one.
      e.strides[i - 1] = (packed + 15) / 16 * 16;
    } else if (stride % 16 != 0 || stride >= (uint64_t(1) << 40)) {
      error = "stride of dimension " + std::to_string(d) + " is " +
              std::to_string(stride) +
              " bytes; TMA needs a multiple of 16 below 2^40";
      return false;
    } else {
      e.strides[i - 1] = stride;
    }
    uint64_t span = (i == 0 ? elementBytes : e.strides[i - 1]) * extent;
    packed = span > packed ? span : packed;
  }
  e.swizzle = m.swizzle == 128  ? 3
              : m.swizzle == 64 ? 2
              : m.swizzle == 32 ? 1
                                : 0;
  return true;
}

} // namespace attn::runtime

#endif // ATTN_LIB_RUNTIME_TENSORMAPPLAN_H
