/*===- attn_runtime.h - load and launch Attn kernel artifacts ---*- C -*-===*\
|*                                                                            *|
|* The Attn runtime: loads a kernel artifact (binary + launch description),   *|
|* checks every argument against it, and launches it on the caller's stream   *|
|* in the caller's current CUDA context. It depends only on the CUDA driver   *|
|* API, opened with dlopen("libcuda.so.1") on first need, so it builds and    *|
|* links where there is no GPU. Every function reports failure through an     *|
|* attn_status and a thread-local message (attn_last_error); none crashes on  *|
|* bad input.                                                                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef ATTN_RUNTIME_ATTN_RUNTIME_H
#define ATTN_RUNTIME_ATTN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result of every runtime call.
typedef enum attn_status {
  ATTN_SUCCESS = 0,
  ATTN_ERROR_INVALID_ARGUMENT = 1, ///< null pointer, bad count or value
  ATTN_ERROR_INVALID_ARTIFACT = 2, ///< corrupt, truncated or unknown format
  ATTN_ERROR_MISMATCH = 3,         ///< dtype/rank/shape/stride/alignment
  ATTN_ERROR_NO_DRIVER = 4,        ///< libcuda.so.1 missing or unusable
  ATTN_ERROR_NO_DEVICE = 5,        ///< the driver reports no GPU
  ATTN_ERROR_NO_CONTEXT = 6,       ///< no current CUDA context
  ATTN_ERROR_CUDA = 7,             ///< a driver call failed
  ATTN_ERROR_IO = 8                ///< an artifact file cannot be read
} attn_status;

/// Element types of tensor arguments.
typedef enum attn_dtype {
  ATTN_DTYPE_F16 = 0,
  ATTN_DTYPE_BF16 = 1,
  ATTN_DTYPE_F32 = 2,
  ATTN_DTYPE_I8 = 3,
  ATTN_DTYPE_I32 = 4,
  ATTN_DTYPE_I64 = 5,
  ATTN_DTYPE_BOOL = 6,
  ATTN_DTYPE_F8E4M3 = 7, ///< fp8 e4m3 (f8E4M3FN, torch.float8_e4m3fn)
  ATTN_DTYPE_LAST = ATTN_DTYPE_F8E4M3
} attn_dtype;

/// The largest tensor rank an artifact may declare.
#define ATTN_MAX_RANK 8

/// A strided device tensor; strides are in elements.
typedef struct attn_tensor {
  void *data;
  attn_dtype dtype;
  int32_t rank;
  int64_t shape[ATTN_MAX_RANK];
  int64_t strides[ATTN_MAX_RANK];
} attn_tensor;

/// Kinds of kernel parameters.
typedef enum attn_arg_kind {
  ATTN_ARG_TENSOR = 0,
  ATTN_ARG_I64 = 1,
  ATTN_ARG_F32 = 2
} attn_arg_kind;

/// One launch argument, in the artifact's parameter order.
typedef struct attn_arg {
  attn_arg_kind kind;
  attn_tensor tensor; ///< ATTN_ARG_TENSOR
  int64_t i64;        ///< ATTN_ARG_I64
  float f32;          ///< ATTN_ARG_F32
} attn_arg;

/// A loaded artifact. Thread-safe: one kernel may be launched from many
/// threads and contexts at once.
typedef struct attn_kernel attn_kernel;

/// Parses an artifact from memory (the bytes are copied).
attn_status attn_kernel_load(const void *data, size_t size,
                             attn_kernel **kernel);
/// Reads and parses an artifact file.
attn_status attn_kernel_load_file(const char *path, attn_kernel **kernel);
/// Frees a kernel (null is allowed). Modules stay loaded until their
/// context is destroyed.
void attn_kernel_free(attn_kernel *kernel);

/// The kernel's entry name, specialization key and parameter count.
const char *attn_kernel_entry(const attn_kernel *kernel);
const char *attn_kernel_key(const attn_kernel *kernel);
size_t attn_kernel_num_params(const attn_kernel *kernel);

/// Loads the kernel's module into the current context and raises its
/// shared-memory limit, so that later launches allocate nothing (call it
/// before capturing a CUDA graph).
attn_status attn_kernel_prepare(attn_kernel *kernel);

/// Checks `args` against the artifact and launches its kernels on `stream`
/// (a CUstream, null for the default stream). Never synchronizes. A
/// split-KV artifact whose launch needs a workspace gets one from the
/// driver's stream-ordered allocator (cuMemAllocAsync / cuMemFreeAsync on
/// `stream`, so the launch stays graph-capturable).
attn_status attn_kernel_launch(attn_kernel *kernel, const attn_arg *args,
                               size_t num_args, void *stream);

/// The workspace bytes a launch with `args` needs in the current context
/// (0 when the artifact does not split the keys, or this launch needs one
/// split): the split count depends on the grid and the device's SM count.
attn_status attn_kernel_workspace_size(attn_kernel *kernel,
                                       const attn_arg *args, size_t num_args,
                                       size_t *bytes);

/// attn_kernel_launch with the caller's workspace: device memory of at
/// least attn_kernel_workspace_size bytes, 16-byte aligned (null lets the
/// runtime allocate it). The kernels write and read it in stream order;
/// launches running at once need a workspace each.
attn_status attn_kernel_launch_with_workspace(attn_kernel *kernel,
                                              const attn_arg *args,
                                              size_t num_args, void *workspace,
                                              size_t workspace_bytes,
                                              void *stream);

/// Checks `args` against the artifact without touching the driver.
attn_status attn_kernel_check_args(const attn_kernel *kernel,
                                   const attn_arg *args, size_t num_args);

/// The message of the last failed call on this thread ("" if none).
const char *attn_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_RUNTIME_ATTN_RUNTIME_H */
