"""Runs an AttentionSpec on arrays: torch CUDA tensors on the GPU (kernel
artifacts through libAttnRuntime), numpy arrays and CPU torch tensors on the
CPU backend (libAttnCompiler). Kernels are cached by specialization: in
memory, on disk ($ATTN_CACHE_DIR, default ~/.cache/attn, one directory per
compiler build), and looked up in
prebuilt directories ($ATTN_KERNEL_DIR, ':'-separated) where no compiler is
installed. Batch and sequence lengths are dynamic in every kernel, so a new
length never recompiles."""
from __future__ import annotations

import dataclasses
import os
import threading

from . import _compiler
from ._native import DTYPE_CODES

_FLOAT_NAMES = {"float16": "f16", "bfloat16": "bf16", "float32": "f32"}
_TYPE_NAMES = {v: k for k, v in _FLOAT_NAMES.items()}
_lock = threading.Lock()
_gpu_kernels = {}
_cpu_functions = {}
stats = {"compiled": 0, "disk_hits": 0, "memory_hits": 0, "block_mask_launches": 0}

# Query lengths up to this are compiled statically on the GPU: a decode step
# (or speculative decoding's few tokens) then gets the decode strategy where
# the compiler can pack its query heads (split-KV, one K/V read per kv head).
DECODE_MAX_QUERY = 16

# compile-only mode (prebuilding kernels for a machine without the compiler)
_prebuild = threading.local()


class KernelNotFoundError(RuntimeError):
    """No compiled kernel for a specialization and no compiler to build it."""


def is_torch(x):
    return type(x).__module__.split(".")[0] == "torch"


def dtype_name(x):
    """'float16', 'bfloat16', 'float32', 'int32', 'bool', ... of an array."""
    if is_torch(x):
        return str(x.dtype).replace("torch.", "")
    return str(getattr(x, "dtype", type(x).__name__))


def element_type(x):
    """The spec dtype ('f16', 'bf16', 'f32') of a float array, or None."""
    return _FLOAT_NAMES.get(dtype_name(x))


def on_gpu(x):
    if getattr(_prebuild, "dir", None) is not None:
        return True
    return is_torch(x) and x.device.type == "cuda"


def cache_dir():
    return os.environ.get("ATTN_CACHE_DIR",
                          os.path.join(os.path.expanduser("~"), ".cache", "attn"))


def compiled_cache_dir():
    """Where this compiler build caches its kernels: a directory per build
    under cache_dir() (a kernel's key is its spec's, which does not change
    when the compiler does), or None without a compiler."""
    build = _compiler.fingerprint()
    return os.path.join(cache_dir(), build) if build else None


def _chip(device_index):
    """The chip name kernels for this device are compiled for: sm_90a on
    Hopper (its arch-specific wgmma), else sm_<major><minor>."""
    import torch
    major, minor = torch.cuda.get_device_capability(device_index)
    return "sm_90a" if (major, minor) == (9, 0) else f"sm_{major}{minor}"


def gpu_kernel(spec, chip):
    """The runtime Kernel for `spec` on `chip` (compiling it if needed)."""
    from ._runtime import Kernel
    key = f"{spec.key()}-{chip}"
    with _lock:
        if key in _gpu_kernels:
            stats["memory_hits"] += 1
            return _gpu_kernels[key]
        own = compiled_cache_dir()
        dirs = ([own] if own else []) + [
            d for d in os.environ.get("ATTN_KERNEL_DIR", "").split(":") if d]
        stale = None
        for d in dirs:
            path = os.path.join(d, key + ".attn")
            if os.path.exists(path):
                try:
                    kernel = Kernel(path)
                except RuntimeError as e:  # e.g. written by an older format
                    stale = f"{path}: {e}"
                    continue
                stats["disk_hits"] += 1
                _gpu_kernels[key] = kernel
                return kernel
        if not _compiler.available():
            found = f" (one was found but cannot be loaded: {stale})" if stale else ""
            raise KernelNotFoundError(
                f"no compiled kernel '{key}.attn' for this attention ({spec.summary()}) "
                f"in {dirs}{found}, and {_compiler.missing_reason()}. Prebuild it on a "
                f"machine with the compiler (attn.prebuild) and set ATTN_KERNEL_DIR.")
        kernel = _gpu_kernels[key] = Kernel(data=_compile_into(dirs[0], key, spec, chip))
        return kernel


