//===- DeviceRun.cpp - run the kernel artifact on the GPU -----------------===//

#include "DeviceRun.h"

#include "attn/Runtime/CudaDriver.hpp"
#include "attn/Runtime/Runtime.hpp"

#include <chrono>

namespace {
/// Device 0, or why not.
bool openDevice(attn::CudaDevice &cuda, std::string &whyNot) {
  if (!attn::CudaDriverLibrary().opened()) {
    whyNot = "no CUDA driver (libcuda.so.1)";
    return false;
  }
  if (!cuda.open()) {
    whyNot = "a CUDA driver but no usable GPU";
    return false;
  }
  return true;
}

/// Device buffers freed on every path.
struct DeviceBuffers {
  attn::CudaDevice &cuda;
  std::vector<uint64_t> pointers;
  ~DeviceBuffers() {
    for (uint64_t p : pointers)
      cuda.memFree(p);
  }
  uint64_t upload(const void *host, size_t bytes) {
    uint64_t p = cuda.upload(host, bytes);
    if (p)
      pointers.push_back(p);
    return p;
  }
};

llvm::Error fail(const std::string &what) {
  return llvm::createStringError("GPU run: " + what);
}
} // namespace

std::optional<attn_run::Gpu> attn_run::detectGpu(std::string &whyNot) {
  attn::CudaDevice cuda;
  if (!openDevice(cuda, whyNot))
    return std::nullopt;
  char name[256] = {};
  int major = 0, minor = 0;
  constexpr int kMajor = 75, kMinor = 76; // CU_DEVICE_ATTRIBUTE_COMPUTE_...
  cuda.deviceGetName(name, sizeof(name) - 1, cuda.device);
  cuda.deviceGetAttribute(&major, kMajor, cuda.device);
  cuda.deviceGetAttribute(&minor, kMinor, cuda.device);
  return Gpu{name, "sm_" + std::to_string(major) + std::to_string(minor)};
}

llvm::Expected<double> attn_run::runOnGpu(const std::vector<uint8_t> &artifact,
                                          Tensors &t, ElementType dtype,
                                          bool hasLse, int repeats) {
  attn::CudaDevice cuda;
  std::string whyNot;
  if (!openDevice(cuda, whyNot))
    return fail(whyNot);
  attn::Kernel kernel;
  if (attn::Status s = attn::Kernel::load(artifact.data(), artifact.size(),
                                          kernel);
      !s)
    return fail("load: " + s.message);
  DeviceBuffers buffers{cuda, {}};
  uint64_t q = buffers.upload(t.q.data(dtype), t.q.bytes(dtype)),
           k = buffers.upload(t.k.data(dtype), t.k.bytes(dtype)),
           v = buffers.upload(t.v.data(dtype), t.v.bytes(dtype)),
           out = buffers.upload(t.out.data(dtype), t.out.bytes(dtype)),
           lse = buffers.upload(t.lse.data(ElementType::F32),
                                t.lse.bytes(ElementType::F32));
  if (!q || !k || !v || !out || !lse)
    return fail("device allocation or copy failed");
  attn_dtype code = dtype == ElementType::BF16  ? ATTN_DTYPE_BF16
                    : dtype == ElementType::F16 ? ATTN_DTYPE_F16
                                                : ATTN_DTYPE_F32;
  auto ptr = [](uint64_t p) { return reinterpret_cast<void *>(p); };
  std::vector<attn_arg> args = {attn::tensorArg(ptr(q), code, t.q.shape),
                                attn::tensorArg(ptr(k), code, t.k.shape),
                                attn::tensorArg(ptr(v), code, t.v.shape),
                                attn::tensorArg(ptr(out), code, t.out.shape)};
  if (hasLse)
    args.push_back(attn::tensorArg(ptr(lse), ATTN_DTYPE_F32, t.lse.shape));
  if (attn::Status s = kernel.launch(args); !s)
    return fail("launch: " + s.message);
  if (cuda.ctxSynchronize() != 0 ||
      cuda.memcpyDtoH(t.out.data(dtype), out, t.out.bytes(dtype)) != 0 ||
      cuda.memcpyDtoH(t.lse.data(ElementType::F32), lse,
                      t.lse.bytes(ElementType::F32)) != 0)
    return fail("the kernel failed");
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r)
    if (attn::Status s = kernel.launch(args); !s)
      return fail("launch: " + s.message);
  if (cuda.ctxSynchronize() != 0)
    return fail("the kernel failed");
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
             .count() /
         repeats;
}
