"""Attention by definition, in float64 numpy: the oracle of the tests.

``spec_reference(spec, args)`` evaluates an :class:`~attn._ir.AttentionSpec`
on named numpy arrays (the kernel's arguments), following the op's
definition in docs (AttnOps.td): masks and score mods per element, GQA,
varlen with seqused, block-sparse lists, sinks; a row with no kept key gives
out 0 and lse -inf. Python callables stand in for mask_mod / score_mod
regions: ``mask_mod(b, h, i, j)`` and ``score_mod(s, b, h, i, j)`` on
broadcast integer arrays.
"""
from __future__ import annotations

import math

import numpy as np

from ._ir import (Alibi, Bias, Causal, Chunked, CustomMask, Document, MaskMod,
                  Or, PrefixLM, ScoreMod, SlidingWindow, Softcap)


def _offset(align, sq, sk):
    return sk - sq if align == "bottom_right" else 0


def _keep(mask, ctx):
    i, j, sq, sk = ctx["i"], ctx["j"], ctx["sq"], ctx["sk"]
    if isinstance(mask, Causal):
        return j <= i + _offset(mask.align, sq, sk)
    if isinstance(mask, SlidingWindow):
        pos = i + _offset(mask.align, sq, sk)
        keep = np.ones(np.broadcast(i, j).shape, bool)
        if mask.left >= 0:
            keep &= j >= pos - mask.left
        if mask.right >= 0:
            keep &= j <= pos + mask.right
        return keep
    if isinstance(mask, PrefixLM):
        return (j < mask.prefix) | (j <= i + _offset(mask.align, sq, sk))
    if isinstance(mask, Chunked):
        pos = i + _offset(mask.align, sq, sk)
        return np.floor_divide(pos, mask.size) == np.floor_divide(j, mask.size)
    if isinstance(mask, Document):
        return ctx["doc_q"][:, None] == ctx["doc_k"][None, :]
    if isinstance(mask, CustomMask):
        return ctx["custom"]
    if isinstance(mask, MaskMod):
        return np.broadcast_to(ctx["mask_mod"](ctx["b"], ctx["h"], i, j), (sq, sk))
    if isinstance(mask, Or):
        keep = np.zeros((sq, sk), bool)
        for m in mask.members:
            keep |= _keep(m, ctx)
        return keep
    raise TypeError(f"unknown mask {mask!r}")


def _unpack_bits(packed, sk):
    bits = np.unpackbits(packed.astype(np.uint8), axis=-1, bitorder="little")
    return bits[..., :sk].astype(bool)


def _unpage(spec, args):
    """A paged-cache problem as the same problem on contiguous K/V: dense
    [B, L, Hkv, D] (or bhsd) padded to the longest sequence with seqused_k,
    or packed [sum L, Hkv, D] with cu_seqlens_k for ragged queries."""
    import dataclasses
    size, layout = spec.paged_kv
    indptr = np.asarray(args["kv_page_indptr"]).astype(np.int64)
    indices = np.asarray(args["kv_page_indices"]).astype(np.int64)
    last = np.asarray(args["kv_last_page_len"]).astype(np.int64)
    pools = []
    for name in ("k", "v"):
        pool = np.asarray(args[name])
        pools.append(pool if layout == "nhd" else pool.swapaxes(1, 2))  # [P, ps, H, D]
    seqs = [[], []]
    for b in range(len(indptr) - 1):
        pages = indices[indptr[b]:indptr[b + 1]]
        n = len(pages) * size - (size - last[b]) if len(pages) else 0
        for out, pool in zip(seqs, pools):
            rows = pool[pages].reshape((-1,) + pool.shape[2:]) if len(pages) else \
                np.zeros((0,) + pool.shape[2:], pool.dtype)
            out.append(rows[:n])
    args = dict(args)
    for name in ("kv_page_indptr", "kv_page_indices", "kv_last_page_len"):
        del args[name]
    lengths = [len(x) for x in seqs[0]]
    if spec.varlen:
        args["k"], args["v"] = (np.concatenate(x) for x in seqs)
        args["cu_seqlens_k"] = np.cumsum([0] + lengths).astype(np.int64)
        return dataclasses.replace(spec, paged_kv=None), args
    longest = max(lengths + [1])
    for name, rows in zip(("k", "v"), seqs):
        dense = np.zeros((len(rows), longest) + rows[0].shape[1:] if rows else (0,))
        for b, x in enumerate(rows):
            dense[b, :len(x)] = x
        args[name] = dense if spec.layout == "bshd" else dense.swapaxes(1, 2)
    args["seqused_k"] = np.asarray(lengths, np.int64)
    return dataclasses.replace(spec, paged_kv=None, seqused_k=True), args


