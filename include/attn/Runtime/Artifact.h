//===- Artifact.h - the kernel artifact format ------------------*- C++ -*-===//
//
// What launching a compiled kernel needs, without MLIR: the binary (cubin or
// PTX), entry name, parameter ABI, block size, dynamic shared memory, the
// rule for the grid, and the specialization key it was compiled for.
//
// Kernel parameter ABI (MLIR's memref calling convention): a tensor
// parameter of rank r is passed as (allocated ptr, aligned ptr, i64 offset,
// i64 sizes[r], i64 strides[r]); scalars are passed by value.
//
// File layout, little-endian: "ATTNKRN\0", u32 version, u64 payload size,
// payload, u32 CRC-32 of the payload. Strings and byte blobs are a u32
// length followed by the bytes. Plain C++: the runtime uses it too.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_ARTIFACT_H
#define ATTN_RUNTIME_ARTIFACT_H

#include <cstdint>
#include <string>
#include <vector>

namespace attn::runtime {

/// One kernel parameter.
struct ParamDesc {
  enum Kind : uint32_t { Tensor = 0, I64 = 1, F32 = 2 };
  std::string name;
  Kind kind = Tensor;
  uint32_t dtype = 0;         ///< attn_dtype, for tensors
  std::vector<int64_t> shape; ///< rank = size; -1 where dynamic
  /// The strides (in elements) the kernel was compiled for, one per
  /// dimension: a stride fixed by the parameter's memref type is not read
  /// at run time, so a tensor must have it (where the dimension has more
  /// than one element); -1 where the kernel reads the tensor's own stride.
  std::vector<int64_t> strides;
  uint32_t alignment = 16; ///< required data alignment in bytes
};

/// One grid dimension: `constant` when param < 0, otherwise
/// ceil(shape[param][dim] / divisor).
struct GridDim {
  int32_t param = -1;
  int32_t dim = 0;
  int64_t value = 1; ///< the constant, or the divisor
};

/// A compiled kernel and how to launch it.
struct ArtifactDesc {
  /// 2: per-parameter strides from the memref type (1 had a contiguity
  /// flag, set by position).
  static constexpr uint32_t kVersion = 2;
  enum BinaryKind : uint32_t { Cubin = 0, Ptx = 1 };
  std::string entry;
  std::string key;    ///< specialization key (dtype, dims, masks, tiles...)
  std::string target; ///< e.g. "sm_90"
  uint32_t block[3] = {1, 1, 1};
  uint32_t dynamicSharedBytes = 0;
  GridDim grid[3];
  std::vector<ParamDesc> params;
  BinaryKind binaryKind = Cubin;
  std::vector<uint8_t> binary;
};

/// The checksum an artifact ends with: CRC-32 (IEEE) of its payload, the
/// bytes between the 20-byte header (magic, version, payload size) and the
/// checksum itself.
uint32_t artifactChecksum(const uint8_t *payload, size_t size);

/// The artifact's bytes.
std::vector<uint8_t> serializeArtifact(const ArtifactDesc &artifact);

/// Parses `size` bytes; on failure returns false and says why in `error`.
bool parseArtifact(const uint8_t *data, size_t size, ArtifactDesc &artifact,
                   std::string &error);

} // namespace attn::runtime

#endif // ATTN_RUNTIME_ARTIFACT_H
