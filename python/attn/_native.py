"""What the two ctypes bindings share: finding a native library of a built
checkout or an installed package, and the runtime's C structs
(attn_tensor / attn_arg in include/attn/Runtime/attn_runtime.h), which the
compiler's C API takes too."""
from __future__ import annotations

import ctypes
import os

MAX_RANK = 8
# dtype name (torch or numpy) -> attn_dtype
DTYPE_CODES = {"float16": 0, "bfloat16": 1, "float32": 2, "int8": 3,
               "int32": 4, "int64": 5, "bool": 6, "float8_e4m3fn": 7}


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32), ("shape", ctypes.c_int64 * MAX_RANK),
                ("strides", ctypes.c_int64 * MAX_RANK)]


class Arg(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("tensor", Tensor),
                ("i64", ctypes.c_int64), ("f32", ctypes.c_float)]


def fill_tensor(t, data, dtype_code, shape, strides):
    t.data = data
    t.dtype = dtype_code
    t.rank = len(shape)
    for d, (n, s) in enumerate(zip(shape, strides)):
        t.shape[d] = n
        t.strides[d] = s


def candidates(env_var, filename):
    """Where to look for `filename`: $env_var, the package's lib/, the
    checkout's build/lib."""
    env = os.environ.get(env_var)
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "lib", filename)
    yield os.path.join(os.path.dirname(os.path.dirname(here)), "build", "lib", filename)


def load(env_var, filename):
    """(CDLL, None) for the first candidate that loads, or (None, reason)."""
    tried = []
    for path in candidates(env_var, filename):
        if not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path), None
        except OSError as e:
            tried.append(f"{path} ({e})")
    try:  # the dynamic loader's search path
        return ctypes.CDLL(filename), None
    except OSError:
        tried.append(f"{filename} on the loader path")
    return None, f"{filename} not found (set {env_var}); tried: " + ", ".join(tried)
