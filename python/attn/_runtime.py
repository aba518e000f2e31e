"""ctypes binding of libAttnRuntime (include/attn/Runtime/attn_runtime.h).

Loads kernel artifacts and launches them on torch CUDA tensors, on the
current stream. No MLIR and no compiled extension: the GPU machine's Python
can load it as is.
"""
from __future__ import annotations

import ctypes
import os

MAX_RANK = 8
DTYPE_CODES = {"float16": 0, "bfloat16": 1, "float32": 2, "int8": 3,
               "int32": 4, "int64": 5, "bool": 6}


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32), ("shape", ctypes.c_int64 * MAX_RANK),
                ("strides", ctypes.c_int64 * MAX_RANK)]


class _Arg(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("tensor", _Tensor),
                ("i64", ctypes.c_int64), ("f32", ctypes.c_float)]


class RuntimeError_(RuntimeError):
    """An error reported by libAttnRuntime (status code and message)."""


_LIB = None


def _candidates():
    env = os.environ.get("ATTN_RUNTIME_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "lib", "libAttnRuntime.so")
    root = os.path.dirname(os.path.dirname(here))
    yield os.path.join(root, "build", "lib", "libAttnRuntime.so")
    yield "libAttnRuntime.so"


def library():
    """The loaded runtime library (searched: $ATTN_RUNTIME_LIB, the package,
    the checkout's build/lib, the loader path)."""
    global _LIB
    if _LIB is not None:
        return _LIB
    errors = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            continue
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(f"{path}: {e}")
    else:
        raise OSError("libAttnRuntime.so not found (set ATTN_RUNTIME_LIB); tried: "
                      + "; ".join(errors or [str(p) for p in _candidates()]))
    lib.attn_kernel_load_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.attn_kernel_load.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                     ctypes.POINTER(ctypes.c_void_p)]
    lib.attn_kernel_launch.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Arg),
                                       ctypes.c_size_t, ctypes.c_void_p]
    lib.attn_kernel_free.argtypes = [ctypes.c_void_p]
    lib.attn_kernel_key.argtypes = [ctypes.c_void_p]
    lib.attn_kernel_key.restype = ctypes.c_char_p
    lib.attn_last_error.restype = ctypes.c_char_p
    _LIB = lib
    return lib


def _fail(lib, status):
    raise RuntimeError_(f"attn runtime error {status}: {lib.attn_last_error().decode()}")


def _tensor_arg(t):
    a = _Arg()
    a.kind = 0
    a.tensor.data = t.data_ptr()
    name = str(t.dtype).replace("torch.", "")
    if name not in DTYPE_CODES:
        raise TypeError(f"tensor dtype {t.dtype} cannot be passed to a kernel")
    a.tensor.dtype = DTYPE_CODES[name]
    a.tensor.rank = t.dim()
    for d in range(t.dim()):
        a.tensor.shape[d] = t.shape[d]
        a.tensor.strides[d] = t.stride(d)
    return a


class Kernel:
    """One loaded kernel artifact; call it with torch CUDA tensors (the
    function's arguments, then its results) to launch on the current
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

    def __call__(self, *tensors, stream=None):
        import torch
        args = (_Arg * len(tensors))(*[_tensor_arg(t) for t in tensors])
        if stream is None:
            stream = torch.cuda.current_stream().cuda_stream
        status = self._lib.attn_kernel_launch(self.handle, args, len(tensors),
                                              ctypes.c_void_p(stream))
        if status != 0:
            _fail(self._lib, status)

    def __del__(self):
        if getattr(self, "handle", None) and self.handle.value:
            self._lib.attn_kernel_free(self.handle)
