//===- RuntimeTest.cpp - the runtime's error paths (no GPU needed) --------===//
//
// Artifacts round-trip; every corrupt, truncated or foreign artifact and
// every argument that disagrees with the artifact gets a status and a
// message, without crashing; launching where there is no driver, no GPU or
// no context says so. These run in CI, where there is no GPU.
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime/Runtime.hpp"
#include "SampleArtifact.h"
#include "attn/Runtime/Artifact.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdio>
#include <limits>
#include <string>

using namespace attn;
using namespace attn::runtime;

namespace {
using attn::runtime::testing::roundTrip;
using attn::runtime::testing::sampleArtifact;

class RuntimeArgs : public ::testing::Test {
protected:
  void SetUp() override {
    bytes = serializeArtifact(sampleArtifact());
    ASSERT_TRUE(Kernel::load(bytes.data(), bytes.size(), kernel));
    storage.resize(2 * 100 * 8 * 64 + 64);
  }
  std::vector<attn_arg> goodArgs() {
    void *aligned = storage.data();
    attn_arg scale{};
    scale.kind = ATTN_ARG_F32;
    scale.f32 = 0.125f;
    return {tensorArg(aligned, ATTN_DTYPE_F16, {2, 100, 8, 64}),
            tensorArg(aligned, ATTN_DTYPE_F16, {2, 100, 8, 64}), scale};
  }
  std::vector<uint8_t> bytes;
  Kernel kernel;
  std::vector<uint16_t> storage;
};

TEST(RuntimeArtifact, RoundTrips) {
  ArtifactDesc a = sampleArtifact();
  ArtifactDesc b;
  std::string error;
  ASSERT_TRUE(roundTrip(a, b, error)) << error;
  EXPECT_EQ(b.entry(), a.entry());
  EXPECT_EQ(b.key, a.key);
  EXPECT_EQ(b.target, a.target);
  ASSERT_EQ(b.kernels.size(), 1u);
  EXPECT_EQ(b.kernels[0].block[0], 128u);
  EXPECT_EQ(b.kernels[0].dynamicSharedBytes, a.kernels[0].dynamicSharedBytes);
  EXPECT_EQ(b.split.maxSplits, 1u);
  ASSERT_EQ(b.params.size(), 3u);
  EXPECT_EQ(b.params[1].name, "out");
  EXPECT_EQ(b.params[0].shape, a.params[0].shape);
  EXPECT_EQ(b.params[2].kind, ParamDesc::F32);
  EXPECT_EQ(b.kernels[0].grid[0].value, 64);
  EXPECT_EQ(b.binary, a.binary);
}

/// The sample as a split-KV artifact: a main kernel whose grid x is the
/// split count and a merge kernel launched only when it is above 1.
ArtifactDesc splitArtifact() {
  ArtifactDesc a = sampleArtifact();
  a.kernels[0].grid[0] = {GridDim::kSplits, 0, 1};
  KernelDesc merge = a.kernels[0];
  merge.entry = "attn_merge";
  merge.grid[0] = {0, 1, 1};
  merge.onlyWhenSplit = 1;
  a.kernels.push_back(merge);
  a.split = {/*maxSplits=*/64,   /*minTilesPerSplit=*/2,
             /*ctasPerSm=*/3,
             /*keysParam=*/0,    /*keysDim=*/1,
             /*keysPerTile=*/64,
             /*rowsParam=*/0,    /*floatsPerRow=*/65};
  return a;
}

TEST(RuntimeArtifact, SeveralKernelsAndTheSplitRuleRoundTrip) {
  ArtifactDesc a = splitArtifact();
  ArtifactDesc b;
  std::string error;
  ASSERT_TRUE(roundTrip(a, b, error)) << error;
  ASSERT_EQ(b.kernels.size(), 2u);
  EXPECT_EQ(b.kernels[1].entry, "attn_merge");
  EXPECT_EQ(b.kernels[1].onlyWhenSplit, 1u);
  EXPECT_EQ(b.kernels[0].grid[0].param, GridDim::kSplits);
  EXPECT_EQ(b.split.maxSplits, 64u);
  EXPECT_EQ(b.split.minTilesPerSplit, 2u);
  EXPECT_EQ(b.split.ctasPerSm, 3u);
  EXPECT_EQ(b.split.keysPerTile, 64);
  EXPECT_EQ(b.split.floatsPerRow, 65u);
}

TEST(RuntimeArtifact, BadSplitRulesAreRejected) {
  auto rejects = [](ArtifactDesc a, const char *why) {
    ArtifactDesc b;
    std::string error;
    EXPECT_FALSE(roundTrip(a, b, error)) << why;
    EXPECT_NE(error.find("corrupt artifact"), std::string::npos) << error;
  };
  ArtifactDesc a = splitArtifact();
  a.split.keysParam = 2; // the f32 scalar
  rejects(a, "keys from a scalar");
  a = splitArtifact();
  a.split.keysDim = 4;
  rejects(a, "keys dimension past the rank");
  a = splitArtifact();
  a.split.floatsPerRow = 0;
  rejects(a, "no workspace per row");
  a = splitArtifact();
  a.split.maxSplits = 1; // split grid and merge kernel without a rule
  rejects(a, "split grid without a split rule");
  a = splitArtifact();
  a.kernels.clear();
  rejects(a, "no kernel");
}

TEST(RuntimeArtifact, EveryTruncationIsRejected) {
  std::vector<uint8_t> bytes = serializeArtifact(sampleArtifact());
  for (size_t size = 0; size < bytes.size(); ++size) {
    attn_kernel *kernel = nullptr;
    EXPECT_EQ(attn_kernel_load(bytes.data(), size, &kernel),
              ATTN_ERROR_INVALID_ARTIFACT)
        << "size " << size;
    EXPECT_EQ(kernel, nullptr);
    EXPECT_STRNE(attn_last_error(), "");
  }
}

TEST(RuntimeArtifact, EveryFlippedByteIsRejected) {
  std::vector<uint8_t> bytes = serializeArtifact(sampleArtifact());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> corrupt = bytes;
    corrupt[i] ^= 0x5A;
    attn_kernel *kernel = nullptr;
    EXPECT_EQ(attn_kernel_load(corrupt.data(), corrupt.size(), &kernel),
              ATTN_ERROR_INVALID_ARTIFACT)
        << "byte " << i;
  }
}

