//===- GpuRuntimeTest.cpp - the runtime on a real GPU ---------------------===//
//
// Launches a small PTX kernel (fill_kernel.ll, compiled by llc at build
// time) through the Attn runtime on a real GPU: the result is checked
// element by element on poisoned memory; a 64 KiB dynamic shared-memory
// launch checks the opt-in past 48 KiB; a CUDA graph capture checks that a
// prepared launch is capturable; concurrent launches from several threads
// check thread safety. Skips cleanly where there is no driver or no GPU.
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/CudaDriver.hpp"
#include "attn/Runtime/Runtime.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

using namespace attn;
using namespace attn::runtime;

namespace {
// The driver calls this test itself makes (allocation, copies, streams,
// graphs), opened the same way the runtime opens the driver.
struct TestDriver {
  using CUresult = int;
  int (*init)(unsigned);
  int (*deviceGet)(int *, int);
  int (*deviceGetCount)(int *);
  int (*primaryCtxRetain)(void **, int);
  int (*ctxSetCurrent)(void *);
  int (*ctxSynchronize)();
  int (*memAlloc)(uint64_t *, size_t);
  int (*memFree)(uint64_t);
  int (*memsetD32)(uint64_t, unsigned, size_t);
  int (*memcpyDtoH)(void *, uint64_t, size_t);
  int (*streamCreate)(void **, unsigned);
  int (*streamSynchronize)(void *);
  int (*streamBeginCapture)(void *, int);
  int (*streamEndCapture)(void *, void **);
  int (*graphInstantiate)(void **, void *, unsigned long long);
  int (*graphLaunch)(void *, void *);
  bool ok = false;

  TestDriver() {
    CudaDriverLibrary lib;
    lib.bind(init, "cuInit");
    lib.bind(deviceGet, "cuDeviceGet");
    lib.bind(deviceGetCount, "cuDeviceGetCount");
    lib.bind(primaryCtxRetain, "cuDevicePrimaryCtxRetain");
    lib.bind(ctxSetCurrent, "cuCtxSetCurrent");
    lib.bind(ctxSynchronize, "cuCtxSynchronize");
    lib.bind(memAlloc, "cuMemAlloc_v2");
    lib.bind(memFree, "cuMemFree_v2");
    lib.bind(memsetD32, "cuMemsetD32_v2");
    lib.bind(memcpyDtoH, "cuMemcpyDtoH_v2");
    lib.bind(streamCreate, "cuStreamCreate");
    lib.bind(streamSynchronize, "cuStreamSynchronize");
    lib.bind(streamBeginCapture, "cuStreamBeginCapture_v2");
    lib.bind(streamEndCapture, "cuStreamEndCapture");
    lib.bind(graphInstantiate, "cuGraphInstantiateWithFlags");
    lib.bind(graphLaunch, "cuGraphLaunch");
    int count = 0;
    ok = lib.ok() && init(0) == 0 && deviceGetCount(&count) == 0 && count > 0;
  }
};

TestDriver &testDriver() {
  static TestDriver d;
  return d;
}

std::string exeDir() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0)
    return ".";
  path[n] = 0;
  std::string s(path);
  return s.substr(0, s.rfind('/'));
}

class GpuRuntime : public ::testing::Test {
protected:
  void SetUp() override {
    TestDriver &d = testDriver();
    if (!d.ok)
      GTEST_SKIP() << "no CUDA driver or no GPU: GPU runtime tests skipped";
    int device;
    ASSERT_EQ(d.deviceGet(&device, 0), 0);
    ASSERT_EQ(d.primaryCtxRetain(&context, device), 0);
    ASSERT_EQ(d.ctxSetCurrent(context), 0);
    std::ifstream in(exeDir() + "/fill_kernel.ptx");
    ASSERT_TRUE(in.good()) << "fill_kernel.ptx not found next to the test";
    ptx.assign(std::istreambuf_iterator<char>(in),
               std::istreambuf_iterator<char>());
  }

  /// An artifact for `fill`, launched with 128 threads per block.
  Kernel load(uint32_t sharedBytes) {
    ArtifactDesc a;
    a.key = "test.fill";
    a.target = "sm_80";
    KernelDesc &k = a.kernels.emplace_back();
    k.entry = "fill";
    k.block[0] = 128;
    k.dynamicSharedBytes = sharedBytes;
    a.params = {{"out", ParamDesc::Tensor, ATTN_DTYPE_F32, {-1}, {1}, 4},
                {"value", ParamDesc::F32, 0, {}, {}, 0}};
    k.grid[0] = {0, 0, 128};
    a.binaryKind = ArtifactDesc::Ptx;
    a.binary.assign(ptx.begin(), ptx.end());
    std::vector<uint8_t> bytes = serializeArtifact(a);
    Kernel kernel;
    Status status = Kernel::load(bytes.data(), bytes.size(), kernel);
    EXPECT_TRUE(status) << status.message;
    return kernel;
  }

