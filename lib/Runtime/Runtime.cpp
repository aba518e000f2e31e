//===- Runtime.cpp - load and launch Attn kernel artifacts ----------------===//

#include "attn/Runtime/Artifact.h"
#include "attn/Runtime/attn_runtime.h"

#include "Driver.h"
#include "LaunchPlan.h"
#include "TensorMapPlan.h"

#include <algorithm>
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
  case ATTN_DTYPE_F8E4M3:
    return 1;
  default:
    return 0;
  }
}

const char *dtypeName(uint32_t dtype) {
  static const char *names[] = {"f16", "bf16", "f32",  "i8",
                                "i32", "i64",  "bool", "f8e4m3"};
  static_assert(sizeof(names) / sizeof(names[0]) == ATTN_DTYPE_LAST + 1,
                "one name per attn_dtype");
  return dtype <= ATTN_DTYPE_LAST ? names[dtype] : "unknown";
}
} // namespace

namespace {
/// What a loaded artifact has in one context: its kernels' functions (in
/// the artifact's order) and the device's SM count (for the split rule).
struct ContextFunctions {
  std::vector<CUfunction> functions;
  int multiprocessors = 1;
};
} // namespace

namespace {
/// An encoded CUtensorMap (128 bytes, 64-byte aligned).
struct alignas(64) EncodedTensorMap {
  uint64_t words[16];
};
} // namespace

/// A loaded artifact plus its per-context functions and the tensor maps
/// encoded for its recent launches (a launch on the same tensors reuses
/// them).
struct attn_kernel {
  static constexpr size_t kCachedTensorMaps = 64;
  ArtifactDesc artifact;
  std::mutex mutex;
  std::map<CUcontext, ContextFunctions> contexts; ///< guarded by mutex
  /// Guarded by mutex; the oldest entry is replaced when full.
  std::vector<std::pair<TensorMapEncoding, EncodedTensorMap>> tensorMaps;
  size_t nextTensorMap = 0;
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
  return kernel ? kernel->artifact.entry().c_str() : "";
}

const char *attn_kernel_key(const attn_kernel *kernel) {
  return kernel ? kernel->artifact.key.c_str() : "";
}

size_t attn_kernel_num_params(const attn_kernel *kernel) {
  return kernel ? kernel->artifact.params.size() : 0;
}

