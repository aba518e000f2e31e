//===- Driver.cpp - the CUDA driver, opened at run time -------------------===//

#include "Driver.h"

#include "attn/Runtime/CudaDriver.hpp"

#include <dlfcn.h>

using namespace attn::runtime;

const Driver &attn::runtime::driver() {
  static Driver d = [] {
    Driver d{};
    ::attn::CudaDriverLibrary lib;
    if (!lib.opened()) {
      d.loadStatus = ATTN_ERROR_NO_DRIVER;
      const char *why = dlerror();
      d.loadError = std::string("cannot open the CUDA driver libcuda.so.1: ") +
                    (why ? why : "unknown reason");
      return d;
    }
    lib.bind(d.init, "cuInit");
    lib.bind(d.deviceGetCount, "cuDeviceGetCount");
    lib.bind(d.ctxGetCurrent, "cuCtxGetCurrent");
    lib.bind(d.ctxGetDevice, "cuCtxGetDevice");
    lib.bind(d.deviceGetAttribute, "cuDeviceGetAttribute");
    lib.bind(d.memAllocAsync, "cuMemAllocAsync");
    lib.bind(d.memFreeAsync, "cuMemFreeAsync");
    lib.bind(d.moduleLoadData, "cuModuleLoadData");
    lib.bind(d.moduleGetFunction, "cuModuleGetFunction");
    lib.bind(d.funcSetAttribute, "cuFuncSetAttribute");
    lib.bind(d.launchKernel, "cuLaunchKernel");
    lib.bind(d.getErrorString, "cuGetErrorString");
    lib.bindOptional(d.tensorMapEncodeTiled, "cuTensorMapEncodeTiled");
    if (!lib.ok()) {
      d.loadStatus = ATTN_ERROR_NO_DRIVER;
      d.loadError = "libcuda.so.1 lacks a driver entry point the runtime needs";
      return d;
    }
    if (CUresult r = d.init(0); r != kCudaSuccess) {
      d.loadStatus = ATTN_ERROR_NO_DEVICE;
      d.loadError = "cuInit failed: " + d.describe(r);
      return d;
    }
    int count = 0;
    if (d.deviceGetCount(&count) != kCudaSuccess || count == 0) {
      d.loadStatus = ATTN_ERROR_NO_DEVICE;
      d.loadError = "the CUDA driver reports no GPU";
    }
    return d;
  }();
  return d;
}
