//===- Runtime.cpp - load and launch Attn kernel artifacts ----------------===//

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/CudaDriver.hpp"
#include "attn/Runtime/attn_runtime.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

using namespace attn::runtime;

namespace {
thread_local std::string lastError;

attn_status fail(attn_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

//===----------------------------------------------------------------------===//
// The CUDA driver, opened at run time
//===----------------------------------------------------------------------===//

// The few driver types and entry points the runtime uses, declared here so
// that neither cuda.h nor libcuda is needed to build or link.
using CUresult = int;
using CUdevice = int;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
constexpr CUresult kCudaSuccess = 0;
constexpr int kMaxDynamicSharedAttr =
    8; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES

struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*ctxGetCurrent)(CUcontext *);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*funcSetAttribute)(CUfunction, int, int);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*getErrorString)(CUresult, const char **);
  std::string loadError;
  attn_status loadStatus = ATTN_SUCCESS;

  std::string describe(CUresult result) const {
    const char *text = nullptr;
    if (getErrorString && getErrorString(result, &text) == kCudaSuccess && text)
      return std::string(text) + " (" + std::to_string(result) + ")";
    return "CUDA error " + std::to_string(result);
  }
};

/// Opens libcuda.so.1 once; later calls see the same outcome.
const Driver &driver() {
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
    lib.bind(d.moduleLoadData, "cuModuleLoadData");
    lib.bind(d.moduleGetFunction, "cuModuleGetFunction");
    lib.bind(d.funcSetAttribute, "cuFuncSetAttribute");
    lib.bind(d.launchKernel, "cuLaunchKernel");
    lib.bind(d.getErrorString, "cuGetErrorString");
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

/// The integer a caller stored in a C enum field. A C caller may store any
/// int there; loading it as the C++ enum type would be undefined behaviour
/// for values outside the enumerators' range, so it is read as bytes.
template <typename Enum> uint32_t rawEnum(const Enum &value) {
  static_assert(sizeof(Enum) == sizeof(uint32_t), "C enums are int-sized");
  uint32_t raw;
  std::memcpy(&raw, &value, sizeof(raw));
  return raw;
}

size_t dtypeBytes(uint32_t dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F16:
  case ATTN_DTYPE_BF16:
    return 2;
  case ATTN_DTYPE_F32:
  case ATTN_DTYPE_I32:
    return 4;
  case ATTN_DTYPE_I64:
    return 8;
  case ATTN_DTYPE_I8:
  case ATTN_DTYPE_BOOL:
    return 1;
  default:
    return 0;
  }
}

const char *dtypeName(uint32_t dtype) {
  static const char *names[] = {"f16", "bf16", "f32", "i8",
                                "i32", "i64",  "bool"};
  return dtype < 7 ? names[dtype] : "unknown";
}
} // namespace

/// A loaded artifact plus its per-context functions.
struct attn_kernel {
  ArtifactDesc artifact;
  std::mutex mutex;
  std::map<CUcontext, CUfunction> functions; ///< guarded by mutex
};

