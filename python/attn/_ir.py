"""Attention specifications and the `attn` dialect IR they stand for.

An :class:`AttentionSpec` is everything a kernel is specialized on (dtype,
heads, head dims, layout, masks, score mods, sparsity, sinks, varlen, lse);
batch and sequence lengths stay dynamic, so a new length never needs a new
kernel. ``spec.to_mlir()`` prints the function that ``attn-compile`` and the
CPU backend take: its arguments are q, k, v, then the named operands the
spec needs (in the op's order), then tensors captured by regions; its
results are out and, with ``lse``, the log-sum-exp.
"""
from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field
from typing import Optional, Tuple

ELEMENT_TYPES = ("f16", "bf16", "f32")
ALIGNMENTS = ("top_left", "bottom_right")


def _check_align(align):
    if align not in ALIGNMENTS:
        raise ValueError(f"alignment must be one of {ALIGNMENTS}, got {align!r}")


# ----------------------------------------------------------------- masks ---
@dataclass(frozen=True)
class Causal:
    """keep j <= i (+ Sk - Sq when bottom_right)."""
    align: str = "top_left"

    def __post_init__(self):
        _check_align(self.align)

    def attr(self):
        return f"#attn.causal<{self.align}>"


@dataclass(frozen=True)
class SlidingWindow:
    """keep pos - left <= j <= pos + right (a negative side is unbounded)."""
    left: int
    right: int
    align: str = "top_left"

    def __post_init__(self):
        _check_align(self.align)

    def attr(self):
        return (f"#attn.sliding_window<left = {self.left}, right = {self.right}, "
                f"align = {self.align}>")


@dataclass(frozen=True)
class PrefixLM:
    """keep j < prefix or causal."""
    prefix: int
    align: str = "top_left"

    def attr(self):
        return f"#attn.prefix_lm<prefix = {self.prefix}, align = {self.align}>"


@dataclass(frozen=True)
class Chunked:
    """keep floor(pos / size) == floor(j / size)."""
    size: int
    align: str = "top_left"

    def attr(self):
        return f"#attn.chunked<size = {self.size}, align = {self.align}>"


@dataclass(frozen=True)
class Document:
    """keep doc_ids_q[i] == doc_ids_kv[j]."""

    def attr(self):
        return "#attn.document"


@dataclass(frozen=True)
class CustomMask:
    """keep custom_mask[b, h, i, j] (bool, or FlashInfer bit-packed)."""
    packed: bool = False

    def attr(self):
        return "#attn.custom_mask"


@dataclass(frozen=True)
class MaskMod:
    """keep = the spec's mask_mod region."""

    def attr(self):
        return "#attn.mask_mod"


@dataclass(frozen=True)
class Or:
    """keep when any member keeps."""
    members: Tuple[object, ...]

    def attr(self):
        return "#attn.or<[" + ", ".join(m.attr() for m in self.members) + "]>"


# ------------------------------------------------------------ score mods ---
@dataclass(frozen=True)
class Softcap:
    """s' = cap * tanh(s / cap)."""
    cap: float

    def attr(self):
        return f"#attn.softcap<{mlir_float(self.cap)}>"