  std::vector<attn_arg> args(uint64_t device, int64_t n, float value) {
    attn_arg scalar{};
    scalar.kind = ATTN_ARG_F32;
    scalar.f32 = value;
    return {tensorArg(reinterpret_cast<void *>(device), ATTN_DTYPE_F32, {n}),
            scalar};
  }

  /// Allocates n floats poisoned with NaN.
  uint64_t poisoned(int64_t n) {
    uint64_t ptr = 0;
    EXPECT_EQ(testDriver().memAlloc(&ptr, n * 4), 0);
    EXPECT_EQ(testDriver().memsetD32(ptr, 0x7FC00000u, n), 0);
    return ptr;
  }

  void expectFilled(uint64_t device, int64_t n, float value) {
    std::vector<float> host(n);
    ASSERT_EQ(testDriver().memcpyDtoH(host.data(), device, n * 4), 0);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(host[i], value + float(i)) << "element " << i;
  }

  void *context = nullptr;
  std::string ptx;
};

TEST_F(GpuRuntime, LaunchWritesEveryElement) {
  Kernel kernel = load(128 * 4);
  const int64_t n = 1000; // not a multiple of the block
  uint64_t out = poisoned(n);
  Status status = kernel.launch(args(out, n, 1.5f));
  ASSERT_TRUE(status) << status.message;
  ASSERT_EQ(testDriver().ctxSynchronize(), 0);
  expectFilled(out, n, 1.5f);
  testDriver().memFree(out);
}

TEST_F(GpuRuntime, SharedMemoryPast48KiB) {
  Kernel kernel = load(64 * 1024);
  const int64_t n = 300;
  uint64_t out = poisoned(n);
  Status status = kernel.launch(args(out, n, -2.0f));
  ASSERT_TRUE(status) << status.message;
  ASSERT_EQ(testDriver().ctxSynchronize(), 0);
  expectFilled(out, n, -2.0f);
  testDriver().memFree(out);
}

TEST_F(GpuRuntime, PreparedLaunchIsGraphCapturable) {
  TestDriver &d = testDriver();
  Kernel kernel = load(128 * 4);
  ASSERT_TRUE(kernel.prepare());
  void *stream = nullptr;
  ASSERT_EQ(d.streamCreate(&stream, 1 /*non-blocking*/), 0);
  const int64_t n = 777;
  uint64_t out = poisoned(n);
  ASSERT_EQ(d.streamBeginCapture(stream, 0 /*global mode*/), 0);
  Status status = kernel.launch(args(out, n, 4.0f), stream);
  void *graph = nullptr;
  ASSERT_EQ(d.streamEndCapture(stream, &graph), 0);
  ASSERT_TRUE(status) << status.message;
  void *exec = nullptr;
  ASSERT_EQ(d.graphInstantiate(&exec, graph, 0), 0);
  ASSERT_EQ(d.graphLaunch(exec, stream), 0);
  ASSERT_EQ(d.streamSynchronize(stream), 0);
  expectFilled(out, n, 4.0f);
  d.memFree(out);
}

TEST_F(GpuRuntime, ConcurrentLaunchesFromThreads) {
  Kernel kernel = load(128 * 4);
  const int64_t n = 4096;
  std::vector<uint64_t> outs;
  for (int t = 0; t < 4; ++t)
    outs.push_back(poisoned(n));
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      testDriver().ctxSetCurrent(context);
      results[t] = kernel.launch(args(outs[t], n, float(t)));
    });
  for (std::thread &th : threads)
    th.join();
  ASSERT_EQ(testDriver().ctxSynchronize(), 0);
  for (int t = 0; t < 4; ++t) {
    ASSERT_TRUE(results[t]) << results[t].message;
    expectFilled(outs[t], n, float(t));
    testDriver().memFree(outs[t]);
  }
}

TEST_F(GpuRuntime, BadArgumentsNeverReachTheGpu) {
  Kernel kernel = load(128 * 4);
  std::vector<attn_arg> bad = args(0, 10, 1.0f); // null device pointer
  EXPECT_EQ(kernel.launch(bad).code, ATTN_ERROR_INVALID_ARGUMENT);
}
} // namespace