extern "C" {

const char *attn_last_error(void) { return lastError.c_str(); }

attn_status attn_kernel_load(const void *data, size_t size,
                             attn_kernel **kernel) {
  if (!data || !kernel)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_load: data and kernel must not be null");
  *kernel = nullptr;
  auto loaded = std::make_unique<attn_kernel>();
  std::string error;
  if (!parseArtifact(static_cast<const uint8_t *>(data), size, loaded->artifact,
                     error))
    return fail(ATTN_ERROR_INVALID_ARTIFACT, "attn_kernel_load: " + error);
  *kernel = loaded.release();
  return ATTN_SUCCESS;
}

attn_status attn_kernel_load_file(const char *path, attn_kernel **kernel) {
  if (!path || !kernel)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_load_file: path and kernel must not be null");
  *kernel = nullptr;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(ATTN_ERROR_IO,
                std::string("attn_kernel_load_file: cannot open ") + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  if (bytes.empty())
    return fail(ATTN_ERROR_INVALID_ARTIFACT,
                std::string("attn_kernel_load_file: ") + path + " is empty");
  attn_status status = attn_kernel_load(bytes.data(), bytes.size(), kernel);
  if (status != ATTN_SUCCESS)
    lastError += std::string(" (") + path + ")";
  return status;
}

void attn_kernel_free(attn_kernel *kernel) { delete kernel; }

const char *attn_kernel_entry(const attn_kernel *kernel) {
  return kernel ? kernel->artifact.entry.c_str() : "";
}

const char *attn_kernel_key(const attn_kernel *kernel) {
  return kernel ? kernel->artifact.key.c_str() : "";
}

size_t attn_kernel_num_params(const attn_kernel *kernel) {
  return kernel ? kernel->artifact.params.size() : 0;
}

attn_status attn_kernel_check_args(const attn_kernel *kernel,
                                   const attn_arg *args, size_t numArgs) {
  if (!kernel)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_launch: kernel is null");
  const std::vector<ParamDesc> &params = kernel->artifact.params;
  if (numArgs != params.size())
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_launch: " + kernel->artifact.entry + " takes " +
                    std::to_string(params.size()) + " arguments, got " +
                    std::to_string(numArgs));
  if (numArgs && !args)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_launch: args is null");
  for (size_t i = 0; i < numArgs; ++i) {
    const ParamDesc &p = params[i];
    const attn_arg &a = args[i];
    std::string where = "attn_kernel_launch: argument " + std::to_string(i) +
                        " (" + p.name + ")";
    if (rawEnum(a.kind) != p.kind)
      return fail(ATTN_ERROR_MISMATCH,
                  where + " must be a " +
                      (p.kind == ParamDesc::Tensor ? "tensor"
                       : p.kind == ParamDesc::I64  ? "i64 scalar"
                                                   : "f32 scalar"));
    if (p.kind != ParamDesc::Tensor)
      continue;
    const attn_tensor &t = a.tensor;
    if (rawEnum(t.dtype) != p.dtype)
      return fail(ATTN_ERROR_MISMATCH, where + " must hold " +
                                           dtypeName(p.dtype) + ", got " +
                                           dtypeName(rawEnum(t.dtype)));
    if (t.rank != static_cast<int32_t>(p.shape.size()))
      return fail(ATTN_ERROR_MISMATCH, where + " must have rank " +
                                           std::to_string(p.shape.size()) +
                                           ", got " + std::to_string(t.rank));
    for (int32_t d = 0; d < t.rank; ++d) {
      if (t.shape[d] < 0 || (p.shape[d] >= 0 && t.shape[d] != p.shape[d]))
        return fail(ATTN_ERROR_MISMATCH,
                    where + " dimension " + std::to_string(d) + " must be " +
                        (p.shape[d] >= 0 ? std::to_string(p.shape[d])
                                         : std::string(">= 0")) +
                        ", got " + std::to_string(t.shape[d]));
      if (t.strides[d] < 0)
        return fail(ATTN_ERROR_MISMATCH, where + " has a negative stride");
    }
    // The furthest element, sum((shape - 1) * stride), must be a 64-bit
    // offset, in elements and in bytes: the kernel's index arithmetic is
    // int64 and must not wrap. An empty tensor is never read (its pointer
    // may be null).
    bool empty = false;
    for (int32_t d = 0; d < t.rank; ++d)
      empty |= t.shape[d] == 0;
    if (!empty) {
      if (!t.data)
        return fail(ATTN_ERROR_INVALID_ARGUMENT,
                    where + " has a null data pointer");
      int64_t last = 0, term = 0;
      bool overflow = false;
      for (int32_t d = 0; d < t.rank && !overflow; ++d)
        overflow =
            __builtin_mul_overflow(t.shape[d] - 1, t.strides[d], &term) ||
            __builtin_add_overflow(last, term, &last);
      overflow = overflow || __builtin_add_overflow(last, 1, &last) ||
                 __builtin_mul_overflow(
                     last, static_cast<int64_t>(dtypeBytes(p.dtype)), &term);
      if (overflow)
        return fail(ATTN_ERROR_INVALID_ARGUMENT,
                    where + " spans more bytes than a 64-bit offset holds");
    }
    // Strides the kernel was compiled for are not read from the tensor: a
    // tensor with others would be read at the wrong addresses.
    for (int32_t d = 0; d < t.rank; ++d)
      if (d < int32_t(p.strides.size()) && p.strides[d] >= 0 &&
          t.shape[d] > 1 && t.strides[d] != p.strides[d])
        return fail(ATTN_ERROR_MISMATCH,
                    where + " stride of dimension " + std::to_string(d) +
                        " must be " + std::to_string(p.strides[d]) +
                        " (the kernel was compiled for it), got " +
                        std::to_string(t.strides[d]));
    size_t bytes = dtypeBytes(p.dtype);
    if (p.alignment > 1 &&
        reinterpret_cast<uintptr_t>(t.data) % p.alignment != 0)
      return fail(ATTN_ERROR_MISMATCH, where + " must be " +
                                           std::to_string(p.alignment) +
                                           "-byte aligned");
    // Vector loads of `alignment` bytes also need every row start aligned.
    for (int32_t d = 0; d + 1 < t.rank; ++d)
      if (p.alignment > bytes && t.shape[d] > 1 &&
          (t.strides[d] % static_cast<int64_t>(p.alignment / bytes)) != 0)
        return fail(ATTN_ERROR_MISMATCH,
                    where + " stride of dimension " + std::to_string(d) +
                        " must be a multiple of " +
                        std::to_string(p.alignment / bytes) + " elements");
  }
  return ATTN_SUCCESS;
}

/// The function of `kernel` in the current context, loading it on first use.
static attn_status functionFor(attn_kernel *kernel, CUfunction &function) {
  const Driver &d = driver();
  if (d.loadStatus != ATTN_SUCCESS)
    return fail(d.loadStatus, d.loadError);
  CUcontext context = nullptr;
  if (CUresult r = d.ctxGetCurrent(&context); r != kCudaSuccess || !context)
    return fail(
        ATTN_ERROR_NO_CONTEXT,
        "no current CUDA context on this thread (make one current, e.g. "
        "by using the device from PyTorch or with cuCtxSetCurrent)");
  std::lock_guard<std::mutex> lock(kernel->mutex);
  if (auto it = kernel->functions.find(context);
      it != kernel->functions.end()) {
    function = it->second;
    return ATTN_SUCCESS;
  }
  const ArtifactDesc &a = kernel->artifact;
  // PTX must be a NUL-terminated string for the driver's JIT.
  std::vector<uint8_t> image = a.binary;
  if (a.binaryKind == ArtifactDesc::Ptx)
    image.push_back(0);
  CUmodule module = nullptr;
  if (CUresult r = d.moduleLoadData(&module, image.data()); r != kCudaSuccess)
    return fail(ATTN_ERROR_CUDA, "cannot load the " + a.target + " module of " +
                                     a.entry + ": " + d.describe(r));
  if (CUresult r = d.moduleGetFunction(&function, module, a.entry.c_str());
      r != kCudaSuccess)
    return fail(ATTN_ERROR_CUDA, "the module has no kernel named " + a.entry +
                                     ": " + d.describe(r));
  if (a.dynamicSharedBytes > 48 * 1024) {
    // Past 48 KiB a kernel must opt in to its dynamic shared memory.
    if (CUresult r = d.funcSetAttribute(function, kMaxDynamicSharedAttr,
                                        static_cast<int>(a.dynamicSharedBytes));
        r != kCudaSuccess)
      return fail(ATTN_ERROR_CUDA, "cannot raise the shared-memory limit of " +
                                       a.entry + " to " +
                                       std::to_string(a.dynamicSharedBytes) +
                                       " bytes: " + d.describe(r));
  }
  kernel->functions.emplace(context, function);
  return ATTN_SUCCESS;
}

attn_status attn_kernel_prepare(attn_kernel *kernel) {
  if (!kernel)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_prepare: kernel is null");
  CUfunction function;
  return functionFor(kernel, function);
}

attn_status attn_kernel_launch(attn_kernel *kernel, const attn_arg *args,
                               size_t numArgs, void *stream) {
  if (attn_status s = attn_kernel_check_args(kernel, args, numArgs);
      s != ATTN_SUCCESS)
    return s;
  const ArtifactDesc &a = kernel->artifact;
  unsigned grid[3];
  for (int i = 0; i < 3; ++i) {
    const GridDim &g = a.grid[i];
    // ceil(size / divisor) without forming size + divisor - 1, which wraps
    // for sizes near 2^63.
    int64_t size = g.param < 0 ? 0 : args[g.param].tensor.shape[g.dim];
    int64_t extent =
        g.param < 0 ? g.value : size / g.value + (size % g.value != 0);
    if (extent <= 0)
      return ATTN_SUCCESS; // empty problem: nothing to launch
    if (extent > (i == 0 ? 0x7FFFFFFFll : 65535ll))
      return fail(ATTN_ERROR_INVALID_ARGUMENT,
                  "attn_kernel_launch: grid dimension " + std::to_string(i) +
                      " would be " + std::to_string(extent) +
                      ", beyond the hardware limit");
    grid[i] = static_cast<unsigned>(extent);
  }
  CUfunction function;
  if (attn_status s = functionFor(kernel, function); s != ATTN_SUCCESS)
    return s;

  // MLIR memref convention: (allocated, aligned, offset, sizes, strides).
  // Kernel parameters point into this stack storage; no heap allocation.
  constexpr size_t kMaxWords = 64 * (3 + 2 * ATTN_MAX_RANK);
  int64_t words[kMaxWords];
  void *pointers[kMaxWords];
  size_t next = 0;
  for (size_t i = 0; i < numArgs; ++i) {
    const ParamDesc &p = a.params[i];
    size_t needed = p.kind == ParamDesc::Tensor ? 3 + 2 * p.shape.size() : 1;
    if (next + needed > kMaxWords)
      return fail(ATTN_ERROR_INVALID_ARGUMENT,
                  "attn_kernel_launch: too many kernel parameters");
    if (p.kind == ParamDesc::I64) {
      words[next] = args[i].i64;
    } else if (p.kind == ParamDesc::F32) {
      std::memcpy(&words[next], &args[i].f32, sizeof(float));
    } else {
      const attn_tensor &t = args[i].tensor;
      int64_t ptr = static_cast<int64_t>(reinterpret_cast<uintptr_t>(t.data));
      words[next] = words[next + 1] = ptr;
      words[next + 2] = 0;
      for (int32_t d = 0; d < t.rank; ++d) {
        words[next + 3 + d] = t.shape[d];
        words[next + 3 + t.rank + d] = t.strides[d];
      }
    }
    for (size_t w = 0; w < needed; ++w)
      pointers[next + w] = &words[next + w];
    next += needed;
  }
  const Driver &d = driver();
  if (CUresult r =
          d.launchKernel(function, grid[0], grid[1], grid[2], a.block[0],
                         a.block[1], a.block[2], a.dynamicSharedBytes,
                         static_cast<CUstream>(stream), pointers, nullptr);
      r != kCudaSuccess)
    return fail(ATTN_ERROR_CUDA,
                "cuLaunchKernel(" + a.entry + ") failed: " + d.describe(r));
  return ATTN_SUCCESS;
}

} // extern "C"
