//===- Runtime.hpp - thin C++ wrapper over attn_runtime.h -------*- C++ -*-===//

#ifndef ATTN_RUNTIME_RUNTIME_HPP
#define ATTN_RUNTIME_RUNTIME_HPP

#include "attn/Runtime/attn_runtime.h"

#include <memory>
#include <string>
#include <vector>

namespace attn {

/// The outcome of a runtime call: a status and, on failure, its message.
struct Status {
  attn_status code = ATTN_SUCCESS;
  std::string message;
  explicit operator bool() const { return code == ATTN_SUCCESS; }
  static Status from(attn_status code) {
    return {code, code == ATTN_SUCCESS ? "" : attn_last_error()};
  }
};

/// Owns a loaded kernel artifact.
class Kernel {
public:
  /// Loads an artifact from memory (e.g. one embedded in the binary).
  static Status load(const void *data, size_t size, Kernel &kernel) {
    attn_kernel *raw = nullptr;
    Status status = Status::from(attn_kernel_load(data, size, &raw));
    kernel.handle.reset(raw);
    return status;
  }
  /// Loads an artifact file.
  static Status loadFile(const std::string &path, Kernel &kernel) {
    attn_kernel *raw = nullptr;
    Status status = Status::from(attn_kernel_load_file(path.c_str(), &raw));
    kernel.handle.reset(raw);
    return status;
  }
  /// Loads the module into the current context (before graph capture).
  Status prepare() { return Status::from(attn_kernel_prepare(handle.get())); }
  /// Launches on `stream` (a CUstream; null for the default stream).
  Status launch(const std::vector<attn_arg> &args, void *stream = nullptr) {
    return Status::from(
        attn_kernel_launch(handle.get(), args.data(), args.size(), stream));
  }
  std::string entry() const { return attn_kernel_entry(handle.get()); }
  std::string key() const { return attn_kernel_key(handle.get()); }

private:
  struct Free {
    void operator()(attn_kernel *k) const { attn_kernel_free(k); }
  };
  std::unique_ptr<attn_kernel, Free> handle;
};

/// A contiguous row-major tensor argument.
inline attn_arg tensorArg(void *data, attn_dtype dtype,
                          const std::vector<int64_t> &shape) {
  attn_arg arg{};
  arg.kind = ATTN_ARG_TENSOR;
  arg.tensor.data = data;
  arg.tensor.dtype = dtype;
  arg.tensor.rank = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    arg.tensor.shape[d] = shape[d];
    arg.tensor.strides[d] = stride;
    stride *= shape[d];
  }
  return arg;
}

} // namespace attn

#endif // ATTN_RUNTIME_RUNTIME_HPP
