//===- CudaDriver.hpp - the CUDA driver, opened at run time -----*- C++ -*-===//
//
// The CUDA driver opened the way libAttnRuntime opens it: dlopen of
// libcuda.so.1 and entry points bound by name, so that a program builds
// without the CUDA toolkit and starts (and can say "no GPU") where there is
// no driver. Used by the runtime, its GPU tests and the C++ example.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_CUDADRIVER_HPP
#define ATTN_RUNTIME_CUDADRIVER_HPP

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

private:
  void *handle;
  bool allBound = true;
};

} // namespace attn

#endif // ATTN_RUNTIME_CUDADRIVER_HPP