def _compile_into(directory, key, spec, chip):
    """Compiles `spec` for `chip` into directory/key.attn (atomically, so a
    concurrent reader never sees half a file); returns the artifact."""
    data = _compile_artifact(spec, chip)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{key}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(directory, key + ".attn"))
    return data


def _compile_artifact(spec, chip):
    stats["compiled"] += 1
    source = spec.to_mlir("attention")
    try:
        return _compiler.compile_kernel(source, chip, "bin")
    except _compiler.CompileError as e:
        if "ptxas" not in str(e):
            raise
        return _compiler.compile_kernel(source, chip, "isa")  # driver JIT


def cpu_function(spec):
    key = spec.key()
    with _lock:
        fn = _cpu_functions.get(key)
        if fn is None:
            stats["compiled"] += 1
            fn = _cpu_functions[key] = _compiler.CpuFunction(spec.to_mlir("attention"))
        else:
            stats["memory_hits"] += 1
        return fn


class prebuild:
    """``with attn.prebuild(dir, chip="sm_90a"):`` compiles the GPU kernel of
    every call made inside into `dir` instead of running it (call the APIs
    with attn.meta_tensor stand-ins); ATTN_KERNEL_DIR=dir then serves them
    on a machine without the compiler."""

    def __init__(self, directory, chip="sm_90a"):
        self.directory, self.chip = directory, chip

    def __enter__(self):
        _prebuild.dir, _prebuild.chip = self.directory, self.chip
        return self

    def __exit__(self, *exc):
        _prebuild.dir = None


class MetaTensor:
    """Shape and dtype only: stands for a CUDA tensor in attn.prebuild."""

    device = "cuda:0"
    is_cuda = True

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype

    def dim(self):
        return len(self.shape)

    @property
    def ndim(self):
        return len(self.shape)

    # The shape arithmetic the APIs do before a launch (x[None], x[:, 0],
    # x[:, None], swapaxes), so that they prebuild the kernels they would
    # run.
    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        shape, rest = [], list(self.shape)
        for item in index:
            if item is None:
                shape.append(1)
            elif isinstance(item, int):
                rest.pop(0)
            elif item == slice(None):
                shape.append(rest.pop(0))
            else:
                raise TypeError("a meta tensor takes None, ints and ':' as indices")
        return MetaTensor(shape + rest, self.dtype)

    def swapaxes(self, a, b):
        shape = list(self.shape)
        shape[a], shape[b] = shape[b], shape[a]
        return MetaTensor(shape, self.dtype)


def meta_tensor(shape, dtype="bfloat16"):
    return MetaTensor(shape, dtype)


def _out_shapes(spec, q):
    out = tuple(q.shape[:-1]) + (spec.dv,)
    if spec.varlen:
        lse = (spec.heads_q, q.shape[0])
    elif spec.layout == "bshd":
        lse = (q.shape[0], spec.heads_q, q.shape[1])
    else:
        lse = (q.shape[0], spec.heads_q, q.shape[2])
    return out, lse


def _decode_spec(spec, q):
    """`spec` with its query length fixed where it is a decode step."""
    if spec.varlen or spec.seq_q is not None or spec.seqused:
        return spec
    sq = q.shape[1] if spec.layout == "bshd" else q.shape[2]
    if 0 < sq <= DECODE_MAX_QUERY:
        return dataclasses.replace(spec, seq_q=int(sq))
    return spec


def prebuild_kernel(spec):
    """Under attn.prebuild: compiles `spec` (an AttentionSpec or
    BlockMaskSpec) into the prebuild directory unless it is there."""
    key = f"{spec.key()}-{_prebuild.chip}"
    if not os.path.exists(os.path.join(_prebuild.dir, key + ".attn")):
        _compile_into(_prebuild.dir, key, spec, _prebuild.chip)


