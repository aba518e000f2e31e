"""ctypes binding of libAttnRuntime (include/attn/Runtime/attn_runtime.h).

Loads kernel artifacts and launches them on torch CUDA tensors, on the
current stream. No MLIR and no compiled extension: the GPU machine's Python
can load it as is.
"""
from __future__ import annotations

import ctypes
import os

from ._native import DTYPE_CODES, Arg, fill_tensor, load


class RuntimeError_(RuntimeError):
    """An error reported by libAttnRuntime (status code and message)."""


_LIB = None


def library():
    """The loaded runtime library ($ATTN_RUNTIME_LIB, the package's lib/, the
    checkout's build/lib)."""
    global _LIB
    if _LIB is not None:
        return _LIB
    lib, missing = load("ATTN_RUNTIME_LIB", "libAttnRuntime.so")
    if lib is None:
        raise OSError(missing)
    lib.attn_kernel_load_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.attn_kernel_load.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                     ctypes.POINTER(ctypes.c_void_p)]
    lib.attn_kernel_launch.argtypes = [ctypes.c_void_p, ctypes.POINTER(Arg),
                                       ctypes.c_size_t, ctypes.c_void_p]
    # Split-KV workspaces (a runtime before artifact format 3 lacks them and
    # still launches the kernels of its own format).
    if hasattr(lib, "attn_kernel_launch_with_workspace"):
        lib.attn_kernel_launch_with_workspace.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(Arg), ctypes.c_size_t, ctypes.c_void_p,
            ctypes.c_size_t, ctypes.c_void_p]
        lib.attn_kernel_workspace_size.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(Arg), ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_size_t)]
    lib.attn_kernel_free.argtypes = [ctypes.c_void_p]
    lib.attn_kernel_key.argtypes = [ctypes.c_void_p]
    lib.attn_kernel_key.restype = ctypes.c_char_p
    lib.attn_last_error.restype = ctypes.c_char_p
    _LIB = lib
    return lib


def _fail(lib, status):
    raise RuntimeError_(f"attn runtime error {status}: {lib.attn_last_error().decode()}")


def fill_arg(a, t):
    """Points the attn_arg `a` at torch tensor `t`, or sets it to the i64
    scalar `t` (a Python int)."""
    if isinstance(t, int) and not isinstance(t, bool):
        a.kind, a.i64 = 1, t  # ATTN_ARG_I64
        return
    a.kind = 0
    name = str(t.dtype).replace("torch.", "")
    if name not in DTYPE_CODES:
        raise TypeError(f"tensor dtype {t.dtype} cannot be passed to a kernel")
    fill_tensor(a.tensor, t.data_ptr(), DTYPE_CODES[name], t.shape, t.stride())


def arguments(tensors):
    """The attn_arg array of torch tensors and ints (it does not keep the
    tensors alive)."""
    args = (Arg * len(tensors))()
    for a, t in zip(args, tensors):
        fill_arg(a, t)
    return args


class Kernel:
    """One loaded kernel artifact; call it with torch CUDA tensors and ints
    (the function's arguments, then its results) to launch on the current
    stream."""

    def __init__(self, path=None, data=None):
        lib = library()
        self._lib = lib
        self.handle = ctypes.c_void_p()
        if path is not None:
            status = lib.attn_kernel_load_file(os.fsencode(path), ctypes.byref(self.handle))
        else:
            self._data = ctypes.create_string_buffer(data, len(data))
            status = lib.attn_kernel_load(self._data, len(data), ctypes.byref(self.handle))
        if status != 0:
            _fail(lib, status)

    @property
    def key(self):
        return self._lib.attn_kernel_key(self.handle).decode()

    def workspace_size(self, *tensors):
        """Bytes of workspace a launch with `tensors` needs on the current
        device (0 unless the kernel splits the keys over several CTAs)."""
        args = arguments(tensors)
        size = ctypes.c_size_t()
        status = self._lib.attn_kernel_workspace_size(self.handle, args, len(tensors),
                                                      ctypes.byref(size))
        if status != 0:
            _fail(self._lib, status)
        return size.value

    def __call__(self, *tensors, stream=None, workspace=None):
        """Launches on `stream` (default: torch's current one). `workspace`:
        a CUDA tensor of at least workspace_size() bytes for a split-KV
        kernel (e.g. a fixed buffer for CUDA graphs); without it the runtime
        takes one from the driver's stream-ordered allocator."""
        self.launch(arguments(tensors), stream=stream, workspace=workspace)

    def launch(self, args, stream=None, workspace=None):
        """Launches with an attn_arg array (arguments()); the tensors it
        points at must stay alive until the launch returns."""
        import torch
        if stream is None:
            stream = torch.cuda.current_stream().cuda_stream
        if workspace is None:
            status = self._lib.attn_kernel_launch(self.handle, args, len(args),
                                                  ctypes.c_void_p(stream))
        else:
            nbytes = workspace.numel() * workspace.element_size()
            status = self._lib.attn_kernel_launch_with_workspace(
                self.handle, args, len(args), ctypes.c_void_p(workspace.data_ptr()),
                nbytes, ctypes.c_void_p(stream))
        if status != 0:
            _fail(self._lib, status)

    def __del__(self):
        if getattr(self, "handle", None) and self.handle.value:
            self._lib.attn_kernel_free(self.handle)
