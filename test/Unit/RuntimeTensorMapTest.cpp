//===- RuntimeTensorMapTest.cpp - tensor maps in artifacts and launches ---===//
//
// The tensor maps an artifact asks for (TMA copies) round-trip and are
// validated when parsed; a launch's tensor that no tensor map can describe
// is rejected by the argument checks, naming the tensor and why; the
// encoding the driver is given (dimensions innermost first, byte strides,
// box, swizzle) is what cuTensorMapEncodeTiled expects. No GPU needed.
//
//===----------------------------------------------------------------------===//

#include "../../lib/Runtime/TensorMapPlan.h"
#include "SampleArtifact.h"
#include "attn/Runtime/Runtime.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace attn;
using namespace attn::runtime;

namespace {
using attn::runtime::testing::sampleArtifact;

/// The sample with a tensor map of q: 32 rows of one head and batch by a
/// 64-column (128-byte) panel, 128-byte swizzle. q's alignment is lowered
/// to its element size so that only the tensor map's checks see a stride
/// that is not a multiple of 16 bytes.
ArtifactDesc tmaArtifact() {
  ArtifactDesc a = sampleArtifact();
  a.params[0].alignment = 2;
  a.tensorMaps.push_back({/*source=*/0, {1, 32, 1, 64}, /*swizzle=*/128});
  return a;
}

std::vector<attn_arg> goodArgs(std::vector<uint16_t> &storage) {
  storage.assign(2 * 100 * 8 * 64 + 64, 0);
  attn_arg scale{};
  scale.kind = ATTN_ARG_F32;
  scale.f32 = 0.125f;
  return {tensorArg(storage.data(), ATTN_DTYPE_F16, {2, 100, 8, 64}),
          tensorArg(storage.data(), ATTN_DTYPE_F16, {2, 100, 8, 64}), scale};
}

attn_status checkArgs(const std::vector<attn_arg> &args,
                      const ArtifactDesc &artifact) {
  return attn::runtime::testing::checkArgsOf(args, serializeArtifact(artifact));
}

TEST(RuntimeTensorMaps, RoundTrip) {
  ArtifactDesc a = tmaArtifact();
  ArtifactDesc b;
  std::string error;
  ASSERT_TRUE(attn::runtime::testing::roundTrip(a, b, error)) << error;
  ASSERT_EQ(b.tensorMaps.size(), 1u);
  EXPECT_EQ(b.tensorMaps[0].source, 0u);
  EXPECT_EQ(b.tensorMaps[0].box, (std::vector<uint32_t>{1, 32, 1, 64}));
  EXPECT_EQ(b.tensorMaps[0].swizzle, 128u);
}

TEST(RuntimeTensorMaps, CorruptMapsAreRejected) {
  auto rejects = [](ArtifactDesc a, const char *why) {
    ArtifactDesc b;
    std::string error;
    EXPECT_FALSE(attn::runtime::testing::roundTrip(a, b, error)) << why;
    EXPECT_NE(error.find("corrupt artifact: tensor map 0"), std::string::npos)
        << why << ": " << error;
  };
  ArtifactDesc a = tmaArtifact();
  a.tensorMaps[0].source = 2; // the f32 scalar
  rejects(a, "a scalar's tensor map");
  a = tmaArtifact();
  a.tensorMaps[0].source = 3;
  rejects(a, "a missing parameter");
  a = tmaArtifact();
  a.tensorMaps[0].box = {32, 64};
  rejects(a, "rank 2 for a rank-4 tensor");
  a = tmaArtifact();
  a.tensorMaps[0].box[1] = 257;
  rejects(a, "a box of 257 rows");
  a = tmaArtifact();
  a.tensorMaps[0].box[0] = 0;
  rejects(a, "an empty box");
  a = tmaArtifact();
  a.tensorMaps[0].swizzle = 48;
  rejects(a, "a 48-byte swizzle");
}

TEST(RuntimeTensorMaps, ArgumentChecksNameWhatTmaCannotCopy) {
  std::vector<uint16_t> storage;
  ArtifactDesc a = tmaArtifact();
  EXPECT_EQ(checkArgs(goodArgs(storage), a), ATTN_SUCCESS) << attn_last_error();
  // A padded batch stride that keeps rows 16-byte aligned is fine.
  std::vector<attn_arg> args = goodArgs(storage);
  args[0].tensor.shape[0] = 1;
  args[0].tensor.strides[0] = 101 * 512;
  EXPECT_EQ(checkArgs(args, a), ATTN_SUCCESS) << attn_last_error();
  // One that is not a multiple of 16 bytes cannot be a tensor map stride.
  args = goodArgs(storage);
  args[0].tensor.strides[0] = 100 * 512 + 1;
  EXPECT_EQ(checkArgs(args, a), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error())
                .find("argument 0 (q) stride of dimension 0 is 102402 bytes; "
                      "TMA needs a multiple of 16 below 2^40 (the kernel "
                      "copies it with TMA)"),
            std::string::npos)
      << attn_last_error();
  args = goodArgs(storage);
  args[0].tensor.data = reinterpret_cast<char *>(storage.data()) + 8;
  EXPECT_EQ(checkArgs(args, a), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error()).find("(q) must be 16-byte aligned"),
            std::string::npos)
      << attn_last_error();
  // An empty q is never read (nor launched for).
  args = goodArgs(storage);
  args[0].tensor.shape[1] = 0;
  args[0].tensor.data = nullptr;
  EXPECT_EQ(checkArgs(args, a), ATTN_SUCCESS) << attn_last_error();
}