@dataclass(frozen=True)
class Rope:
    """Rotary position embedding of q and k (LLaMA's rotate-half; FlashInfer's
    ROPE_LLAMA): pair (d, d + D/2) of a vector at position p turns by
    p * theta^(-2d/D) / scale; key j sits at j, query i at i (top_left) or
    i + Sk - Sq (bottom_right)."""
    theta: float = 1e4
    scale: float = 1.0
    align: str = "bottom_right"

    def __post_init__(self):
        _check_align(self.align)
        for name in ("theta", "scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value) or value <= 0:
                raise ValueError(f"rope {name} must be a finite number > 0, got {value!r}")

    def attr(self):
        return (f"#attn.rope<theta = {mlir_float(self.theta)}, "
                f"scale = {mlir_float(self.scale)}, align = {self.align}>")


@dataclass(frozen=True)
class Alibi:
    """s' = s - slope[b, h] * |i + Sk - Sq - j|."""
    per_batch: bool = False

    def attr(self):
        return "#attn.alibi"


@dataclass(frozen=True)
class Bias:
    """s' = s + bias[b, h, i, j]."""

    def attr(self):
        return "#attn.bias"


@dataclass(frozen=True)
class ScoreMod:
    """s' = the spec's score_mod region."""

    def attr(self):
        return "#attn.score_mod"


def _atoms(masks):
    for m in masks:
        if isinstance(m, Or):
            yield from _atoms(m.members)
        else:
            yield m


def mlir_float(x):
    """x as a decimal MLIR's float literal ([-+]?[0-9]+[.][0-9]*([eE][-+]?[0-9]+)?)
    parses back to the same double: Python's repr is the shortest round-trip
    form but writes 1e-05 and 1e+16, which MLIR reads as an integer, so the
    '.0' is added. Non-finite values have no decimal form: ValueError."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{x} is not a finite number")
    mantissa, e, exponent = repr(x).partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + (f"e{exponent}" if e else "")


def mlir_f32_constant(x):
    """The literal of an `arith.constant ... : f32` holding float32(x):
    the decimal form when float32(x) is finite, else its bit pattern (MLIR's
    hexadecimal float form), so inf, -inf, NaN and overflow stay exact."""
    try:
        x32 = struct.unpack("<f", struct.pack("<f", float(x)))[0]
    except OverflowError:  # finite double beyond float32: rounds to +-inf
        x32 = math.copysign(math.inf, x)
    if math.isfinite(x32):
        return mlir_float(x32)
    return "0x%08X" % struct.unpack("<I", struct.pack("<f", x32))[0]


@dataclass(frozen=True)
class AttentionSpec:
    """What one compiled kernel is specialized for."""
    dtype: str = "f16"
    heads_q: int = 1
    heads_kv: int = 1
    head_dim: int = 64
    head_dim_v: Optional[int] = None
    layout: str = "bshd"
    # A static query length (decode: one or a few query tokens); None: any.
    seq_q: Optional[int] = None
    varlen: bool = False
    seqused: bool = False  # seqused_q/k operands (varlen or dense)
    seqused_k: bool = False  # the seqused_k operand alone (a KV cache's fill)
    masks: Tuple[object, ...] = ()
    score_mods: Tuple[object, ...] = ()
    scale: Optional[float] = None
    sinks: bool = False
    block_sparse: Optional[Tuple[int, int]] = None  # (q_block, kv_block)
    full_blocks: bool = False
    sparse_softmax: Optional[Tuple[Optional[float], int]] = None  # (threshold, kv_block)
    gate: Optional[Tuple[str, Optional[float], bool]] = None  # (kind, threshold, adaptive)
    # A paged KV cache: (page_size, "nhd" | "hnd"); k/v are page pools.
    paged_kv: Optional[Tuple[int, str]] = None
    rope: Optional[Rope] = None  # q and k rotated by position
    # An fp8 KV cache: k/v element type "f8E4M3FN" (q f16/bf16), and whether
    # the k_scale / v_scale operands ([1] f32) dequantize it.
    kv_dtype: Optional[str] = None
    kv_scales: bool = False
    lse: bool = False
    mask_mod: Optional[str] = None   # region body over %b %h %i %j : index
    score_mod: Optional[str] = None  # region body over %s : f32, %b %h %i %j
    captures: Tuple[Tuple[str, str], ...] = ()  # (name, tensor type)

    def __post_init__(self):
        if self.dtype not in ELEMENT_TYPES:
            raise ValueError(f"dtype must be one of {ELEMENT_TYPES}, got {self.dtype!r}")
        if self.layout not in ("bshd", "bhsd"):
            raise ValueError(f"layout must be 'bshd' or 'bhsd', got {self.layout!r}")
        if self.heads_kv <= 0 or self.heads_q % self.heads_kv:
            raise ValueError(f"heads_q ({self.heads_q}) must be a multiple of "
                             f"heads_kv ({self.heads_kv})")
        if self.paged_kv is not None:
            size, layout = self.paged_kv
            if not isinstance(size, int) or size <= 0 or layout not in ("nhd", "hnd"):
                raise ValueError("paged_kv must be (page_size > 0, 'nhd' or 'hnd'), "
                                 f"got {self.paged_kv!r}")
        if self.kv_dtype not in (None, "f8E4M3FN"):
            raise ValueError(f"kv_dtype must be None or 'f8E4M3FN', got {self.kv_dtype!r}")
        if self.kv_dtype is not None and self.dtype not in ("f16", "bf16"):
            raise ValueError(f"an f8E4M3FN KV cache needs f16 or bf16 q, got {self.dtype!r}")
        if self.kv_scales and self.kv_dtype is None:
            raise ValueError("kv_scales (k_scale / v_scale) dequantize an fp8 KV cache: "
                             "set kv_dtype='f8E4M3FN'")
        if self.seq_q is not None and (self.varlen or not isinstance(self.seq_q, int)
                                       or self.seq_q <= 0):
            raise ValueError("seq_q must be a positive int and needs batched "
                             f"(not varlen) queries, got {self.seq_q!r}")

    @property
    def dv(self):
        return self.head_dim_v if self.head_dim_v is not None else self.head_dim

    # ----------------------------------------------------------- operands ---
    def operand_types(self):
        """[(name, tensor type)] of the named operands, in the op's order."""
        hq, hkv = self.heads_q, self.heads_kv
        atoms = list(_atoms(self.masks))
        ops = []
        if self.varlen:
            ops.append(("cu_seqlens_q", "tensor<?xi32>"))
            if not self.paged_kv:  # the page table places the keys
                ops.append(("cu_seqlens_k", "tensor<?xi32>"))
        if self.seqused:
            ops += [("seqused_q", "tensor<?xi32>"), ("seqused_k", "tensor<?xi32>")]
        elif self.seqused_k:
            ops.append(("seqused_k", "tensor<?xi32>"))
        if any(isinstance(a, Document) for a in atoms):
            t = "tensor<?xi32>" if self.varlen else "tensor<?x?xi32>"
            ops += [("doc_ids_q", t), ("doc_ids_kv", t)]
        custom = [a for a in atoms if isinstance(a, CustomMask)]
        if custom:
            et = "i8" if custom[0].packed else "i1"
            ops.append(("custom_mask", f"tensor<?x{et}>" if self.varlen
                        else f"tensor<?x?x?x?x{et}>"))
        for mod in self.score_mods:
            if isinstance(mod, Alibi):
                ops.append(("alibi_slopes", f"tensor<?x{hq}xf32>" if mod.per_batch
                            else f"tensor<{hq}xf32>"))
        if any(isinstance(m, Bias) for m in self.score_mods):
            ops.append(("bias", "tensor<?x?x?x?xf32>"))
        if self.block_sparse:
            ops += [("kv_num_blocks", "tensor<?x?x?xi32>"),
                    ("kv_indices", "tensor<?x?x?x?xi32>")]
            if self.full_blocks:
                ops += [("full_kv_num_blocks", "tensor<?x?x?xi32>"),
                        ("full_kv_indices", "tensor<?x?x?x?xi32>")]
        if self.sinks:
            ops.append(("sinks", f"tensor<{hq}xf32>"))
        if self.gate:
            if self.varlen:
                ops += [("gate_alpha", f"tensor<{hq}x?xf32>"),
                        ("gate_delta", f"tensor<{hkv}x?xf32>")]
            else:
                ops += [("gate_alpha", f"tensor<?x{hq}x?xf32>"),
                        ("gate_delta", f"tensor<?x{hkv}x?xf32>")]
        if self.paged_kv:
            ops += [("kv_page_indptr", "tensor<?xi32>"), ("kv_page_indices", "tensor<?xi32>"),
                    ("kv_last_page_len", "tensor<?xi32>")]
        if self.kv_scales:
            ops += [("k_scale", "tensor<1xf32>"), ("v_scale", "tensor<1xf32>")]
        return ops

    def argument_names(self):
        """Names of the function's arguments, in order (kernel ABI)."""
        return (["q", "k", "v"] + [n for n, _ in self.operand_types()]
                + [n for n, _ in self.captures])

    def _qkv_type(self, heads, dim, query=False):
        et = self.dtype if query or self.kv_dtype is None else self.kv_dtype
        if self.paged_kv and not query:
            size, layout = self.paged_kv
            return (f"tensor<?x{size}x{heads}x{dim}x{et}>" if layout == "nhd"
                    else f"tensor<?x{heads}x{size}x{dim}x{et}>")
        if self.varlen:
            return f"tensor<?x{heads}x{dim}x{et}>"
        seq = self.seq_q if query and self.seq_q is not None else "?"
        if self.layout == "bshd":
            return f"tensor<?x{seq}x{heads}x{dim}x{et}>"
        return f"tensor<?x{heads}x{seq}x{dim}x{et}>"

    def result_types(self):
        types = [self._qkv_type(self.heads_q, self.dv, query=True)]
        if self.lse:
            seq = self.seq_q if self.seq_q is not None else "?"
            types.append(f"tensor<{self.heads_q}x?xf32>" if self.varlen
                         else f"tensor<?x{self.heads_q}x{seq}xf32>")
        return types

    # ---------------------------------------------------------------- IR ---
    def _attributes(self):
        attrs = []
        if self.layout != "bshd":
            attrs.append(f"layout = #attn<layout {self.layout}>")
        if self.scale is not None:
            attrs.append(f"scale = {mlir_float(self.scale)} : f32")
        if self.masks:
            attrs.append(_masks_attr(self.masks))
        if self.score_mods:
            attrs.append("score_mods = [" + ", ".join(m.attr() for m in self.score_mods) + "]")
        if self.block_sparse:
            qb, kb = self.block_sparse
            attrs.append(f"block_sparse = #attn.block_sparse<q_block = {qb}, kv_block = {kb}>")
        if self.sparse_softmax:
            threshold, kb = self.sparse_softmax
            params = [f"kv_block = {kb}"]
            if threshold is not None:
                params.insert(0, f"threshold = {mlir_float(threshold)}")
            attrs.append("sparse_softmax = #attn.sparse_softmax<" + ", ".join(params) + ">")
        if self.paged_kv:
            size, layout = self.paged_kv
            attrs.append(f"paged_kv = #attn.paged_kv<page_size = {size}"
                         + (", layout = hnd" if layout == "hnd" else "") + ">")
        if self.rope is not None:
            attrs.append(f"rope = {self.rope.attr()}")
        if self.gate:
            kind, threshold, adaptive = self.gate
            params = [f"kind = {kind}"]
            if threshold is not None:
                params.append(f"threshold = {mlir_float(threshold)}")
            if adaptive:
                params.append("adaptive = true")
            attrs.append("gate = #attn.gate<" + ", ".join(params) + ">")
        return "{" + ", ".join(attrs) + "}" if attrs else ""

    def to_mlir(self, name="attention"):
        q_t = self._qkv_type(self.heads_q, self.head_dim, query=True)
        k_t = self._qkv_type(self.heads_kv, self.head_dim)
        v_t = self._qkv_type(self.heads_kv, self.dv)
        operands = self.operand_types()
        args = [f"%q: {q_t}", f"%k: {k_t}", f"%v: {v_t}"]
        args += [f"%{n}: {t}" for n, t in operands]
        args += [f"%{n}: {t}" for n, t in self.captures]
        results = self.result_types()
        named = " ".join(f"{n}(%{n} : {t})" for n, t in operands)
        res_names = ["%out", "%lse"][:len(results)]
        lines = [f"func.func @{name}({', '.join(args)}) -> ({', '.join(results)}) {{",
                 f"  {', '.join(res_names)} = attn.attention %q, %k, %v {named} "
                 f"{self._attributes()} : {q_t}, {k_t}, {v_t} -> {', '.join(results)}"]
        if self.mask_mod is not None:
            lines.append(_mask_mod_region(self.mask_mod))
        if self.score_mod is not None:
            lines.append("  score_mod {\n  ^bb0(%s: f32, %b: index, %h: index, %i: index, "
                         "%j: index):\n" + _indent(self.score_mod) + "\n  }")
        lines.append(f"  return {', '.join(res_names)} : {', '.join(results)}")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def summary(self):
        """A short human description (for error messages)."""
        parts = [f"{self.dtype}", f"heads {self.heads_q}/{self.heads_kv}",
                 f"head_dim {self.head_dim}" + (f"/{self.dv}" if self.dv != self.head_dim else ""),
                 self.layout if not self.varlen else "varlen"]
        parts += [m.attr() for m in self.masks] + [m.attr() for m in self.score_mods]
        if self.rope is not None:
            parts.append(self.rope.attr())
        if self.kv_dtype is not None:
            parts.append(f"{self.kv_dtype} k/v" + (" with scales" if self.kv_scales else ""))
        if self.block_sparse:
            parts.append(f"block_sparse {self.block_sparse}")
        if self.lse:
            parts.append("lse")
        return ", ".join(parts)

    def key(self):
        """A stable name for the specialization (the kernel cache key)."""
        return hashlib.sha256(self.to_mlir("k").encode()).hexdigest()[:20]


def masks_array(masks):
    """The array attribute of mask atoms, e.g. "[#attn.causal<top_left>]"."""
    return "[" + ", ".join(m.attr() for m in masks) + "]"


def _masks_attr(masks):
    return "masks = " + masks_array(masks)


def _mask_mod_region(body):
    """The mask_mod region of an op: the traced body over (b, h, i, j)."""
    return ("  mask_mod {\n  ^bb0(%b: index, %h: index, %i: index, %j: index):\n"
            + _indent(body) + "\n  }")


def _indent(body):
    return "\n".join("    " + line.strip() for line in body.strip().splitlines())


@dataclass(frozen=True)
class BlockMaskSpec:
    """An attn.block_mask kernel: FlexAttention's block lists of a traced
    mask_mod (and closed-form atoms) at q_block x kv_block, for any lengths,
    batch and heads (the lists' B / H are 1 where the mask ignores them)."""
    q_block: int
    kv_block: int
    masks: Tuple[object, ...] = ()
    mask_mod: Optional[str] = None   # region body over %b %h %i %j : index
    captures: Tuple[Tuple[str, str], ...] = ()  # (name, tensor type)

    def argument_names(self):
        """Names of the function's arguments, in order (kernel ABI)."""
        return ["q_len", "kv_len"] + [n for n, _ in self.captures]

    def to_mlir(self, name="block_mask"):
        lists = ["tensor<?x?x?xi32>", "tensor<?x?x?x?xi32>"] * 2
        args = ["%q_len: index", "%kv_len: index"]
        args += [f"%{n}: {t}" for n, t in self.captures]
        attrs = [f"blocks = #attn.block_sparse<q_block = {self.q_block}, "
                 f"kv_block = {self.kv_block}>"]
        if self.masks:
            attrs.append(_masks_attr(self.masks))
        results = ", ".join(lists)
        lines = [f"func.func @{name}({', '.join(args)}) -> ({results}) {{",
                 f"  %num, %idx, %fnum, %fidx = attn.block_mask %q_len, %kv_len "
                 f"{{{', '.join(attrs)}}} : {results}"]
        if self.mask_mod is not None:
            lines.append(_mask_mod_region(self.mask_mod))
        lines.append(f"  return %num, %idx, %fnum, %fidx : {results}")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def summary(self):
        return (f"block mask {self.q_block}x{self.kv_block} of "
                + ", ".join(m.attr() for m in self.masks))

    def key(self):
        return "bm-" + hashlib.sha256(self.to_mlir("k").encode()).hexdigest()[:17]