TEST(RuntimeArtifact, MessagesSayWhatIsWrong) {
  attn_kernel *kernel = nullptr;
  const char junk[] = "definitely not an artifact";
  EXPECT_EQ(attn_kernel_load(junk, sizeof(junk), &kernel),
            ATTN_ERROR_INVALID_ARTIFACT);
  EXPECT_NE(std::string(attn_last_error()).find("bad magic"),
            std::string::npos);

  std::vector<uint8_t> bytes = serializeArtifact(sampleArtifact());
  bytes[bytes.size() / 2] ^= 1;
  EXPECT_EQ(attn_kernel_load(bytes.data(), bytes.size(), &kernel),
            ATTN_ERROR_INVALID_ARTIFACT);
  EXPECT_NE(std::string(attn_last_error()).find("checksum"), std::string::npos);

  bytes = serializeArtifact(sampleArtifact());
  // An artifact of the previous format (3: no tensor maps) is refused,
  // saying what to do.
  bytes[8] = ArtifactDesc::kVersion - 1; // version
  EXPECT_EQ(attn_kernel_load(bytes.data(), bytes.size(), &kernel),
            ATTN_ERROR_INVALID_ARTIFACT);
  EXPECT_NE(std::string(attn_last_error())
                .find("kernel artifact format version " +
                      std::to_string(ArtifactDesc::kVersion - 1) +
                      ", but this runtime reads version " +
                      std::to_string(ArtifactDesc::kVersion) +
                      ": compile the kernel again"),
            std::string::npos)
      << attn_last_error();
}

TEST(RuntimeArtifact, NullsAndFiles) {
  attn_kernel *kernel = nullptr;
  EXPECT_EQ(attn_kernel_load(nullptr, 10, &kernel),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_load("x", 1, nullptr), ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_load_file(nullptr, &kernel),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_load_file("/nonexistent/kernel.attn", &kernel),
            ATTN_ERROR_IO);
  EXPECT_NE(std::string(attn_last_error()).find("/nonexistent/kernel.attn"),
            std::string::npos);
  EXPECT_EQ(attn_kernel_prepare(nullptr), ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_launch(nullptr, nullptr, 0, nullptr),
            ATTN_ERROR_INVALID_ARGUMENT);
  attn_kernel_free(nullptr); // allowed
  EXPECT_STREQ(attn_kernel_entry(nullptr), "");

  // A written file loads back.
  std::vector<uint8_t> bytes = serializeArtifact(sampleArtifact());
  std::string path = ::testing::TempDir() + "/sample.attn";
  FILE *f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  Kernel k;
  Status status = Kernel::loadFile(path, k);
  ASSERT_TRUE(status) << status.message;
  EXPECT_EQ(k.entry(), "attn_fwd");
  EXPECT_EQ(k.key(), "f16.d64.causal.bq64.bk64");
}

using attn::runtime::testing::checkArgsOf;
/// attn_kernel_check_args on a fresh load of `bytes`.
attn_status checkArgs(const std::vector<attn_arg> &args,
                      const std::vector<uint8_t> &bytes) {
  return checkArgsOf(args, bytes);
}

TEST_F(RuntimeArgs, GoodArgumentsPassTheChecks) {
  EXPECT_EQ(checkArgs(goodArgs(), bytes), ATTN_SUCCESS) << attn_last_error();
}

TEST_F(RuntimeArgs, CountKindAndNull) {
  std::vector<attn_arg> args = goodArgs();
  args.pop_back();
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("takes 3 arguments, got 2"),
            std::string::npos);
  args = goodArgs();
  args[2].kind = ATTN_ARG_I64;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error()).find("(scale) must be a f32 scalar"),
            std::string::npos);
  args = goodArgs();
  args[1].tensor.data = nullptr;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(
      std::string(attn_last_error()).find("(out) has a null data pointer"),
      std::string::npos);
}