/// attn_kernel_check_args, also planning the kernel's tensor maps into
/// `maps` (ArtifactDesc::kMaxTensorMaps of them).
static attn_status checkArgs(const attn_kernel *kernel, const attn_arg *args,
                             size_t numArgs, TensorMapEncoding *maps) {
  if (!kernel)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_launch: kernel is null");
  const std::vector<ParamDesc> &params = kernel->artifact.params;
  if (numArgs != params.size())
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_launch: " + kernel->artifact.entry() + " takes " +
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
    if (!isEmpty(t)) {
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
  // The tensors the kernel copies with TMA must be describable by a tensor
  // map. An empty one's points at a non-empty argument's memory: it is
  // never read, but TMA faults on an unmapped base even so.
  uintptr_t nonEmpty = 16;
  for (size_t i = 0; i < numArgs; ++i) {
    const attn_tensor &t = args[i].tensor;
    if (params[i].kind == ParamDesc::Tensor && !isEmpty(t) &&
        reinterpret_cast<uintptr_t>(t.data) % 16 == 0) {
      nonEmpty = reinterpret_cast<uintptr_t>(t.data);
      break;
    }
  }
  const std::vector<TensorMapDesc> &tensorMaps = kernel->artifact.tensorMaps;
  for (size_t m = 0; m < tensorMaps.size(); ++m) {
    std::string error;
    const ParamDesc &p = params[tensorMaps[m].source];
    if (!planTensorMap(tensorMaps[m], p, args[tensorMaps[m].source].tensor,
                       dtypeBytes(p.dtype), nonEmpty, maps[m], error))
      return fail(ATTN_ERROR_MISMATCH,
                  "attn_kernel_launch: argument " +
                      std::to_string(tensorMaps[m].source) + " (" + p.name +
                      ") " + error + " (the kernel copies it with TMA)");
  }
  return ATTN_SUCCESS;
}

attn_status attn_kernel_check_args(const attn_kernel *kernel,
                                   const attn_arg *args, size_t numArgs) {
  TensorMapEncoding maps[ArtifactDesc::kMaxTensorMaps];
  return checkArgs(kernel, args, numArgs, maps);
}

/// The CUtensorMap of `encoding`: the kernel's cached one, else encoded by
/// the driver and cached.
static attn_status encodeTensorMap(attn_kernel *kernel,
                                   const TensorMapEncoding &encoding,
                                   EncodedTensorMap &out) {
  std::lock_guard<std::mutex> lock(kernel->mutex);
  for (const auto &[key, map] : kernel->tensorMaps)
    if (key == encoding) {
      out = map;
      return ATTN_SUCCESS;
    }
  const Driver &d = driver();
  if (!d.tensorMapEncodeTiled)
    return fail(ATTN_ERROR_NO_DRIVER,
                "attn_kernel_launch: " + kernel->artifact.entry() +
                    " copies with TMA, and this CUDA driver has no "
                    "cuTensorMapEncodeTiled (CUDA 12 or newer)");
  const uint32_t elementStrides[TensorMapEncoding::kMaxRank] = {1, 1, 1, 1, 1};
  EncodedTensorMap map{};
  if (CUresult r = d.tensorMapEncodeTiled(
          map.words, static_cast<int>(encoding.dataType), encoding.rank,
          reinterpret_cast<void *>(static_cast<uintptr_t>(encoding.address)),
          encoding.dims, encoding.strides, encoding.box, elementStrides,
          /*interleave=*/0, static_cast<int>(encoding.swizzle),
          /*l2Promotion: 256B=*/3, /*oobFill: zeros=*/0);
      r != kCudaSuccess)
    return fail(ATTN_ERROR_CUDA,
                "attn_kernel_launch: cuTensorMapEncodeTiled failed for " +
                    kernel->artifact.entry() + ": " + d.describe(r));
  if (kernel->tensorMaps.size() < attn_kernel::kCachedTensorMaps) {
    kernel->tensorMaps.emplace_back(encoding, map);
  } else {
    kernel->tensorMaps[kernel->nextTensorMap] = {encoding, map};
    kernel->nextTensorMap =
        (kernel->nextTensorMap + 1) % attn_kernel::kCachedTensorMaps;
  }
  out = map;
  return ATTN_SUCCESS;
}

/// The functions of `kernel` in the current context, loading its module on
/// first use.
static attn_status functionsFor(attn_kernel *kernel,
                                const ContextFunctions *&out) {
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
  if (auto it = kernel->contexts.find(context); it != kernel->contexts.end()) {
    out = &it->second;
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
                                     a.entry() + ": " + d.describe(r));
  ContextFunctions loaded;
  for (const KernelDesc &k : a.kernels) {
    CUfunction function = nullptr;
    if (CUresult r = d.moduleGetFunction(&function, module, k.entry.c_str());
        r != kCudaSuccess)
      return fail(ATTN_ERROR_CUDA, "the module has no kernel named " + k.entry +
                                       ": " + d.describe(r));
    if (k.dynamicSharedBytes > 48 * 1024) {
      // Past 48 KiB a kernel must opt in to its dynamic shared memory.
      if (CUresult r =
              d.funcSetAttribute(function, kMaxDynamicSharedAttr,
                                 static_cast<int>(k.dynamicSharedBytes));
          r != kCudaSuccess)
        return fail(ATTN_ERROR_CUDA,
                    "cannot raise the shared-memory limit of " + k.entry +
                        " to " + std::to_string(k.dynamicSharedBytes) +
                        " bytes: " + d.describe(r));
    }
    loaded.functions.push_back(function);
  }
  CUdevice device = 0;
  if (CUresult r = d.ctxGetDevice(&device);
      r != kCudaSuccess ||
      d.deviceGetAttribute(&loaded.multiprocessors, kMultiprocessorCountAttr,
                           device) != kCudaSuccess)
    return fail(ATTN_ERROR_CUDA,
                "cannot read the device's multiprocessor count: " +
                    d.describe(r));
  out = &kernel->contexts.emplace(context, std::move(loaded)).first->second;
  return ATTN_SUCCESS;
}

extern "C++" {
namespace {
/// planLaunch (LaunchPlan.h) with its error as the last error.
template <typename SmCount>
attn_status planOrFail(const ArtifactDesc &a, const attn_arg *args,
                       SmCount multiprocessors, LaunchPlan &plan) {
  std::string error;
  attn_status s = planLaunch(a, args, multiprocessors, plan, error);
  return error.empty() ? s : fail(s, std::move(error));
}

/// The SM count of the current context's device, for planLaunch.
auto smCountOf(attn_kernel *kernel) {
  return [kernel](int &sms) {
    const ContextFunctions *functions;
    attn_status s = functionsFor(kernel, functions);
    if (s == ATTN_SUCCESS)
      sms = functions->multiprocessors;
    return s;
  };
}
} // namespace
} // extern "C++"

attn_status attn_kernel_prepare(attn_kernel *kernel) {
  if (!kernel)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_prepare: kernel is null");
  const ContextFunctions *functions;
  return functionsFor(kernel, functions);
}

attn_status attn_kernel_workspace_size(attn_kernel *kernel,
                                       const attn_arg *args, size_t numArgs,
                                       size_t *bytes) {
  if (!bytes)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_workspace_size: bytes is null");
  *bytes = 0;
  if (attn_status s = attn_kernel_check_args(kernel, args, numArgs);
      s != ATTN_SUCCESS)
    return s;
  LaunchPlan plan;
  if (attn_status s =
          planOrFail(kernel->artifact, args, smCountOf(kernel), plan);
      s != ATTN_SUCCESS)
    return s;
  *bytes = plan.empty ? 0 : plan.workspaceBytes;
  return ATTN_SUCCESS;
}

attn_status attn_kernel_launch(attn_kernel *kernel, const attn_arg *args,
                               size_t numArgs, void *stream) {
  return attn_kernel_launch_with_workspace(kernel, args, numArgs, nullptr, 0,
                                           stream);
}

attn_status attn_kernel_launch_with_workspace(attn_kernel *kernel,
                                              const attn_arg *args,
                                              size_t numArgs, void *workspace,
                                              size_t workspaceBytes,
                                              void *stream) {
  TensorMapEncoding encodings[ArtifactDesc::kMaxTensorMaps];
  if (attn_status s = checkArgs(kernel, args, numArgs, encodings);
      s != ATTN_SUCCESS)
    return s;
  const ArtifactDesc &a = kernel->artifact;
  LaunchPlan plan;
  if (attn_status s = planOrFail(a, args, smCountOf(kernel), plan);
      s != ATTN_SUCCESS)
    return s;
  if (plan.empty)
    return ATTN_SUCCESS;
  const ContextFunctions *functions;
  if (attn_status s = functionsFor(kernel, functions); s != ATTN_SUCCESS)
    return s;
  if (workspace && workspaceBytes < plan.workspaceBytes)
    return fail(ATTN_ERROR_INVALID_ARGUMENT,
                "attn_kernel_launch: the workspace has " +
                    std::to_string(workspaceBytes) + " bytes, this launch (" +
                    std::to_string(plan.splits) + " kv splits) needs " +
                    std::to_string(plan.workspaceBytes));
  if (workspace && reinterpret_cast<uintptr_t>(workspace) % 16 != 0)
    return fail(ATTN_ERROR_MISMATCH,
                "attn_kernel_launch: the workspace must be 16-byte aligned");
  // The tensor maps (encoded before any allocation: nothing to undo).
  EncodedTensorMap maps[ArtifactDesc::kMaxTensorMaps];
  for (size_t m = 0; m < a.tensorMaps.size(); ++m)
    if (attn_status s = encodeTensorMap(kernel, encodings[m], maps[m]);
        s != ATTN_SUCCESS)
      return s;
  const Driver &d = driver();
  auto cuStream = static_cast<CUstream>(stream);
  // Without the caller's workspace, one from the stream-ordered allocator,
  // freed after the kernels on the same stream (graph-capturable).
  CUdeviceptr owned = 0;
  if (plan.workspaceBytes && !workspace) {
    if (CUresult r = d.memAllocAsync(&owned, plan.workspaceBytes, cuStream);
        r != kCudaSuccess)
      return fail(ATTN_ERROR_CUDA, "attn_kernel_launch: cannot allocate " +
                                       std::to_string(plan.workspaceBytes) +
                                       " workspace bytes: " + d.describe(r));
    workspace = reinterpret_cast<void *>(static_cast<uintptr_t>(owned));
  }

  // MLIR memref convention: (allocated, aligned, offset, sizes, strides).
  // Kernel parameters point into this stack storage; no heap allocation.
  constexpr size_t kMaxWords = 64 * memrefWords(ATTN_MAX_RANK) + 5;
  int64_t words[kMaxWords];
  void *pointers[kMaxWords + ArtifactDesc::kMaxTensorMaps];
  size_t next = 0;
  auto memref = [&](const void *data, int32_t rank, const int64_t *shape,
                    const int64_t *strides) {
    int64_t ptr = static_cast<int64_t>(reinterpret_cast<uintptr_t>(data));
    words[next] = words[next + 1] = ptr;
    words[next + 2] = 0;
    for (int32_t d = 0; d < rank; ++d) {
      words[next + 3 + d] = shape[d];
      words[next + 3 + rank + d] = strides[d];
    }
    return memrefWords(rank);
  };
  for (size_t i = 0; i < numArgs; ++i) {
    const ParamDesc &p = a.params[i];
    size_t needed =
        p.kind == ParamDesc::Tensor ? memrefWords(p.shape.size()) : 1;
    if (next + needed + 5 > kMaxWords)
      return fail(ATTN_ERROR_INVALID_ARGUMENT,
                  "attn_kernel_launch: too many kernel parameters");
    if (p.kind == ParamDesc::I64)
      words[next] = args[i].i64;
    else if (p.kind == ParamDesc::F32)
      std::memcpy(&words[next], &args[i].f32, sizeof(float));
    else
      memref(args[i].tensor.data, args[i].tensor.rank, args[i].tensor.shape,
             args[i].tensor.strides);
    next += needed;
  }
  if (a.split.maxSplits > 1) {
    // The workspace: memref<?xf32> of the bytes this launch needs.
    int64_t floats = static_cast<int64_t>(plan.workspaceBytes / 4), unit = 1;
    next += memref(workspace, 1, &floats, &unit);
  }
  for (size_t w = 0; w < next; ++w)
    pointers[w] = &words[w];
  // The tensor maps, 128 bytes each by value, after everything else.
  for (size_t m = 0; m < a.tensorMaps.size(); ++m)
    pointers[next + m] = &maps[m];
  attn_status status = ATTN_SUCCESS;
  for (size_t k = 0; k < a.kernels.size(); ++k) {
    const KernelDesc &desc = a.kernels[k];
    if (desc.onlyWhenSplit && plan.splits <= 1)
      continue;
    const unsigned *grid = plan.grids[k];
    if (CUresult r = d.launchKernel(functions->functions[k], grid[0], grid[1],
                                    grid[2], desc.block[0], desc.block[1],
                                    desc.block[2], desc.dynamicSharedBytes,
                                    cuStream, pointers, nullptr);
        r != kCudaSuccess) {
      status = fail(ATTN_ERROR_CUDA, "cuLaunchKernel(" + desc.entry +
                                         ") failed: " + d.describe(r));
      break;
    }
  }
  if (owned)
    d.memFreeAsync(owned, cuStream);
  return status;
}

} // extern "C"