def execute(spec, named, workspace=None):
    """(out, lse or None) of `spec` on the named arrays (all on one device).
    `workspace`: a CUDA buffer for split-KV kernels (else the runtime's)."""
    if on_gpu(named["q"]):
        spec = _decode_spec(spec, named["q"])
    if getattr(_prebuild, "dir", None) is not None:
        prebuild_kernel(spec)
        return None, None
    q = named["q"]
    args = [named[n] for n in spec.argument_names()]
    out_shape, lse_shape = _out_shapes(spec, q)
    if 0 in out_shape:  # no batch, rows or heads: nothing to compute
        out, lse = _outputs(spec, q, out_shape, lse_shape, defined=True)
        return (out, lse) if on_gpu(q) else _host_result(spec, q, out, lse)
    if on_gpu(q):
        return GpuLaunch(spec, named, out_shape, lse_shape)(workspace=workspace)
    return _execute_cpu(spec, q, args, out_shape, lse_shape)


def gpu_launch(spec, named):
    """A repeatable GpuLaunch of `spec` on the named CUDA tensors, or None
    where execute() would not launch a kernel (prebuild, host tensors, an
    empty output)."""
    q = named["q"]
    if getattr(_prebuild, "dir", None) is not None or not (is_torch(q) and on_gpu(q)):
        return None
    spec = _decode_spec(spec, q)
    out_shape, lse_shape = _out_shapes(spec, q)
    if 0 in out_shape:
        return None
    return GpuLaunch(spec, named, out_shape, lse_shape)


def _outputs(spec, q, out_shape, lse_shape, defined):
    """(out, lse or None): torch tensors on q's GPU, else numpy arrays
    (bfloat16 as its uint16 bits). `defined`: out 0 and lse -inf (what a row
    no sequence covers reads as; varlen offsets on the GPU are not read on
    the host), else uninitialised."""
    if is_torch(q) and on_gpu(q):
        import torch
        make = torch.zeros if defined else torch.empty
        out = make(out_shape, device=q.device, dtype=q.dtype)
        lse = None
        if spec.lse:
            lse = (torch.full(lse_shape, float("-inf"), device=q.device, dtype=torch.float32)
                   if defined else torch.empty(lse_shape, device=q.device,
                                               dtype=torch.float32))
        return out, lse
    import numpy as np
    np_dtype = {"f16": np.float16, "bf16": np.uint16, "f32": np.float32}[spec.dtype]
    out = (np.zeros if defined else np.empty)(out_shape, dtype=np_dtype)
    lse = None
    if spec.lse:
        lse = np.full(lse_shape, -np.inf, np.float32) if defined else \
            np.empty(lse_shape, np.float32)
    return out, lse


def _host_result(spec, q, out, lse):
    """Host results as q's kind: numpy arrays, or CPU torch tensors."""
    if not is_torch(q):
        return out, lse
    import torch
    out_t = torch.from_numpy(out)
    if spec.dtype == "bf16":
        out_t = out_t.view(torch.int16).view(torch.bfloat16)
    return out_t, (torch.from_numpy(lse) if lse is not None else None)


class GpuLaunch:
    """A launch of `spec`'s GPU kernel on the named tensors, made repeatable
    at a few microseconds of host time: the kernel, the output shapes and
    the runtime's argument array are found once; a call re-points the
    `varying` arguments (their shapes, strides and dtypes must be those
    given here: callers key their cache on them), allocates the outputs and
    launches on the current stream."""

    def __init__(self, spec, named, out_shape, lse_shape):
        import torch
        from ._runtime import arguments
        q = named["q"]
        names = spec.argument_names()
        for a in (named[n] for n in names):
            if not (is_torch(a) and a.device == q.device):
                raise ValueError(f"all tensors must be on {q.device}; got one on "
                                 f"{getattr(a, 'device', 'the host')}")
        self.spec = spec
        self.out_shape, self.lse_shape = out_shape, lse_shape
        # The kernel is compiled for dense row-major tensors (the runtime
        # checks every stride it does not read at launch); paged K/V pools
        # are read with their own page stride, in place.
        pools = {"k", "v"} if spec.paged_kv else set()
        self.tensors = [named[n] if n in pools else named[n].contiguous() for n in names]
        self.slot = {n: i for i, n in enumerate(names)}
        with torch.cuda.device(q.device):
            self.kernel = gpu_kernel(spec, _chip(q.device.index))
        # The outputs' slots are filled per call.
        self.args = arguments(self.tensors + [q] * (2 if spec.lse else 1))
        self.q = q
        self.required = set()

    def forget(self, names):
        """Drops the tensors of `names` (a cache keeps the launch, not the
        first call's q/k/v): later calls must pass them in `varying`."""
        import torch
        for name in names:
            self.tensors[self.slot[name]] = None
        if "q" in names:  # the outputs' device and dtype only
            self.q = torch.empty(0, dtype=self.q.dtype, device=self.q.device)
        self.required |= set(names)

    def __call__(self, varying=None, workspace=None):
        """(out, lse or None) for the tensors given at construction, with
        `varying` (name -> tensor, contiguous) replacing theirs."""
        from ._runtime import fill_arg
        missing = self.required - set(varying or {})
        if missing:
            raise ValueError(f"this launch needs {sorted(missing)} in every call")
        keep = []  # alive until the launch returns
        q = self.q
        for name, t in (varying or {}).items():
            fill_arg(self.args[self.slot[name]], t)
            keep.append(t)
            if name == "q":
                q = t
        out, lse = _outputs(self.spec, q, self.out_shape, self.lse_shape,
                            defined=self.spec.varlen)
        base = len(self.tensors)
        fill_arg(self.args[base], out)
        if lse is not None:
            fill_arg(self.args[base + 1], lse)
        if q.device.index == _current_device():
            self.kernel.launch(self.args, workspace=workspace)
        else:
            import torch
            with torch.cuda.device(q.device):
                self.kernel.launch(self.args, workspace=workspace)
        return out, lse