TEST(RuntimeTensorMaps, EncodingIsInnermostFirstInBytes) {
  std::vector<uint16_t> storage;
  std::vector<attn_arg> args = goodArgs(storage);
  ArtifactDesc a = tmaArtifact();
  TensorMapEncoding e;
  std::string error;
  ASSERT_TRUE(planTensorMap(a.tensorMaps[0], a.params[0], args[0].tensor, 2, 0,
                            e, error))
      << error;
  EXPECT_EQ(e.dataType, 6u); // CU_TENSOR_MAP_DATA_TYPE_FLOAT16
  EXPECT_EQ(e.rank, 4u);
  EXPECT_EQ(e.address, reinterpret_cast<uint64_t>(storage.data()));
  // [B, S, H, D] = [2, 100, 8, 64]: (D, H, S, B), strides of H, S, B.
  const uint64_t dims[] = {64, 8, 100, 2}, strides[] = {128, 1024, 102400};
  const uint32_t box[] = {64, 1, 32, 1};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(e.dims[i], dims[i]) << i;
    EXPECT_EQ(e.box[i], box[i]) << i;
  }
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(e.strides[i], strides[i]) << i;
  EXPECT_EQ(e.swizzle, 3u); // CU_TENSOR_MAP_SWIZZLE_128B
  // A batch of one: its stride is never stepped over (any valid one).
  args[0].tensor.shape[0] = 1;
  args[0].tensor.strides[0] = 7;
  ASSERT_TRUE(planTensorMap(a.tensorMaps[0], a.params[0], args[0].tensor, 2, 0,
                            e, error))
      << error;
  EXPECT_EQ(e.strides[2], 102400u);
  // The last dimension must be contiguous; bf16 is type 9.
  args = goodArgs(storage);
  args[0].tensor.strides[3] = 2;
  EXPECT_FALSE(planTensorMap(a.tensorMaps[0], a.params[0], args[0].tensor, 2, 0,
                             e, error));
  EXPECT_NE(error.find("contiguous in its last dimension"), std::string::npos)
      << error;
  ParamDesc bf16 = a.params[0];
  bf16.dtype = ATTN_DTYPE_BF16;
  args = goodArgs(storage);
  ASSERT_TRUE(
      planTensorMap(a.tensorMaps[0], bf16, args[0].tensor, 2, 0, e, error));
  EXPECT_EQ(e.dataType, 9u);
  // An empty tensor (torch's pointer is null) describes extents of 1 at the
  // address it is given: TMA faults on an unmapped base even for copies
  // wholly outside the tensor.
  args = goodArgs(storage);
  args[0].tensor.shape[1] = 0;
  args[0].tensor.data = nullptr;
  ASSERT_TRUE(planTensorMap(a.tensorMaps[0], a.params[0], args[0].tensor, 2,
                            4096, e, error))
      << error;
  EXPECT_EQ(e.address, 4096u);
  EXPECT_EQ(e.dims[2], 1u);
}

} // namespace
