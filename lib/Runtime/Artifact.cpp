//===- Artifact.cpp - the kernel artifact format --------------------------===//

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"

#include <cstring>

using namespace attn::runtime;

namespace {
constexpr char kMagic[8] = {'A', 'T', 'T', 'N', 'K', 'R', 'N', '\0'};
constexpr uint32_t kMaxRank = 8;
constexpr uint32_t kMaxFloatsPerRow = 1024;
} // namespace

uint32_t attn::runtime::artifactChecksum(const uint8_t *data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

namespace {
class Writer {
public:
  template <typename T> void pod(T value) {
    uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.insert(out.end(), bytes, bytes + sizeof(T));
  }
  void blob(const void *data, size_t size) {
    pod<uint32_t>(static_cast<uint32_t>(size));
    const auto *bytes = static_cast<const uint8_t *>(data);
    out.insert(out.end(), bytes, bytes + size);
  }
  void string(const std::string &s) { blob(s.data(), s.size()); }
  std::vector<uint8_t> out;
};

/// Bounds-checked reads; the first failure sticks and names the field.
class Reader {
public:
  Reader(const uint8_t *data, size_t size) : data(data), size(size) {}
  template <typename T> bool pod(T &value, const char *what) {
    if (!need(sizeof(T), what))
      return false;
    std::memcpy(&value, data + pos, sizeof(T));
    pos += sizeof(T);
    return true;
  }
  bool string(std::string &s, const char *what) {
    uint32_t length;
    if (!pod(length, what) || !need(length, what))
      return false;
    s.assign(reinterpret_cast<const char *>(data + pos), length);
    pos += length;
    return true;
  }
  bool bytes(std::vector<uint8_t> &b, const char *what) {
    uint32_t length;
    if (!pod(length, what) || !need(length, what))
      return false;
    b.assign(data + pos, data + pos + length);
    pos += length;
    return true;
  }
  bool atEnd() const { return pos == size; }
  std::string error;

private:
  bool need(size_t n, const char *what) {
    if (n <= size - pos)
      return true;
    if (error.empty())
      error = std::string("truncated artifact while reading ") + what;
    return false;
  }
  const uint8_t *data;
  size_t size;
  size_t pos = 0;
};
} // namespace

std::vector<uint8_t>
attn::runtime::serializeArtifact(const ArtifactDesc &artifact) {
  Writer payload;
  payload.string(artifact.key);
  payload.string(artifact.target);
  payload.pod<uint32_t>(artifact.kernels.size());
  for (const KernelDesc &k : artifact.kernels) {
    payload.string(k.entry);
    for (uint32_t b : k.block)
      payload.pod(b);
    payload.pod(k.dynamicSharedBytes);
    for (const GridDim &g : k.grid) {
      payload.pod(g.param);
      payload.pod(g.dim);
      payload.pod(g.value);
    }
    payload.pod(k.onlyWhenSplit);
  }
  const SplitRule &split = artifact.split;
  payload.pod(split.maxSplits);
  payload.pod(split.minTilesPerSplit);
  payload.pod(split.ctasPerSm);
  payload.pod(split.keysParam);
  payload.pod(split.keysDim);
  payload.pod(split.keysPerTile);
  payload.pod(split.rowsParam);
  payload.pod(split.floatsPerRow);
  payload.pod<uint32_t>(artifact.params.size());
  for (const ParamDesc &p : artifact.params) {
    payload.string(p.name);
    payload.pod<uint32_t>(p.kind);
    payload.pod(p.dtype);
    payload.pod<uint32_t>(p.shape.size());
    for (int64_t s : p.shape)
      payload.pod(s);
    for (size_t d = 0; d < p.shape.size(); ++d)
      payload.pod<int64_t>(d < p.strides.size() ? p.strides[d] : -1);
    payload.pod(p.alignment);
  }
  payload.pod<uint32_t>(artifact.tensorMaps.size());
  for (const TensorMapDesc &m : artifact.tensorMaps) {
    payload.pod(m.source);
    payload.pod<uint32_t>(m.box.size());
    for (uint32_t extent : m.box)
      payload.pod(extent);
    payload.pod(m.swizzle);
  }
  payload.pod<uint32_t>(artifact.binaryKind);
  payload.blob(artifact.binary.data(), artifact.binary.size());

  Writer file;
  file.out.insert(file.out.end(), kMagic, kMagic + sizeof(kMagic));
  file.pod(ArtifactDesc::kVersion);
  file.pod<uint64_t>(payload.out.size());
  file.out.insert(file.out.end(), payload.out.begin(), payload.out.end());
  file.pod(artifactChecksum(payload.out.data(), payload.out.size()));
  return file.out;
}

bool attn::runtime::parseArtifact(const uint8_t *data, size_t size,
                                  ArtifactDesc &artifact, std::string &error) {
  if (!data) {
    error = "artifact data is null";
    return false;
  }
  if (size < sizeof(kMagic) || std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    error = "not an Attn kernel artifact (bad magic)";
    return false;
  }
  Reader header(data + sizeof(kMagic), size - sizeof(kMagic));
  uint32_t version;
  uint64_t payloadSize;
  if (!header.pod(version, "version") ||
      !header.pod(payloadSize, "payload size")) {
    error = header.error;
    return false;
  }
  if (version != ArtifactDesc::kVersion) {
    error = "kernel artifact format version " + std::to_string(version) +
            ", but this runtime reads version " +
            std::to_string(ArtifactDesc::kVersion) +
            ": compile the kernel again (attn-compile, or attn.prebuild)";
    return false;
  }
  size_t headerSize = sizeof(kMagic) + 4 + 8;
  if (payloadSize > size - headerSize || size - headerSize - payloadSize != 4) {
    error = "truncated artifact: header promises " +
            std::to_string(payloadSize) + " payload bytes, file has " +
            std::to_string(size - headerSize) + " after the header";
    return false;
  }
  const uint8_t *payload = data + headerSize;
  uint32_t storedCrc;
  std::memcpy(&storedCrc, payload + payloadSize, 4);
  if (artifactChecksum(payload, payloadSize) != storedCrc) {
    error = "corrupt artifact: checksum mismatch";
    return false;
  }

  Reader r(payload, payloadSize);
  ArtifactDesc a;
  uint32_t numKernels = 0, numParams = 0, binaryKind = 0;
  bool ok = r.string(a.key, "key") && r.string(a.target, "target") &&
            r.pod(numKernels, "kernel count");
  if (ok && (numKernels == 0 || numKernels > ArtifactDesc::kMaxKernels)) {
    error = "corrupt artifact: " + std::to_string(numKernels) + " kernels";
    return false;
  }
  for (uint32_t i = 0; ok && i < numKernels; ++i) {
    KernelDesc k;
    ok = r.string(k.entry, "kernel entry");
    for (uint32_t &b : k.block)
      ok = ok && r.pod(b, "block size");
    ok = ok && r.pod(k.dynamicSharedBytes, "shared memory size");
    for (GridDim &g : k.grid)
      ok = ok && r.pod(g.param, "grid") && r.pod(g.dim, "grid") &&
           r.pod(g.value, "grid");
    ok = ok && r.pod(k.onlyWhenSplit, "kernel launch condition");
    a.kernels.push_back(std::move(k));
  }
  SplitRule &split = a.split;
  ok = ok && r.pod(split.maxSplits, "split rule") &&
       r.pod(split.minTilesPerSplit, "split rule") &&
       r.pod(split.ctasPerSm, "split rule") &&
       r.pod(split.keysParam, "split rule") &&
       r.pod(split.keysDim, "split rule") &&
       r.pod(split.keysPerTile, "split rule") &&
       r.pod(split.rowsParam, "split rule") &&
       r.pod(split.floatsPerRow, "split rule");
  ok = ok && r.pod(numParams, "parameter count");
  for (uint32_t i = 0; ok && i < numParams; ++i) {
    ParamDesc p;
    uint32_t kind = 0, rank = 0;
    ok = r.string(p.name, "parameter name") && r.pod(kind, "parameter kind") &&
         r.pod(p.dtype, "parameter dtype") && r.pod(rank, "parameter rank");
    if (ok && (kind > ParamDesc::F32 || rank > kMaxRank)) {
      error = "corrupt artifact: parameter " + std::to_string(i) +
              " has kind " + std::to_string(kind) + " and rank " +
              std::to_string(rank);
      return false;
    }
    p.kind = static_cast<ParamDesc::Kind>(kind);
    p.shape.resize(rank);
    for (int64_t &s : p.shape)
      ok = ok && r.pod(s, "parameter shape");
    p.strides.resize(rank);
    for (int64_t &s : p.strides)
      ok = ok && r.pod(s, "parameter strides");
    ok = ok && r.pod(p.alignment, "parameter alignment");
    // A tensor's dtype is an attn_dtype code and its alignment a power of
    // two up to 256 bytes; the argument checks divide by both.
    if (ok && kind == ParamDesc::Tensor &&
        (p.dtype > ATTN_DTYPE_LAST || p.alignment == 0 || p.alignment > 256 ||
         (p.alignment & (p.alignment - 1)) != 0)) {
      error = "corrupt artifact: parameter " + std::to_string(i) +
              " has dtype code " + std::to_string(p.dtype) + " and alignment " +
              std::to_string(p.alignment);
      return false;
    }
    a.params.push_back(std::move(p));
  }
  uint32_t numMaps = 0;
  ok = ok && r.pod(numMaps, "tensor map count");
  if (ok && numMaps > ArtifactDesc::kMaxTensorMaps) {
    error = "corrupt artifact: " + std::to_string(numMaps) + " tensor maps";
    return false;
  }
  for (uint32_t i = 0; ok && i < numMaps; ++i) {
    TensorMapDesc m;
    uint32_t rank = 0;
    ok = r.pod(m.source, "tensor map source") && r.pod(rank, "tensor map rank");
    // The source's rank, within cuTensorMapEncodeTiled's limits.
    if (ok && (m.source >= a.params.size() ||
               a.params[m.source].kind != ParamDesc::Tensor ||
               rank != a.params[m.source].shape.size() || rank == 0 ||
               rank > TensorMapDesc::kMaxRank)) {
      error = "corrupt artifact: tensor map " + std::to_string(i) +
              " refers to a missing tensor parameter or has rank " +
              std::to_string(rank);
      return false;
    }
    m.box.resize(rank);
    for (uint32_t &extent : m.box)
      ok = ok && r.pod(extent, "tensor map box");
    ok = ok && r.pod(m.swizzle, "tensor map swizzle");
    bool badBox = false;
    for (uint32_t extent : m.box)
      badBox |= extent == 0 || extent > TensorMapDesc::kMaxBox;
    if (ok && (badBox || !TensorMapDesc::validSwizzle(m.swizzle))) {
      error = "corrupt artifact: tensor map " + std::to_string(i) +
              " has a box extent outside [1, 256] or swizzle " +
              std::to_string(m.swizzle);
      return false;
    }
    a.tensorMaps.push_back(std::move(m));
  }
  ok = ok && r.pod(binaryKind, "binary kind") && r.bytes(a.binary, "binary");
  if (!ok) {
    error = r.error.empty() ? error : r.error;
    return false;
  }
  if (!r.atEnd()) {
    error = "corrupt artifact: trailing bytes after the binary";
    return false;
  }
  if (binaryKind > ArtifactDesc::Ptx || a.binary.empty()) {
    error = "corrupt artifact: unknown binary kind or empty binary";
    return false;
  }
  auto isTensorDim = [&](int32_t param, int32_t dim) {
    return param >= 0 && param < static_cast<int32_t>(a.params.size()) &&
           a.params[param].kind == ParamDesc::Tensor && dim >= 0 &&
           dim < static_cast<int32_t>(a.params[param].shape.size());
  };
  bool splits = split.maxSplits > 1;
  if (split.maxSplits == 0 || split.maxSplits > SplitRule::kMaxSplits ||
      (splits && (split.minTilesPerSplit == 0 || split.ctasPerSm == 0 ||
                  split.ctasPerSm > 64 || split.keysPerTile <= 0 ||
                  !isTensorDim(split.keysParam, split.keysDim) ||
                  !isTensorDim(split.rowsParam, 0) || split.floatsPerRow == 0 ||
                  split.floatsPerRow > kMaxFloatsPerRow))) {
    error = "corrupt artifact: the split rule refers to a missing tensor "
            "dimension or has an out-of-range count";
    return false;
  }
  for (const KernelDesc &k : a.kernels) {
    if (k.entry.empty() || k.onlyWhenSplit > 1 ||
        (k.onlyWhenSplit && !splits)) {
      error = "corrupt artifact: a kernel has an empty entry or a launch "
              "condition without a split rule";
      return false;
    }
    for (const GridDim &g : k.grid)
      if (g.value <= 0 || !(g.param == GridDim::kConstant ||
                            (g.param == GridDim::kSplits && splits) ||
                            isTensorDim(g.param, g.dim))) {
        error = "corrupt artifact: grid rule refers to a missing tensor "
                "dimension or has a non-positive value";
        return false;
      }
    for (uint32_t b : k.block)
      if (b == 0) {
        error = "corrupt artifact: zero block size";
        return false;
      }
  }
  a.binaryKind = static_cast<ArtifactDesc::BinaryKind>(binaryKind);
  artifact = std::move(a);
  return true;
}
