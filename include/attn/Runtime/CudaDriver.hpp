//===- CudaDriver.hpp - the CUDA driver, opened at run time -----*- C++ -*-===//
//
// The CUDA driver opened the way libAttnRuntime opens it: dlopen of
// libcuda.so.1 and entry points bound by name, so that a program builds
// without the CUDA toolkit and starts (and can say "no GPU") where there is
// no driver. Used by the runtime, its GPU tests, attn-run and the C++
// example; CudaDevice is what a host program around the kernels needs.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_CUDADRIVER_HPP
#define ATTN_RUNTIME_CUDADRIVER_HPP

#include <cstddef>
#include <cstdint>
#include <dlfcn.h>

namespace attn {

/// libcuda.so.1, opened once per object (never closed: the driver stays
/// loaded for the life of the process, as CUDA expects).
class CudaDriverLibrary {
public:
  /// Opens libcuda.so.1; opened() is false where it is missing.
  CudaDriverLibrary() : handle(dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {}

  /// Whether libcuda.so.1 could be opened.
  bool opened() const { return handle != nullptr; }

  /// Whether it was opened and every bind() found its entry point.
  bool ok() const { return handle && allBound; }

  /// Binds the function pointer `fn` to the driver entry point `name`.
  template <typename Fn> void bind(Fn &fn, const char *name) {
    fn = handle ? reinterpret_cast<Fn>(dlsym(handle, name)) : nullptr;
    allBound = allBound && fn;
  }

  /// Binds `fn` to `name` where the driver has it (null otherwise), without
  /// making ok() false: an entry point only some launches need.
  template <typename Fn> void bindOptional(Fn &fn, const char *name) {
    fn = handle ? reinterpret_cast<Fn>(dlsym(handle, name)) : nullptr;
  }

private:
  void *handle;
  bool allBound = true;
};

/// Device 0 for a host program that feeds kernels: its primary context
/// made current, device memory, copies, synchronization, name and compute
/// capability (driver status codes: 0 is success).
struct CudaDevice {
  int (*deviceGetName)(char *, int, int) = nullptr;
  int (*deviceGetAttribute)(int *, int, int) = nullptr;
  int (*ctxSynchronize)() = nullptr;
  int (*memAlloc)(uint64_t *, size_t) = nullptr;
  int (*memFree)(uint64_t) = nullptr;
  int (*memcpyHtoD)(uint64_t, const void *, size_t) = nullptr;
  int (*memcpyDtoH)(void *, uint64_t, size_t) = nullptr;
  int device = 0;

  /// Opens the driver and makes device 0's primary context current; false
  /// where there is no driver or no usable GPU.
  bool open() {
    CudaDriverLibrary lib;
    int (*init)(unsigned);
    int (*deviceGet)(int *, int);
    int (*primaryCtxRetain)(void **, int);
    int (*ctxSetCurrent)(void *);
    lib.bind(init, "cuInit");
    lib.bind(deviceGet, "cuDeviceGet");
    lib.bind(primaryCtxRetain, "cuDevicePrimaryCtxRetain");
    lib.bind(ctxSetCurrent, "cuCtxSetCurrent");
    lib.bind(deviceGetName, "cuDeviceGetName");
    lib.bind(deviceGetAttribute, "cuDeviceGetAttribute");
    lib.bind(ctxSynchronize, "cuCtxSynchronize");
    lib.bind(memAlloc, "cuMemAlloc_v2");
    lib.bind(memFree, "cuMemFree_v2");
    lib.bind(memcpyHtoD, "cuMemcpyHtoD_v2");
    lib.bind(memcpyDtoH, "cuMemcpyDtoH_v2");
    void *ctx = nullptr;
    return lib.ok() && init(0) == 0 && deviceGet(&device, 0) == 0 &&
           primaryCtxRetain(&ctx, device) == 0 && ctxSetCurrent(ctx) == 0;
  }

  /// A device copy of `bytes` bytes at `host`, or 0 on failure.
  uint64_t upload(const void *host, size_t bytes) {
    uint64_t ptr = 0;
    if (memAlloc(&ptr, bytes ? bytes : 1) != 0)
      return 0;
    if (memcpyHtoD(ptr, host, bytes) != 0) {
      memFree(ptr);
      return 0;
    }
    return ptr;
  }
};

} // namespace attn

#endif // ATTN_RUNTIME_CUDADRIVER_HPP
