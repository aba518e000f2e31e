//===- Driver.h - the CUDA driver, opened at run time -----------*- C++ -*-===//
//
// The few driver types and entry points the runtime uses, declared here so
// that neither cuda.h nor libcuda is needed to build or link the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_DRIVER_H
#define ATTN_RUNTIME_DRIVER_H

#include "attn/Runtime/attn_runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace attn::runtime {

using CUresult = int;
using CUdevice = int;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUdeviceptr = uint64_t;
constexpr CUresult kCudaSuccess = 0;
constexpr int kMultiprocessorCountAttr =
    16; // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
constexpr int kMaxDynamicSharedAttr =
    8; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES

struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*ctxGetCurrent)(CUcontext *);
  CUresult (*ctxGetDevice)(CUdevice *);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*funcSetAttribute)(CUfunction, int, int);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*getErrorString)(CUresult, const char **);
  /// CUDA 12 and newer (null before): tensor maps for TMA copies.
  CUresult (*tensorMapEncodeTiled)(void *, int, uint32_t, void *,
                                   const uint64_t *, const uint64_t *,
                                   const uint32_t *, const uint32_t *, int, int,
                                   int, int);
  std::string loadError;
  attn_status loadStatus = ATTN_SUCCESS;

  std::string describe(CUresult result) const {
    const char *text = nullptr;
    if (getErrorString && getErrorString(result, &text) == kCudaSuccess && text)
      return std::string(text) + " (" + std::to_string(result) + ")";
    return "CUDA error " + std::to_string(result);
  }
};

/// The driver's entry points, libcuda.so.1 opened once (on the first call);
/// later calls see the same outcome (loadStatus / loadError).
/// Internal to libAttnRuntime (hidden: not part of its ABI).
[[gnu::visibility("hidden")]] const Driver &driver();

} // namespace attn::runtime

#endif // ATTN_RUNTIME_DRIVER_H
