"""The mask DSL: block masks that carry the exact token-level mask.

``create_block_mask`` takes either a pattern name (the DIY FlashAttention
API: "causal", "full", "sliding_window", "prefix_lm") or, FlexAttention
style, a ``mask_mod(b, h, q_idx, kv_idx)`` function. The BlockMask keeps the
exact mask (our mask attributes, or the traced mask_mod) for the compiler,
and the block-level ``mask_matrix`` for inspection and
``apply_to_scores``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from ._block_lists import gpu_block_lists, prebuild_block_mask, some_blocks
from ._ir import Causal, Chunked, Or, PrefixLM, SlidingWindow
from ._tracer import bounds_safe, captures_device_tensor

MASK_ATOMS = (Causal, SlidingWindow, PrefixLM, Chunked, Or)

PATTERNS = ("causal", "full", "sliding_window", "prefix_lm")


@dataclass
class BlockMask:
    """Block-level view of an attention mask, plus the exact mask.

    mask_matrix: bool [n_query_blocks, n_key_blocks] (numpy): blocks holding
    at least one kept pair. masks: our mask atoms (AND-ed); mask_mod: a
    Python mask_mod traced into the kernel (AND-ed too)."""
    mask_matrix: object
    query_block_size: int
    key_block_size: int
    mask_type: str
    masks: Tuple[object, ...] = ()
    mask_mod: Optional[Callable] = None
    query_len: int = 0
    key_len: int = 0
    # True when create_block_mask derived mask_matrix from the exact mask
    # (which then implies it); a hand-built matrix is honoured as given.
    derived: bool = field(default=False, repr=False, compare=False)
    # For a mask_mod: FlexAttention's block lists (kv_num_blocks,
    # kv_indices, full_kv_num_blocks, full_kv_indices), [B|1, H|1, ...].
    kv_lists: Optional[dict] = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        import operator
        for name in ("query_block_size", "key_block_size", "query_len", "key_len"):
            x = getattr(self, name)
            try:
                if isinstance(x, bool):
                    raise TypeError
                x = operator.index(x)
            except TypeError:
                raise TypeError(f"BlockMask {name} must be an int, got "
                                f"{type(x).__name__}") from None
            low = 1 if name.endswith("block_size") else 0
            if x < low:
                raise ValueError(f"BlockMask {name} must be >= {low}, got {x}")
            setattr(self, name, x)
        if not isinstance(self.masks, tuple):
            raise TypeError(f"BlockMask masks must be a tuple of mask atoms, got "
                            f"{type(self.masks).__name__}")
        for m in self.masks:
            if not isinstance(m, MASK_ATOMS):
                raise TypeError(f"BlockMask masks holds {m!r}; expected attn mask atoms "
                                f"({', '.join(t.__name__ for t in MASK_ATOMS)})")
        if self.mask_mod is not None and not callable(self.mask_mod):
            raise TypeError(f"BlockMask mask_mod must be callable, got "
                            f"{type(self.mask_mod).__name__}")
        import numpy as np
        matrix = self.mask_matrix
        if type(matrix).__module__.split(".")[0] == "torch":
            matrix = matrix.detach().cpu().numpy()
        matrix = np.asarray(matrix)
        want = (-(-self.query_len // self.query_block_size),
                -(-self.key_len // self.key_block_size))
        if matrix.dtype != bool or matrix.shape != want:
            raise ValueError(f"BlockMask mask_matrix must be a bool array of shape {want} "
                             f"(blocks of {self.query_block_size} x {self.key_block_size} "
                             f"over {self.query_len} x {self.key_len}), got "
                             f"{matrix.dtype} {matrix.shape}")
        self.mask_matrix = matrix

    def block_lists(self):
        """The block lists a kernel runs this mask with (FlexAttention's
        kv_num_blocks / kv_indices, and full_kv_* where blocks are known to
        be full), or None where the exact mask alone decides (analytic masks,
        or a hand-built matrix that keeps every block)."""
        if self.kv_lists is not None:
            return self.kv_lists
        if self.derived or self.mask_matrix.all():
            return None
        # A hand-built matrix: its False blocks are skipped; its True blocks
        # still apply the exact mask.
        matrix = self.mask_matrix[None, None]
        return {"kv_num_blocks": _count(matrix), "kv_indices": _order(matrix)}

    @property
    def shape(self):
        return tuple(self.mask_matrix.shape)

    def token_mask(self):
        """bool [query_len, key_len] (numpy) of kept pairs."""
        import numpy as np
        from .reference import _keep
        i = np.arange(self.query_len)[:, None]
        j = np.arange(self.key_len)[None, :]
        ctx = {"i": i, "j": j, "sq": self.query_len, "sk": self.key_len}
        keep = np.ones((self.query_len, self.key_len), bool)
        for m in self.masks:
            keep &= _keep(m, ctx)
        if self.mask_mod is not None:
            keep &= np.broadcast_to(np.asarray(self.mask_mod(0, 0, i, j), bool), keep.shape)
        return keep

    def apply_to_scores(self, scores, score_mod=None):
        """scores [..., query_len, key_len] with masked pairs set to -inf
        (after score_mod(score, b, h, q_idx, kv_idx) if given)."""
        import numpy as np
        keep = self.token_mask()
        if tuple(scores.shape[-2:]) != keep.shape:
            raise ValueError(f"scores end in {tuple(scores.shape[-2:])}, the mask is "
                             f"{keep.shape}")
        if score_mod is not None:
            i = np.arange(self.query_len)[:, None]
            j = np.arange(self.key_len)[None, :]
            scores = score_mod(scores, 0, 0, i, j)
        if type(scores).__module__.split(".")[0] == "torch":
            import torch
            return scores.masked_fill(~torch.from_numpy(keep).to(scores.device), float("-inf"))
        return np.where(keep, scores, -np.inf)


def _block_matrix(keep, qb, kb):
    import numpy as np
    sq, sk = keep.shape
    nq, nk = -(-sq // qb), -(-sk // kb)
    padded = np.zeros((nq * qb, nk * kb), bool)
    padded[:sq, :sk] = keep
    return padded.reshape(nq, qb, nk, kb).any(axis=(1, 3))


def _finish(masks, mask_mod, mask_type, query_len, key_len, qb, kb, batch=None,
            heads=None, device=None):
    import numpy as np
    everything = np.ones((-(-query_len // qb), -(-key_len // kb)), bool)
    bm = BlockMask(everything, qb, kb, mask_type, tuple(masks), mask_mod, query_len,
                   key_len, derived=True)
    if mask_mod is not None:
        bm.kv_lists = _mask_mod_blocks(bm, mask_mod, batch, heads, device)
        return bm
    # Closed-form atoms: the kernels' own tile classification, by block
    # (exact for one atom; the token mask would take S^2 host memory).
    from ._compiler import classify_blocks
    classes = classify_blocks(masks, query_len, key_len, qb, kb)
    if classes is not None:
        bm.mask_matrix = classes != 0
        return bm
    try:
        bm.mask_matrix = _block_matrix(bm.token_mask(), qb, kb)
    except Exception:  # a mask numpy cannot evaluate: every block may hold pairs
        pass
    return bm


def _mask_mod_blocks(bm, mask_mod, batch, heads, device):
    """FlexAttention's block lists of a mask_mod (with bm.masks ANDed): for
    each (b, h, query block) the key blocks holding some kept pair
    (kv_num_blocks / kv_indices: partial, the mask is applied per element)
    and those whose every pair is kept (full_kv_*: run without mask code).
    When the mask_mod reads CUDA tensors or device is CUDA: by the compiled
    attn.block_mask kernel (_block_lists.py), or, where the mask_mod does
    not trace, evaluated per block of query rows with torch on the device;
    else with numpy. [1, 1, ...] where B / H is None (the mask does not
    depend on them). A mask_mod that cannot be evaluated eagerly lists
    every block as partial."""
    from ._backend import _prebuild
    qb, kb = bm.query_block_size, bm.key_block_size
    nq, nk = -(-bm.query_len // qb), -(-bm.key_len // kb)
    nb, nh = batch or 1, heads or 1
    compile_only = getattr(_prebuild, "dir", None) is not None
    use_torch = captures_device_tensor(mask_mod) or "cuda" in str(device or "")
    try:
        if compile_only:  # attn.prebuild: the lists' values are never read
            prebuild_block_mask(mask_mod, bm.masks, qb, kb)
            raise NotImplementedError
        if use_torch:  # the compiled attn.block_mask kernel
            lists = gpu_block_lists(mask_mod, bm.masks, nb, nh, bm.query_len, bm.key_len,
                                    qb, kb, device if device is not None else "cuda")
            if lists is not None:
                bm.mask_matrix = _to_host(some_blocks(lists).any(0).any(0))
                return lists
        mask_mod = bounds_safe(mask_mod)
        if use_torch:
            import torch
            dev = torch.device(device) if device is not None else torch.device("cuda")
            xp, kv = torch, torch.arange(bm.key_len, device=dev)
            zeros = lambda *shape: torch.zeros(shape, dtype=torch.bool, device=dev)
            scalar = lambda x: torch.tensor(x, device=dev)
        else:
            import numpy as np
            xp, kv = np, np.arange(bm.key_len)
            zeros = lambda *shape: np.zeros(shape, bool)
            scalar = lambda x: x
        some, every = zeros(nb, nh, nq, nk), zeros(nb, nh, nq, nk)
        # One evaluation over every (b, h) at once (b and h broadcast along
        # the leading dimensions), in chunks of query blocks of about 2^26
        # pairs: a few device kernels per chunk rather than per block or
        # per head.
        per_chunk = max(1, (1 << 26) // max(1, nb * nh * qb * nk * kb))
        pad = nk * kb - bm.key_len
        bs, hs = xp.arange(nb), xp.arange(nh)
        if use_torch:
            bs, hs = bs.to(kv.device), hs.to(kv.device)
        bs = bs.reshape(nb, 1, 1, 1) if batch else scalar(0)
        hs = hs.reshape(1, nh, 1, 1) if heads else scalar(0)
        for m0 in range(0, nq, per_chunk):
            m1 = min(nq, m0 + per_chunk)
            rows = xp.arange(m0 * qb, min(m1 * qb, bm.query_len))
            if use_torch:
                rows = rows.to(kv.device)
            keep = mask_mod(bs, hs, rows[:, None], kv[None, :])
            keep = _broadcast_keep(xp, keep, (nb, nh, len(rows), bm.key_len), kv)
            atoms = _atoms_keep(bm, xp, rows, kv)
            if atoms is not True:
                keep = keep & atoms
            # A block is listed where it keeps some pair and is full where it
            # keeps all of them: one reduction each over its rows and keys
            # (bool throughout: a sum would widen 2^26 flags to int64 first).
            # Rows and keys padded to whole blocks count as neither.
            rpad = (m1 - m0) * qb - len(rows)
            some_src = every_src = keep
            if pad or rpad:
                if use_torch:
                    f = torch.nn.functional.pad
                    some_src = f(keep, (0, pad, 0, rpad), value=False)
                    every_src = f(keep, (0, pad, 0, rpad), value=True)
                else:
                    widths = ((0, 0), (0, 0), (0, rpad), (0, pad))
                    some_src = np.pad(keep, widths, constant_values=False)
                    every_src = np.pad(keep, widths, constant_values=True)
            shape = (nb, nh, m1 - m0, qb, nk, kb)
            some[:, :, m0:m1] = some_src.reshape(shape).any((3, 5))
            every[:, :, m0:m1] = every_src.reshape(shape).all((3, 5))
    except Exception:  # not evaluable eagerly: every block partial, none full
        import numpy as np
        some, every = np.ones((nb, nh, nq, nk), bool), np.zeros((nb, nh, nq, nk), bool)
        use_torch = False
    partial = some & ~every
    bm.mask_matrix = _to_host(some.any(0).any(0))
    return {"kv_num_blocks": _count(partial), "kv_indices": _order(partial),
            "full_kv_num_blocks": _count(every), "full_kv_indices": _order(every)}


def _broadcast_keep(xp, keep, shape, like):
    if type(keep).__module__.split(".")[0] == "torch":
        return keep.to(bool).expand(shape)
    if xp.__name__ == "torch":
        import torch
        return torch.as_tensor(keep, device=like.device).to(bool).expand(shape)
    import numpy as np
    return np.broadcast_to(np.asarray(keep, bool), shape)


def _atoms_keep(bm, xp, rows, kv):
    """The mask atoms of bm (causal, windows, ...) on these rows, or True."""
    if not bm.masks:
        return True
    import numpy as np
    from .reference import _keep
    host = lambda t: t.cpu().numpy() if hasattr(t, "cpu") else t
    ctx = {"i": host(rows)[:, None], "j": host(kv)[None, :], "sq": bm.query_len,
           "sk": bm.key_len}
    keep = np.ones((len(rows), bm.key_len), bool)
    for m in bm.masks:
        keep &= _keep(m, ctx)
    if xp.__name__ == "torch":
        import torch
        return torch.from_numpy(keep).to(kv.device)
    return keep


def _is_torch(t):
    return type(t).__module__.split(".")[0] == "torch"


def _to_host(t):
    return t.cpu().numpy() if _is_torch(t) else t


def _count(mat):
    """int32 number of True blocks per row."""
    if _is_torch(mat):
        import torch
        return mat.sum(-1).to(torch.int32)
    return mat.sum(-1).astype("int32")


def _order(mat):
    """int32 indices of the True blocks first, in order (the rest padding)."""
    if _is_torch(mat):
        import torch
        return torch.argsort((~mat).to(torch.int8), dim=-1, stable=True).to(torch.int32)
    import numpy as np
    return np.argsort(~mat, axis=-1, kind="stable").astype(np.int32)


def create_block_mask(pattern, *args, block_size: int = 128, causal: bool = False,
                      sliding_window: Optional[int] = None, prefix_len: Optional[int] = None,
                      BLOCK_SIZE: Optional[int] = None, device=None, **kwargs):
    """DIY form: create_block_mask(pattern, query_len, key_len, block_size=128,
    causal=False, sliding_window=None, prefix_len=None).
    FlexAttention form: create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN,
    device=None, BLOCK_SIZE=128), BLOCK_SIZE one size or (query, key)."""
    if kwargs:
        raise TypeError(f"create_block_mask got unexpected arguments {sorted(kwargs)}")
    if callable(pattern):
        if len(args) != 4:
            raise TypeError("create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN): expected 4 "
                            f"sizes after mask_mod, got {len(args)}")
        batch, heads, qlen, klen = args
        bs = BLOCK_SIZE or block_size
        # FlexAttention's BLOCK_SIZE: one size, or (query block, key block).
        qb, kb = bs if isinstance(bs, (tuple, list)) and len(bs) == 2 else (bs, bs)
        _check_lengths(qlen, klen, qb)
        _check_lengths(qlen, klen, kb)
        for name, x in (("B", batch), ("H", heads)):
            if x is not None and (not isinstance(x, int) or isinstance(x, bool) or x < 1):
                raise ValueError(f"{name} must be None or a positive int, got {x!r}")
        return _finish((), pattern, getattr(pattern, "__name__", "mask_mod"), qlen, klen, qb,
                       kb, batch, heads, device)
    if causal and pattern is None:
        pattern = "causal"
    if not isinstance(pattern, str) or pattern not in PATTERNS:
        raise ValueError(f"unknown mask pattern {pattern!r}; expected one of {PATTERNS} "
                         f"or a mask_mod function")
    if len(args) != 2:
        raise TypeError(f"create_block_mask('{pattern}', query_len, key_len): expected 2 "
                        f"lengths, got {len(args)}")
    qlen, klen = args
    _check_lengths(qlen, klen, block_size)
    if pattern == "causal":
        masks = (Causal(),)
    elif pattern == "full":
        masks = ()
    elif pattern == "sliding_window":
        if sliding_window is None or sliding_window < 1:
            raise ValueError("pattern 'sliding_window' needs sliding_window >= 1")
        masks = (SlidingWindow(sliding_window - 1, 0),)
    else:
        if prefix_len is None or prefix_len < 0:
            raise ValueError("pattern 'prefix_lm' needs prefix_len >= 0")
        masks = (PrefixLM(prefix_len),)
    return _finish(masks, None, pattern, qlen, klen, block_size, block_size)


def _check_lengths(qlen, klen, bs):
    for name, x in (("query_len", qlen), ("key_len", klen), ("block_size", bs)):
        if not isinstance(x, int) or isinstance(x, bool) or x <= 0:
            raise ValueError(f"{name} must be a positive int, got {x!r}")


def compose_block_masks(mask1: BlockMask, mask2: BlockMask, operation: str = "intersect"):
    """AND ("intersect") or OR ("union") of two masks of the same shape."""
    if not isinstance(mask1, BlockMask) or not isinstance(mask2, BlockMask):
        raise TypeError("compose_block_masks takes two BlockMask objects")
    if mask1.shape != mask2.shape or (mask1.query_len, mask1.key_len) != (
            mask2.query_len, mask2.key_len):
        raise ValueError(f"masks have different shapes: {mask1.shape} vs {mask2.shape}")
    if operation == "intersect":
        mods = [m for m in (mask1.mask_mod, mask2.mask_mod) if m is not None]
        if len(mods) == 2:
            f1, f2 = mods
            mod = lambda b, h, i, j: f1(b, h, i, j) & f2(b, h, i, j)
        else:
            mod = mods[0] if mods else None
        masks = mask1.masks + mask2.masks
    elif operation == "union":
        if mask1.mask_mod is not None or mask2.mask_mod is not None:
            f1 = _as_mod(mask1)
            f2 = _as_mod(mask2)
            mod, masks = (lambda b, h, i, j: f1(b, h, i, j) | f2(b, h, i, j)), ()
        elif not mask1.masks or not mask2.masks:
            mod, masks = None, ()  # one side keeps everything
        elif len(mask1.masks) == 1 and len(mask2.masks) == 1:
            mod, masks = None, (Or((mask1.masks[0], mask2.masks[0])),)
        else:
            raise ValueError("union of masks that are themselves intersections is not "
                             "supported; express it as one mask_mod")
    else:
        raise ValueError(f"unknown operation {operation!r}; expected 'intersect' or 'union'")
    return _finish(masks, mod, f"{mask1.mask_type}_{operation}_{mask2.mask_type}",
                   mask1.query_len, mask1.key_len, mask1.query_block_size,
                   mask1.key_block_size)


def _as_mod(bm):
    if bm.masks:
        raise ValueError("union of a pattern mask with a mask_mod is not supported; "
                         "write both as one mask_mod")
    return bm.mask_mod