def rotate(x, positions, rope):
    """Rows of `x` ([n, D], float64) rotated by RoPE to `positions` ([n]):
    pair (d, d + D/2) turns by position * theta^(-2d/D) / scale."""
    half = x.shape[-1] // 2
    freq = rope.theta ** (-2.0 * np.arange(half) / x.shape[-1]) / rope.scale
    angle = np.asarray(positions, np.float64)[:, None] * freq[None, :]
    c, s = np.cos(angle), np.sin(angle)
    lo, hi = x[:, :half], x[:, half:]
    return np.concatenate([lo * c - hi * s, hi * c + lo * s], axis=1)


def spec_reference(spec, args, mask_mod=None, score_mod=None):
    """(out, lse) of `spec` on the named numpy arrays `args`, in float64."""
    if spec.paged_kv:
        spec, args = _unpage(spec, args)
    q, k, v = (np.asarray(args[n], dtype=np.float64) for n in ("q", "k", "v"))
    if spec.kv_scales:  # an fp8 cache: dequantized values
        k = k * float(np.asarray(args["k_scale"]).reshape(-1)[0])
        v = v * float(np.asarray(args["v_scale"]).reshape(-1)[0])
    group = spec.heads_q // spec.heads_kv
    scale = spec.scale if spec.scale is not None else 1.0 / math.sqrt(spec.head_dim)
    out = np.zeros(q.shape[:-1] + (spec.dv,))

    if spec.varlen:
        cu_q = np.asarray(args["cu_seqlens_q"]).astype(np.int64)
        cu_k = np.asarray(args["cu_seqlens_k"]).astype(np.int64)
        batch = len(cu_q) - 1
        lse = np.full((spec.heads_q, q.shape[0]), -np.inf)
    else:
        batch = q.shape[0]
        sdim = 1 if spec.layout == "bshd" else 2
        lse = np.full((batch, spec.heads_q, q.shape[sdim]), -np.inf)

    mask_base = 0  # varlen custom mask: where sequence b's matrix starts
    for b in range(batch):
        varlen_custom = None
        if spec.varlen:
            q0, k0 = cu_q[b], cu_k[b]
            lq, lk = cu_q[b + 1] - q0, cu_k[b + 1] - k0
            sq, sk = lq, lk
            if "custom_mask" in args:
                # The sequences' [lq, lk] matrices one after another (packed:
                # bits, each matrix from a fresh byte).
                flat = np.asarray(args["custom_mask"])
                cells = int(lq * lk)
                if flat.dtype == bool:
                    varlen_custom = flat[mask_base:mask_base + cells]
                    mask_base += cells
                else:
                    nbytes = -(-cells // 8)
                    varlen_custom = _unpack_bits(flat[mask_base:mask_base + nbytes],
                                                 cells)
                    mask_base += nbytes
                varlen_custom = varlen_custom.reshape(lq, lk)
            if "seqused_q" in args:
                sq = min(int(args["seqused_q"][b]), lq)
            if "seqused_k" in args:
                sk = min(int(args["seqused_k"][b]), lk)
        else:
            sq, sk = q.shape[sdim], k.shape[sdim]
            if "seqused_q" in args:
                sq = max(0, min(int(args["seqused_q"][b]), sq))
            if "seqused_k" in args:
                sk = max(0, min(int(args["seqused_k"][b]), sk))
        i = np.arange(sq)[:, None]
        j = np.arange(sk)[None, :]
        for h in range(spec.heads_q):
            hk = h // group
            if spec.varlen:
                qb, kb, vb = q[q0:q0 + sq, h], k[k0:k0 + sk, hk], v[k0:k0 + sk, hk]
            elif spec.layout == "bshd":
                qb, kb, vb = q[b, :sq, h], k[b, :sk, hk], v[b, :sk, hk]
            else:
                qb, kb, vb = q[b, h, :sq], k[b, hk, :sk], v[b, hk, :sk]
            if spec.rope is not None:
                qb = rotate(qb, np.arange(sq) + (sk - sq if spec.rope.align == "bottom_right"
                                                 else 0), spec.rope)
                kb = rotate(kb, np.arange(sk), spec.rope)
            s = scale * (qb @ kb.T)
            ctx = {"i": i, "j": j, "sq": sq, "sk": sk, "b": b, "h": h,
                   "mask_mod": mask_mod}
            if "doc_ids_q" in args:
                dq, dk = np.asarray(args["doc_ids_q"]), np.asarray(args["doc_ids_kv"])
                ctx["doc_q"] = dq[q0:q0 + sq] if spec.varlen else dq[b, :sq]
                ctx["doc_k"] = dk[k0:k0 + sk] if spec.varlen else dk[b, :sk]
            if varlen_custom is not None:
                ctx["custom"] = varlen_custom[:sq, :sk]
            if "custom_mask" in args and not spec.varlen:
                cm = np.asarray(args["custom_mask"])
                cm = cm[0 if cm.shape[0] == 1 else b, 0 if cm.shape[1] == 1 else h]
                ctx["custom"] = (_unpack_bits(cm, sk) if cm.dtype != bool else cm)[:sq, :sk]
            for mod in spec.score_mods:
                if isinstance(mod, Softcap):
                    s = mod.cap * np.tanh(s / mod.cap)
                elif isinstance(mod, Alibi):
                    sl = np.asarray(args["alibi_slopes"], dtype=np.float64)
                    slope = sl[b, h] if sl.ndim == 2 else sl[h]
                    s = s - slope * np.abs(i + sk - sq - j)
                elif isinstance(mod, Bias):
                    bias = np.asarray(args["bias"], dtype=np.float64)
                    bias = bias[0 if bias.shape[0] == 1 else b, 0 if bias.shape[1] == 1 else h]
                    s = s + bias[:sq, :sk]
                elif isinstance(mod, ScoreMod):
                    s = np.broadcast_to(score_mod(s, b, h, i, j), s.shape).astype(np.float64)
            keep = np.ones((sq, sk), bool)
            if spec.gate:
                kind, threshold, adaptive = spec.gate
                alpha = np.asarray(args["gate_alpha"], np.float64)
                delta = np.asarray(args["gate_delta"], np.float64)
                if spec.varlen:
                    a, dl = alpha[h, q0:q0 + sq], delta[hk, k0:k0 + sk]
                else:
                    a, dl = alpha[b, h, :sq], delta[b, hk, :sk]
                g = a[:, None] + dl[None, :]
                if kind == "logsigmoid":
                    g = -np.logaddexp(0.0, -g)
                s = s + g
                if threshold is not None:
                    tau = threshold - math.log(sk) if adaptive else threshold
                    keep &= g >= tau
            for m in spec.masks:
                keep &= _keep(m, ctx)
            if spec.block_sparse:
                # Masks apply in the partial blocks; full blocks keep all.
                partial, full = _listed_blocks(spec, args, b, h, sq, sk)
                keep = (keep & partial) | full
            s = np.where(keep, s, -np.inf)
            if spec.sparse_softmax:
                # Blocks of kv_block keys in order; a block whose largest
                # weight exp(max s - m') is below the threshold is skipped.
                threshold, kvb = spec.sparse_softmax
                if threshold is None:
                    threshold = spec.head_dim / sk
                keep = keep.copy()
                m_run = np.full(sq, -np.finfo(np.float32).max, np.float64)
                for c0 in range(0, sk, kvb):
                    blk = s[:, c0:c0 + kvb]
                    bmax = np.max(np.where(keep[:, c0:c0 + kvb], blk, -np.inf), axis=1,
                                  initial=-np.finfo(np.float32).max)
                    m_new = np.maximum(m_run, bmax)
                    apply = np.exp(bmax - m_new) >= threshold
                    keep[~apply, c0:c0 + kvb] = False
                    m_run = np.where(apply, m_new, m_run)
                s = np.where(keep, s, -np.inf)
            m = s.max(axis=1, initial=-np.inf)
            if spec.sinks:
                m = np.maximum(m, float(args["sinks"][h]))
            safe_m = np.where(np.isfinite(m), m, 0.0)
            p = np.where(keep, np.exp(s - safe_m[:, None]), 0.0)
            l = p.sum(axis=1)
            if spec.sinks:
                l = l + np.exp(float(args["sinks"][h]) - safe_m)
            o = np.where(l[:, None] > 0, (p @ vb) / np.where(l > 0, l, 1)[:, None], 0.0)
            row_lse = np.where(l > 0, safe_m + np.log(np.where(l > 0, l, 1)), -np.inf)
            if spec.varlen:
                out[q0:q0 + sq, h] = o
                lse[h, q0:q0 + sq] = row_lse
            elif spec.layout == "bshd":
                out[b, :sq, h] = o
                lse[b, h, :sq] = row_lse
            else:
                out[b, h, :sq] = o
                lse[b, h, :sq] = row_lse
    return out, lse


def _listed_blocks(spec, args, b, h, sq, sk):
    """(partial, full): the pairs inside listed partial / full blocks."""
    qb, kb = spec.block_sparse
    result = []
    for num_name, idx_name in (("kv_num_blocks", "kv_indices"),
                               ("full_kv_num_blocks", "full_kv_indices")):
        keep = np.zeros((sq, sk), bool)
        result.append(keep)
        if num_name not in args:
            continue
        num, idx = np.asarray(args[num_name]), np.asarray(args[idx_name])
        nb = num[0 if num.shape[0] == 1 else b, 0 if num.shape[1] == 1 else h]
        ib = idx[0 if idx.shape[0] == 1 else b, 0 if idx.shape[1] == 1 else h]
        for m in range((sq + qb - 1) // qb):
            for n in ib[m, :max(0, min(int(nb[m]), ib.shape[1]))]:
                keep[m * qb:(m + 1) * qb, int(n) * kb:(int(n) + 1) * kb] = True
    return tuple(result)