def tensor_key(tensors, contiguous=True):
    """(shape, strides, dtype, device) of each tensor, the part of a launch
    cache key the tensors give, or None unless each is a CUDA torch tensor
    (and contiguous, unless told otherwise: a GpuLaunch was made for the
    contiguous tensors of its first call)."""
    if not all(is_torch(t) and t.is_cuda and (t.is_contiguous() or not contiguous)
               for t in tensors):
        return None
    return tuple((tuple(t.shape), tuple(t.stride()), t.dtype, t.device) for t in tensors)


class LaunchCache:
    """The launches of earlier calls by key, at most `size`, the oldest made
    first out: a call like an earlier one (its key) runs that call's
    GpuLaunch on its own q, k and v. An entry keeps the kernel and the
    other arguments, not the first call's q/k/v."""

    def __init__(self, size=64):
        import collections
        self._entries = collections.OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key):
        return self._entries.get(key) if key is not None else None

    def run(self, key, spec, named, workspace=None, entry=None):
        """(out, lse) of execute(spec, named), caching its GpuLaunch under
        `key` (None: not cached) as `entry(launch)` (default: the launch)."""
        launch = gpu_launch(spec, named) if key is not None else None
        if launch is None:
            return execute(spec, named, workspace=workspace)
        result = launch(workspace=workspace)
        launch.forget(("q", "k", "v"))
        with self._lock:
            self._entries[key] = entry(launch) if entry else launch
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return result


def _current_device():
    import torch
    return torch.cuda.current_device()


def _to_numpy(x):
    """(contiguous numpy array, dtype name) of a host array; bfloat16
    travels as its uint16 bits, float8_e4m3fn (an fp8 KV cache) as its
    bytes."""
    import numpy as np
    if is_torch(x):
        x = x.detach().cpu().contiguous()
        if str(x.dtype) == "torch.bfloat16":
            import torch
            return np.ascontiguousarray(x.view(torch.int16).numpy().view(np.uint16)), "bfloat16"
        if str(x.dtype) == "torch.float8_e4m3fn":
            import torch
            return np.ascontiguousarray(x.view(torch.uint8).numpy()), "float8_e4m3fn"
        x = x.numpy()
    x = np.ascontiguousarray(x)
    if x.dtype.name not in DTYPE_CODES or x.dtype.name == "bfloat16":
        raise TypeError(f"unsupported array dtype {x.dtype}")
    return x, x.dtype.name


def _execute_cpu(spec, q, args, out_shape, lse_shape):
    fn = cpu_function(spec)
    host = [_to_numpy(a) for a in args]
    out, lse = _outputs(spec, None, out_shape, lse_shape, defined=False)
    results = [(out, _TYPE_NAMES[spec.dtype])]
    if lse is not None:
        results.append((lse, "float32"))
    fn.run(host, results)
    return _host_result(spec, q, out, lse)
