//===- Artifact.h - the kernel artifact format ------------------*- C++ -*-===//
//
// What launching compiled kernels needs, without MLIR: the binary (cubin or
// PTX, one module), the kernels in launch order (entry name, block size,
// dynamic shared memory, grid rule), the parameter ABI they share, the
// split-KV rule and workspace, and the specialization key.
//
// Kernel parameter ABI (MLIR's memref calling convention): a tensor
// parameter of rank r is passed as (allocated ptr, aligned ptr, i64 offset,
// i64 sizes[r], i64 strides[r]); scalars are passed by value. After the
// parameters (and the workspace) come the main kernel's tensor maps, each
// 128 bytes by value, encoded by the runtime from a tensor parameter at
// launch (kernels that take fewer parameters ignore the rest).
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

/// Words (8 bytes each) a tensor parameter of rank `rank` takes in the
/// kernel's parameter list: allocated, aligned, offset, sizes, strides.
constexpr size_t memrefWords(size_t rank) { return 3 + 2 * rank; }

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

/// A TMA tensor map the runtime encodes (cuTensorMapEncodeTiled) from the
/// tensor parameter `source` at launch: its data, shape and strides
/// (innermost first), `box` elements per copy in each of the tensor's
/// dimensions (in its own order), `swizzle` bytes (0, 32, 64, 128), zero
/// fill outside the tensor.
struct TensorMapDesc {
  /// cuTensorMapEncodeTiled's limits: rank 1 to kMaxRank, box extents 1 to
  /// kMaxBox, the swizzles validSwizzle accepts.
  static constexpr uint32_t kMaxRank = 5;
  static constexpr uint32_t kMaxBox = 256;
  static constexpr bool validSwizzle(int64_t bytes) {
    return bytes == 0 || bytes == 32 || bytes == 64 || bytes == 128;
  }
  uint32_t source = 0;
  std::vector<uint32_t> box;
  uint32_t swizzle = 0;
};

/// One grid dimension: `value` when param == kConstant, the split count
/// when param == kSplits, otherwise ceil(shape[param][dim] / value).
struct GridDim {
  static constexpr int32_t kConstant = -1;
  static constexpr int32_t kSplits = -2;
  int32_t param = kConstant;
  int32_t dim = 0;
  int64_t value = 1; ///< the constant, or the divisor
};

/// One kernel of an artifact and how to launch it. Its parameters are the
/// artifact's, followed by the workspace (a rank-1 f32 memref) when the
/// artifact has a split rule.
struct KernelDesc {
  std::string entry;
  uint32_t block[3] = {1, 1, 1};
  uint32_t dynamicSharedBytes = 0;
  GridDim grid[3];
  /// Launched only when the split count is above 1 (a merge kernel).
  uint32_t onlyWhenSplit = 0;
};

/// Split-KV: the kernels divide each sequence's keys among `splits` CTAs,
/// chosen at launch from the grid and the SM count: as many CTAs as one
/// full wave holds (SMs x ctasPerSm, at least two per SM; rounded down), at
/// most `maxSplits`, at least `minTilesPerSplit` kv tiles each;
/// each split writes a partial output and log-sum-exp of every query row
/// into the workspace, and a merge kernel combines them. maxSplits == 1:
/// no split, no workspace.
struct SplitRule {
  /// The most splits an artifact may ask for (the lowering config's
  /// kv_splits is checked against it too).
  static constexpr uint32_t kMaxSplits = 1024;
  uint32_t maxSplits = 1;
  uint32_t minTilesPerSplit = 1;
  /// CTAs of the main kernel one SM holds at once (its shared memory).
  uint32_t ctasPerSm = 1;
  /// The keys: ceil(shape[keysParam][keysDim] / keysPerTile) kv tiles.
  int32_t keysParam = -1;
  int32_t keysDim = 0;
  int64_t keysPerTile = 1;
  /// Workspace: splits x rows x floatsPerRow f32, rows being the product
  /// of every dimension of rowsParam but the last (a row per query token
  /// and head).
  int32_t rowsParam = -1;
  uint32_t floatsPerRow = 0;
};

/// Compiled kernels and how to launch them.
struct ArtifactDesc {
  /// 4: tensor maps (3: several kernels, the split rule and workspace; 2
  /// had one kernel).
  static constexpr uint32_t kVersion = 4;
  static constexpr uint32_t kMaxKernels = 8;
  static constexpr uint32_t kMaxTensorMaps = 8;
  enum BinaryKind : uint32_t { Cubin = 0, Ptx = 1 };
  std::string key;    ///< specialization key (dtype, dims, masks, tiles...)
  std::string target; ///< e.g. "sm_90"
  /// In launch order; the first is the main kernel (its entry names the
  /// artifact).
  std::vector<KernelDesc> kernels;
  SplitRule split;
  std::vector<ParamDesc> params;
  /// Passed after the parameters and the workspace, in this order.
  std::vector<TensorMapDesc> tensorMaps;
  BinaryKind binaryKind = Cubin;
  std::vector<uint8_t> binary;

  const std::string &entry() const { return kernels.front().entry; }
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
