"""ctypes binding of libAttnCompiler (include/attn/Compiler/attn_compiler.h):
attention IR -> GPU kernel artifacts, and IR -> CPU functions run on numpy
arrays. Absent on deployment machines: `available()` says so and the
package then runs from prebuilt kernels."""
from __future__ import annotations

import ctypes
import os

_MAX_RANK = 8
# numpy dtype name -> attnc_dtype (bf16 travels as uint16 bits)
CPU_DTYPES = {"f16": 0, "bf16": 1, "f32": 2, "bool": 3, "int8": 4, "int32": 5, "int64": 6}


class CompileError(RuntimeError):
    """The compiler rejected the IR (message: the diagnostics)."""


class _Buffer(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32),
                ("rank", ctypes.c_int32), ("shape", ctypes.c_int64 * _MAX_RANK)]


_LIB = None
_MISSING = None


def _candidates():
    env = os.environ.get("ATTN_COMPILER_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "lib", "libAttnCompiler.so")
    yield os.path.join(os.path.dirname(os.path.dirname(here)), "build", "lib",
                       "libAttnCompiler.so")


def library():
    """The loaded compiler library, or None where there is none."""
    global _LIB, _MISSING
    if _LIB is not None or _MISSING is not None:
        return _LIB
    tried = []
    for path in _candidates():
        if not os.path.exists(path):
            tried.append(path)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        lib.attnc_compile_kernel.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
            ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)), ctypes.POINTER(ctypes.c_size_t)]
        lib.attnc_free.argtypes = [ctypes.c_void_p]
        lib.attnc_cpu_compile.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.attnc_cpu_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Buffer), ctypes.c_size_t,
                                      ctypes.POINTER(_Buffer), ctypes.c_size_t]
        lib.attnc_cpu_free.argtypes = [ctypes.c_void_p]
        lib.attnc_last_error.restype = ctypes.c_char_p
        _LIB = lib
        return lib
    _MISSING = "libAttnCompiler.so not found (set ATTN_COMPILER_LIB); tried: " + ", ".join(tried)
    return None


def available():
    return library() is not None


def missing_reason():
    library()
    return _MISSING


def _require():
    lib = library()
    if lib is None:
        raise CompileError(_MISSING)
    return lib


def compile_kernel(source, chip, fmt="bin"):
    """Kernel artifact bytes for `source` on GPU `chip`."""
    lib = _require()
    data = ctypes.POINTER(ctypes.c_uint8)()
    size = ctypes.c_size_t()
    if lib.attnc_compile_kernel(source.encode(), chip.encode(), fmt.encode(),
                                ctypes.byref(data), ctypes.byref(size)) != 0:
        raise CompileError(lib.attnc_last_error().decode())
    try:
        return ctypes.string_at(data, size.value)
    finally:
        lib.attnc_free(data)


class CpuFunction:
    """An attention function compiled for the CPU; run() takes numpy arrays."""

    def __init__(self, source):
        self._lib = _require()
        self._handle = ctypes.c_void_p()
        if self._lib.attnc_cpu_compile(source.encode(), ctypes.byref(self._handle)) != 0:
            raise CompileError(self._lib.attnc_last_error().decode())

    @staticmethod
    def _buffers(arrays):
        bufs = (_Buffer * len(arrays))()
        for b, (a, dtype) in zip(bufs, arrays):
            if not a.flags["C_CONTIGUOUS"]:
                raise ValueError("internal: CPU buffers must be contiguous")
            b.data = a.ctypes.data
            b.dtype = CPU_DTYPES[dtype]
            b.rank = a.ndim
            for d in range(a.ndim):
                b.shape[d] = a.shape[d]
        return bufs

    def run(self, args, results):
        """args/results: [(numpy array, dtype name)] in function order."""
        a, r = self._buffers(args), self._buffers(results)
        if self._lib.attnc_cpu_run(self._handle, a, len(args), r, len(results)) != 0:
            raise RuntimeError(self._lib.attnc_last_error().decode())

    def __del__(self):
        if getattr(self, "_handle", None) and self._handle.value:
            self._lib.attnc_cpu_free(self._handle)
