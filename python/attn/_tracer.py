"""Traces Python score_mod / mask_mod functions into the attn dialect's
regions.

The function runs once on symbolic values: ``score`` (f32) and the integer
indices ``b, h, q_idx, kv_idx`` (index). Arithmetic, comparisons, ``&``,
``|``, ``~``, ``abs``, ``attn.where`` / ``torch.where`` / ``np.where``,
tanh / exp / log / sigmoid / sqrt (attn.*, torch.*, numpy ufuncs) and
indexing a captured 1-D tensor (a numpy array or torch tensor the function
reads from its closure or globals, e.g. ALiBi slopes or document ids) each
emit one or a few ops. Anything else raises TraceError naming the construct.
"""
from __future__ import annotations

import math
import types
from ._ir import mlir_f32_constant


class TraceError(TypeError):
    """A construct the tracer cannot turn into IR."""


class Value:
    """A symbolic SSA value of kind 'index', 'f32' or 'i1'."""
    __array_priority__ = 1000

    def __init__(self, tracer, name, kind):
        self.t, self.name, self.kind = tracer, name, kind

    # -- Python protocol -------------------------------------------------
    def __bool__(self):
        raise TraceError("data-dependent Python control flow (if / while / and / or / "
                         "chained comparisons on a traced value) cannot be traced; "
                         "use attn.where(cond, a, b), & and |")

    def __index__(self):
        raise TraceError("a traced index cannot index a Python sequence (list, tuple, "
                         "str); capture a tensor (numpy array or torch tensor of 1 to 4 "
                         "dimensions) instead")

    def __float__(self):
        raise TraceError("a traced value cannot become a Python number (float(), "
                         "int(), math.*); use attn.tanh / attn.exp / ... or torch.* "
                         "functions, which trace")

    __int__ = __float__

    def __iter__(self):
        raise TraceError("a traced value cannot be iterated")

    def __add__(self, o): return self.t.binary("add", self, o)
    def __radd__(self, o): return self.t.binary("add", o, self)
    def __sub__(self, o): return self.t.binary("sub", self, o)
    def __rsub__(self, o): return self.t.binary("sub", o, self)
    def __mul__(self, o): return self.t.binary("mul", self, o)
    def __rmul__(self, o): return self.t.binary("mul", o, self)
    def __truediv__(self, o): return self.t.binary("div", self, o)
    def __rtruediv__(self, o): return self.t.binary("div", o, self)
    def __floordiv__(self, o): return self.t.binary("floordiv", self, o)
    def __rfloordiv__(self, o): return self.t.binary("floordiv", o, self)
    def __mod__(self, o): return self.t.binary("rem", self, o)
    def __rmod__(self, o): return self.t.binary("rem", o, self)
    def __neg__(self): return self.t.binary("sub", 0, self)
    def __abs__(self): return self.t.unary("abs", self)
    def __lt__(self, o): return self.t.compare("lt", self, o)
    def __le__(self, o): return self.t.compare("le", self, o)
    def __gt__(self, o): return self.t.compare("gt", self, o)
    def __ge__(self, o): return self.t.compare("ge", self, o)
    def __eq__(self, o): return self.t.compare("eq", self, o)
    def __ne__(self, o): return self.t.compare("ne", self, o)
    def __and__(self, o): return self.t.logic("andi", self, o)
    def __rand__(self, o): return self.t.logic("andi", o, self)
    def __or__(self, o): return self.t.logic("ori", self, o)
    def __ror__(self, o): return self.t.logic("ori", o, self)
    def __xor__(self, o): return self.t.logic("xori", self, o)
    def __invert__(self): return self.t.logic("xori", self, True)
    __hash__ = object.__hash__

    # -- torch / numpy dispatch ------------------------------------------
    @classmethod
    def __torch_function__(cls, func, types_, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if name == "__getitem__":
            # A tensor the closure rebinding did not see (e.g. an attribute).
            tracer = next(a.t for a in args if isinstance(a, Value))
            return tracer.capture(args[0])[args[1]]
        return _dispatch(name, args, kwargs or {}, "torch")

    def __array_ufunc__(self, ufunc, method, *args, **kwargs):
        if method != "__call__":
            raise TraceError(f"numpy.{ufunc.__name__}.{method} cannot be traced")
        return _dispatch(ufunc.__name__, args, kwargs, "numpy")

    def __array_function__(self, func, types_, args, kwargs):
        return _dispatch(func.__name__, args, kwargs, "numpy")


_UFUNC_ALIASES = {"add": "__add__", "subtract": "__sub__", "multiply": "__mul__",
                  "true_divide": "__truediv__", "divide": "__truediv__",
                  "floor_divide": "__floordiv__", "less": "__lt__", "less_equal": "__le__",
                  "greater": "__gt__", "greater_equal": "__ge__", "equal": "__eq__",
                  "not_equal": "__ne__", "logical_and": "__and__", "logical_or": "__or__",
                  "bitwise_and": "__and__", "bitwise_or": "__or__", "negative": "__neg__",
                  "absolute": "__abs__", "abs": "__abs__", "eq": "__eq__", "ne": "__ne__",
                  "lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__",
                  "mul": "__mul__", "sub": "__sub__", "div": "__truediv__",
                  "logical_not": "__invert__", "bitwise_not": "__invert__"}


def _dispatch(name, args, kwargs, origin):
    if name in ("where",):
        return where(*args, **kwargs)
    if name in _MATH:
        if kwargs:
            raise TraceError(f"{origin}.{name} with keyword arguments cannot be traced")
        return _MATH[name](*args)
    alias = _UFUNC_ALIASES.get(name)
    if alias:
        tracer = next(a.t for a in args if isinstance(a, Value))
        return getattr(tracer.lift(args[0], None), alias)(*args[1:])
    raise TraceError(f"{origin}.{name} is not supported in score_mod / mask_mod "
                     f"(supported: arithmetic, comparisons, &, |, ~, abs, where, "
                     f"tanh, exp, log, sigmoid, sqrt, indexing captured 1-D tensors)")


def capture_type(array, elem):
    """The tensor type of a captured array: `tensor<?x...x{elem}>`, one `?`
    per dimension (sizes stay dynamic, so a new length never recompiles)."""
    return "tensor<" + "?x" * len(getattr(array, "shape", ())) + elem + ">"


class Captured:
    """A captured 1- to 4-D tensor: indexing it with traced indices (one
    per dimension, `t[i]` or `t[i, j]`) reads it; out of range reads 0."""

    def __init__(self, tracer, name, array, elem):
        self.t, self.name, self.array, self.elem = tracer, name, array, elem
        self.rank = len(array.shape)

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        if len(idx) != self.rank:
            raise TraceError(f"captured tensor '{self.name}' has {self.rank} dimensions: index "
                             f"it with {self.rank} traced indices at once "
                             f"(t[{', '.join('ijkl'[:self.rank])}]), got {len(idx)}")
        names = []
        for i in idx:
            v = self.t.lift(i, "index")
            if v.kind != "index":
                raise TraceError(f"captured tensor '{self.name}' indexed by a {v.kind} value")
            names.append(v.name)
        ttype = capture_type(self.array, self.elem)
        v = self.t.emit(f"tensor.extract %{self.name}[{', '.join(names)}] : {ttype}")
        if self.elem == "f32":
            return Value(self.t, v, "f32")
        c = self.t.emit(f"arith.index_cast {v} : {self.elem} to index")
        return Value(self.t, c, "index")

    def __getattr__(self, attr):
        raise TraceError(f"captured tensor '{self.name}': .{attr} cannot be traced "
                         f"(only indexing with traced indices)")


class Tracer:
    def __init__(self, prefix=""):
        self.prefix = prefix  # of capture names, unique across regions
        self.lines = []
        self.count = 0
        self.captures = []  # (name, array, elem)
        self._by_id = {}

    def emit(self, text):
        name = f"%v{self.count}"
        self.count += 1
        self.lines.append(f"{name} = {text}")
        return name

    def lift(self, x, want):
        """A Value for x (a Value, a Python bool/int/float)."""
        if isinstance(x, Value):
            return x
        if isinstance(x, bool):
            return Value(self, self.emit(f"arith.constant {'true' if x else 'false'}"), "i1")
        if isinstance(x, int) and want in ("index", None):
            if not -2**63 <= x < 2**63:
                raise TraceError(f"the integer {x} does not fit a 64-bit index")
            return Value(self, self.emit(f"arith.constant {x} : index"), "index")
        if isinstance(x, (int, float)):
            return Value(self, self.emit(f"arith.constant {mlir_f32_constant(x)} : f32"),
                         "f32")
        if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
            return self.lift(x.item(), want)
        raise TraceError(f"a {type(x).__name__} cannot be used in score_mod / mask_mod "
                         f"(only traced values, Python numbers and captured 1-D tensors)")

    def to_f32(self, v):
        if v.kind == "f32":
            return v
        if v.kind == "index":
            i = self.emit(f"arith.index_cast {v.name} : index to i64")
            return Value(self, self.emit(f"arith.sitofp {i} : i64 to f32"), "f32")
        return Value(self, self.emit(f"arith.uitofp {v.name} : i1 to f32"), "f32")

    def _pair(self, a, b):
        want = None
        for x in (a, b):
            if isinstance(x, Value):
                want = x.kind if want is None else want
        if isinstance(a, float) or isinstance(b, float):
            want = "f32"
        a, b = self.lift(a, want), self.lift(b, want)
        if a.kind == "i1" or b.kind == "i1":
            raise TraceError("arithmetic on booleans cannot be traced; use & | ~ and where")
        if a.kind != b.kind:
            a, b = self.to_f32(a), self.to_f32(b)
        return a, b

    def binary(self, op, a, b):
        if op == "div":
            a, b = self._pair(a, b)
            a, b = self.to_f32(a), self.to_f32(b)
        else:
            a, b = self._pair(a, b)
        if a.kind == "index":
            opname = {"add": "addi", "sub": "subi", "mul": "muli",
                      "floordiv": "floordivsi", "rem": "remsi"}[op]
            return Value(self, self.emit(f"arith.{opname} {a.name}, {b.name} : index"), "index")
        if op == "floordiv":
            q = self.emit(f"arith.divf {a.name}, {b.name} : f32")
            return Value(self, self.emit(f"math.floor {q} : f32"), "f32")
        opname = {"add": "addf", "sub": "subf", "mul": "mulf", "div": "divf",
                  "rem": "remf"}[op]
        return Value(self, self.emit(f"arith.{opname} {a.name}, {b.name} : f32"), "f32")

    def compare(self, pred, a, b):
        a, b = self._pair(a, b)
        if a.kind == "index":
            p = {"lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge", "eq": "eq", "ne": "ne"}[pred]
            return Value(self, self.emit(f"arith.cmpi {p}, {a.name}, {b.name} : index"), "i1")
        p = {"lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge", "eq": "oeq", "ne": "une"}[pred]
        return Value(self, self.emit(f"arith.cmpf {p}, {a.name}, {b.name} : f32"), "i1")

    def logic(self, op, a, b):
        a, b = self.lift(a, "i1"), self.lift(b, "i1")
        if a.kind != "i1" or b.kind != "i1":
            raise TraceError("& | ^ ~ need boolean (comparison) operands in a traced function")
        return Value(self, self.emit(f"arith.{op} {a.name}, {b.name} : i1"), "i1")

    def unary(self, fn, x):
        x = self.lift(x, None)
        if fn == "abs" and x.kind == "index":
            # max(x, -x): math.absi has no lowering for index on the GPU path.
            zero = self.lift(0, "index")
            neg = self.emit(f"arith.subi {zero.name}, {x.name} : index")
            return Value(self, self.emit(f"arith.maxsi {x.name}, {neg} : index"), "index")
        x = self.to_f32(x)
        if fn == "sigmoid":
            n = self.emit(f"arith.negf {x.name} : f32")
            e = self.emit(f"math.exp {n} : f32")
            one = self.lift(1.0, "f32")
            d = self.emit(f"arith.addf {one.name}, {e} : f32")
            return Value(self, self.emit(f"arith.divf {one.name}, {d} : f32"), "f32")
        op = {"abs": "math.absf", "tanh": "math.tanh", "exp": "math.exp", "log": "math.log",
              "sqrt": "math.sqrt", "exp2": "math.exp2", "log2": "math.log2"}[fn]
        return Value(self, self.emit(f"{op} {x.name} : f32"), "f32")

    def select(self, cond, a, b):
        cond = self.lift(cond, "i1")
        if cond.kind != "i1":
            raise TraceError("where() needs a boolean condition")
        a, b = self._pair(a, b) if not (isinstance(a, bool) and isinstance(b, bool)) else (
            self.lift(a, "i1"), self.lift(b, "i1"))
        # A value's kind is its MLIR type name.
        return Value(self, self.emit(
            f"arith.select {cond.name}, {a.name}, {b.name} : {a.kind}"), a.kind)

    # -- captures ----------------------------------------------------------
    def capture(self, array):
        key = id(array)
        if key in self._by_id:
            return self._by_id[key]
        shape = tuple(getattr(array, "shape", ()))
        if not 1 <= len(shape) <= 4:
            raise TraceError(f"score_mod / mask_mod can capture tensors of 1 to 4 "
                             f"dimensions, got shape {shape}")
        dt = str(getattr(array, "dtype", "")).replace("torch.", "")
        if "float" in dt:
            elem = "f32"
        elif "int" in dt or dt == "bool":
            elem = "i64" if "64" in dt else "i32"
        else:
            raise TraceError(f"cannot capture a tensor of dtype {dt}")
        c = Captured(self, f"{self.prefix}cap{len(self.captures)}", array, elem)
        self.captures.append(c)
        self._by_id[key] = c
        return c


def _is_array(x):
    mod = type(x).__module__.split(".")[0]
    return (mod == "numpy" and type(x).__name__ == "ndarray") or (
        mod == "torch" and type(x).__name__ in ("Tensor", "Parameter")) or (
        type(x).__name__ == "MetaTensor")


def _rebind(fn, tracer):
    """fn with captured arrays (closure cells and globals it names) replaced
    by tracer.capture(array) (anything with a `capture` method)."""
    if not isinstance(fn, types.FunctionType):
        raise TraceError(f"score_mod / mask_mod must be a Python function, got {type(fn).__name__}")
    closure = None
    if fn.__closure__:
        cells = []
        for cell in fn.__closure__:
            try:
                v = cell.cell_contents
            except ValueError:
                cells.append(cell)
                continue
            cells.append(types.CellType(tracer.capture(v)) if _is_array(v) else cell)
        closure = tuple(cells)
    globs = fn.__globals__
    replaced = {n: tracer.capture(globs[n]) for n in fn.__code__.co_names
                if n in globs and _is_array(globs[n])}
    if replaced:
        globs = dict(globs)
        globs.update(replaced)
    return types.FunctionType(fn.__code__, globs, fn.__name__, fn.__defaults__, closure)


class _SafeArray:
    """A captured 1-D array read with the kernels' semantics: an index out of
    range reads 0 (AttnOps.td, "Regions") instead of raising or, on the GPU,
    tripping a device-side assert that would poison the CUDA context."""

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        a = self.array
        index = index if isinstance(index, tuple) else (index,)
        if type(a).__module__.split(".")[0] == "torch":
            import torch
            index = torch.broadcast_tensors(*[torch.as_tensor(i, device=a.device)
                                              for i in index])
            zero = torch.zeros((), dtype=a.dtype, device=a.device)
            if 0 in a.shape:
                return zero.expand(index[0].shape)
            inside = torch.ones(index[0].shape, dtype=torch.bool, device=a.device)
            for i, n in zip(index, a.shape):
                inside &= (i >= 0) & (i < n)
            return torch.where(inside, a[tuple(i.clamp(0, n - 1)
                                               for i, n in zip(index, a.shape))], zero)
        import numpy as np
        index = np.broadcast_arrays(*[np.asarray(i) for i in index])
        if 0 in a.shape:
            return np.zeros(index[0].shape, a.dtype)
        inside = np.ones(index[0].shape, bool)
        for i, n in zip(index, a.shape):
            inside &= (i >= 0) & (i < n)
        return np.where(inside, a[tuple(np.clip(i, 0, n - 1) for i, n in zip(index, a.shape))],
                        np.zeros((), a.dtype))


class _SafeReads:
    """For _rebind: wraps each captured array in _SafeArray."""

    @staticmethod
    def capture(array):
        return _SafeArray(array)


def bounds_safe(fn):
    """fn with its captured 1-D arrays read as the compiled kernels read them
    (out of range -> 0), for evaluating a mask_mod eagerly."""
    return _rebind(fn, _SafeReads())


def captures_device_tensor(fn, depth=0):
    """Whether fn (or a function it captures) reads a CUDA tensor: calling
    it eagerly with numpy indices would index that tensor on the GPU, where
    an out-of-range index is a device-side assert that poisons the CUDA
    context rather than an exception."""
    if not isinstance(fn, types.FunctionType) or depth > 4:
        return False
    values = [c.cell_contents for c in (fn.__closure__ or ())
              if not _empty_cell(c)]
    values += [fn.__globals__[n] for n in fn.__code__.co_names if n in fn.__globals__]
    for v in values:
        if type(v).__module__.split(".")[0] == "torch" and getattr(v, "is_cuda", False):
            return True
        if isinstance(v, types.FunctionType) and v is not fn and \
                captures_device_tensor(v, depth + 1):
            return True
    return False


def _empty_cell(cell):
    try:
        cell.cell_contents
    except ValueError:
        return True
    return False


def trace(fn, kind, prefix=""):
    """(region body text, [(capture name, array, element type)]) of a
    score_mod (kind 'score') or mask_mod (kind 'mask'); capture names start
    with `prefix`."""
    t = Tracer(prefix)
    traced = _rebind(fn, t)
    b, h, i, j = (Value(t, n, "index") for n in ("%b", "%h", "%i", "%j"))
    try:
        if kind == "score":
            result = traced(Value(t, "%s", "f32"), b, h, i, j)
        else:
            result = traced(b, h, i, j)
    except TraceError as e:  # a TypeError: keep its own message
        raise TraceError(f"{e}{_where(e.__traceback__)}") from None
    except TypeError as e:
        raise TraceError(f"{kind}_mod could not be traced: {e}"
                         f"{_where(e.__traceback__)}") from None
    if kind == "score":
        result = t.to_f32(t.lift(result, "f32"))
        t.lines.append(f"attn.yield {result.name} : f32")
    else:
        result = t.lift(result, "i1")
        if result.kind != "i1":
            raise TraceError("mask_mod must return a boolean (a comparison), "
                             f"got a {result.kind} value")
        t.lines.append(f"attn.yield {result.name} : i1")
    return "\n".join(t.lines), [(c.name, c.array, c.elem) for c in t.captures]


def _where(tb):
    """' (in NAME, FILE:LINE: SOURCE)' for the innermost frame of a traceback
    outside this package: the user's line that the tracer refused."""
    import linecache
    import os
    package = os.path.dirname(os.path.abspath(__file__))
    found = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if not os.path.abspath(code.co_filename).startswith(package + os.sep):
            found = (code.co_name, code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return ""
    name, filename, line = found
    source = linecache.getline(filename, line).strip()
    return f" (in {name}, {filename}:{line}: {source})" if source else \
        f" (in {name}, {filename}:{line})"


# -- public math helpers usable inside traced functions --------------------
def _math(fn):
    """attn.<fn>: one op on a traced value; on a torch tensor, a numpy array
    or a number the same function eagerly (so that one score_mod also runs
    under torch's flex_attention or a reference)."""
    def f(x):
        if isinstance(x, Value):
            return x.t.unary(fn, x)
        if type(x).__module__.split(".")[0] == "torch":
            import torch
            return getattr(torch, fn)(x)
        import numpy as np
        if fn == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
        return getattr(np, fn)(x)
    f.__name__ = fn
    return f


_MATH = {n: _math(n) for n in ("tanh", "exp", "log", "sigmoid", "sqrt", "exp2", "log2")}
_MATH["abs"] = _MATH["absolute"] = lambda x: abs(x)


def where(cond, a, b):
    """cond ? a : b on traced values (torch.where / np.where also work)."""
    v = next((x for x in (cond, a, b) if isinstance(x, Value)), None)
    if v is None:
        raise TraceError("attn.where is for traced values")
    return v.t.select(cond, a, b)
