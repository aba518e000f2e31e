"""ctypes binding of libAttnCompiler (include/attn/Compiler/attn_compiler.h):
attention IR -> GPU kernel artifacts, and IR -> CPU functions run on numpy
arrays. Absent on deployment machines: `available()` says so and the
package then runs from prebuilt kernels."""
from __future__ import annotations

import ctypes

from ._native import DTYPE_CODES, Tensor, fill_tensor, load

class CompileError(RuntimeError):
    """The compiler rejected the IR (message: the diagnostics)."""


class UnsupportedError(CompileError, ValueError):
    """Valid attention that no GPU kernel supports on the chip (head dims,
    shared memory, ...): the compiler's reason, as a ValueError too."""


UNSUPPORTED = 2  # ATTNC_UNSUPPORTED in attn_compiler.h


_LIB = None
_MISSING = None


def library():
    """The loaded compiler library, or None where there is none."""
    global _LIB, _MISSING
    if _LIB is not None or _MISSING is not None:
        return _LIB
    lib, _MISSING = load("ATTN_COMPILER_LIB", "libAttnCompiler.so")
    if lib is not None:
        lib.attnc_compile_kernel.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
            ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)), ctypes.POINTER(ctypes.c_size_t)]
        lib.attnc_free.argtypes = [ctypes.c_void_p]
        lib.attnc_cpu_compile.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.attnc_cpu_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(Tensor), ctypes.c_size_t,
                                      ctypes.POINTER(Tensor), ctypes.c_size_t]
        lib.attnc_cpu_free.argtypes = [ctypes.c_void_p]
        lib.attnc_last_error.restype = ctypes.c_char_p
        if hasattr(lib, "attnc_classify_blocks"):  # older builds lack it
            lib.attnc_classify_blocks.argtypes = [
                ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                ctypes.c_int64, ctypes.c_void_p, ctypes.c_size_t]
        _LIB = lib
    return _LIB


def fingerprint():
    """A short id of the loaded compiler build (its file's size and
    modification time), or None without a compiler: kernels it compiles are
    cached under it, so that another build never serves them."""
    lib = library()
    if lib is None:
        return None
    import hashlib
    import os
    try:
        st = os.stat(lib._name)
        ident = f"{os.path.realpath(lib._name)}:{st.st_size}:{st.st_mtime_ns}"
    except (OSError, TypeError):  # found on the loader path only
        ident = str(lib._name)
    return hashlib.sha256(ident.encode()).hexdigest()[:12]


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
    status = lib.attnc_compile_kernel(source.encode(), chip.encode(), fmt.encode(),
                                      ctypes.byref(data), ctypes.byref(size))
    if status != 0:
        error = UnsupportedError if status == UNSUPPORTED else CompileError
        raise error(lib.attnc_last_error().decode())
    try:
        return ctypes.string_at(data, size.value)
    finally:
        lib.attnc_free(data)


def classify_blocks(masks, query_len, key_len, query_block, key_block):
    """uint8 [NQ, NK] (numpy) block classes of the closed-form mask atoms
    `masks` (0 empty, 1 full, 2 partial: the kernels' tile classification,
    attnc_classify_blocks), or None without a compiler that has it."""
    lib = library()
    if lib is None or not hasattr(lib, "attnc_classify_blocks"):
        return None
    import numpy as np
    nq, nk = -(-query_len // query_block), -(-key_len // key_block)
    classes = np.empty((nq, nk), np.uint8)
    from ._ir import masks_array
    text = masks_array(masks)
    status = lib.attnc_classify_blocks(text.encode(), query_len, key_len, query_block,
                                       key_block, classes.ctypes.data, classes.size)
    if status != 0:
        raise CompileError(lib.attnc_last_error().decode())
    return classes


class CpuFunction:
    """An attention function compiled for the CPU; run() takes numpy arrays."""

    def __init__(self, source):
        self._lib = _require()
        self._handle = ctypes.c_void_p()
        if self._lib.attnc_cpu_compile(source.encode(), ctypes.byref(self._handle)) != 0:
            raise CompileError(self._lib.attnc_last_error().decode())

    @staticmethod
    def _buffers(arrays):
        bufs = (Tensor * len(arrays))()
        for b, (a, dtype) in zip(bufs, arrays):
            fill_tensor(b, a.ctypes.data, DTYPE_CODES[dtype], a.shape,
                        [s // a.itemsize for s in a.strides])
        return bufs

    def run(self, args, results):
        """args/results: [(numpy array, dtype name as in DTYPE_CODES)] in
        function order (bfloat16 arrays hold the uint16 bits)."""
        a, r = self._buffers(args), self._buffers(results)
        if self._lib.attnc_cpu_run(self._handle, a, len(args), r, len(results)) != 0:
            raise RuntimeError(self._lib.attnc_last_error().decode())

    def __del__(self):
        if getattr(self, "_handle", None) and self._handle.value:
            self._lib.attnc_cpu_free(self._handle)