TEST_F(RuntimeArgs, DtypeRankShape) {
  std::vector<attn_arg> args = goodArgs();
  args[0].tensor.dtype = ATTN_DTYPE_BF16;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error()).find("must hold f16, got bf16"),
            std::string::npos);
  args = goodArgs();
  args[0].tensor.rank = 3;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error()).find("must have rank 4, got 3"),
            std::string::npos);
  args = goodArgs();
  args[0].tensor.shape[3] = 128;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(
      std::string(attn_last_error()).find("dimension 3 must be 64, got 128"),
      std::string::npos);
  args = goodArgs();
  args[0].tensor.shape[1] = -1;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
}

TEST_F(RuntimeArgs, StridesAndAlignment) {
  std::vector<attn_arg> args = goodArgs();
  args[0].tensor.strides[3] = 2;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error())
                .find("(q) stride of dimension 3 must be 1 (the kernel was "
                      "compiled for it), got 2"),
            std::string::npos)
      << attn_last_error();
  // A [B, H, S, D] tensor passed as [B, S, H, D] (transposed): the kernel
  // would read it with the compiled strides: rejected, naming the stride.
  args = goodArgs();
  args[0].tensor.strides[1] = 64;
  args[0].tensor.strides[2] = 100 * 64;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error())
                .find("(q) stride of dimension 1 must be 512"),
            std::string::npos)
      << attn_last_error();
  // The outermost stride is dynamic (read at launch): a padded batch stride
  // is fine, one that misaligns rows for 16-byte loads is not.
  args = goodArgs();
  args[0].tensor.strides[0] = 101 * 512;
  args[0].tensor.shape[0] = 1;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_SUCCESS) << attn_last_error();
  args = goodArgs();
  args[0].tensor.data = static_cast<char *>(args[0].tensor.data) + 2;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error()).find("16-byte aligned"),
            std::string::npos);
  args = goodArgs();
  args[0].tensor.strides[0] = 100 * 512 + 1; // breaks 16-byte row loads
  EXPECT_EQ(checkArgs(args, bytes), ATTN_ERROR_MISMATCH);
  EXPECT_NE(std::string(attn_last_error()).find("multiple of 8 elements"),
            std::string::npos);
}

TEST_F(RuntimeArgs, LaunchSaysWhyItCannotRun) {
  // Without a driver (CI): NO_DRIVER; with a driver but no context on this
  // thread: NO_CONTEXT (or NO_DEVICE on a machine without a GPU).
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  Status status = kernel.launch(goodArgs());
  if (!driver) {
    EXPECT_EQ(status.code, ATTN_ERROR_NO_DRIVER) << status.message;
    EXPECT_NE(status.message.find("libcuda.so.1"), std::string::npos);
  } else {
    EXPECT_TRUE(status.code == ATTN_ERROR_NO_CONTEXT ||
                status.code == ATTN_ERROR_NO_DEVICE)
        << status.message;
    dlclose(driver);
  }
  // Argument errors are reported before the driver is touched.
  std::vector<attn_arg> args = goodArgs();
  args[0].tensor.dtype = ATTN_DTYPE_F32;
  EXPECT_EQ(kernel.launch(args).code, ATTN_ERROR_MISMATCH);
}

TEST_F(RuntimeArgs, EmptyProblemLaunchesNothing) {
  std::vector<attn_arg> args = goodArgs();
  args[0].tensor.shape[1] = 0; // no query rows: grid x = 0
  EXPECT_EQ(kernel.launch(args).code, ATTN_SUCCESS) << attn_last_error();
  // An empty tensor is never read: its pointer may be null (torch's is).
  args[0].tensor.data = nullptr;
  EXPECT_EQ(checkArgs(args, bytes), ATTN_SUCCESS) << attn_last_error();
}

// Sq = 2^63 - 1 once wrapped ceil(Sq / 64) negative and launched nothing,
// returning success; every size computation is now overflow-checked.
TEST_F(RuntimeArgs, HugeSizesAreErrorsNotSilentSuccess) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<attn_arg> args = goodArgs();
  args[0].tensor.shape[1] = kMax; // spans past any 64-bit offset
  EXPECT_EQ(kernel.launch(args).code, ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("more bytes than a 64-bit"),
            std::string::npos)
      << attn_last_error();
  // With stride 0 the span is fine, but the grid (z: the batch) is beyond
  // the hardware.
  args = goodArgs();
  args[0].tensor.shape[0] = kMax;
  args[0].tensor.strides[0] = 0;
  EXPECT_EQ(kernel.launch(args).code, ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("beyond the hardware limit"),
            std::string::npos)
      << attn_last_error();
  // Strides whose byte size overflows are rejected, not wrapped.
  args = goodArgs();
  args[0].tensor.strides[0] = kMax / 2;
  EXPECT_NE(checkArgs(args, bytes), ATTN_SUCCESS);
}
} // namespace
