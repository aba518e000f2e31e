"""FlexAttention's gallery on the GPU (cases in the form of cases.py): each
entry's mask_mod / score_mod through attn.flex_attention with the block
mask made by attn.create_block_mask and, on the GPU machine, by torch's
create_block_mask (its lists as given, at its BLOCK_SIZE), against float64
torch. Sequence lengths are not multiples of 128 (ragged last blocks)."""
import numpy as np

from gpu_reference import ref_attention

B, H, S, D = 2, 4, 700, 64


def _keep_of(env, mask_mod):
    """keep(h, i, j) of a mask_mod that ignores b, for ref_attention."""
    torch = env.torch
    return lambda h, i, j: mask_mod(torch.zeros((), dtype=torch.long, device=i.device),
                                    h, i, j)


def _gallery(env, docs, slopes, win):
    attn = env.attn
    causal = lambda b, h, q, kv: kv <= q  # noqa: E731
    return {
        "sliding_window": (attn.and_masks(causal, lambda b, h, q, kv: q - kv <= 200), None),
        "prefix_lm": (attn.or_masks(causal, lambda b, h, q, kv: kv < 150), None),
        "document": (lambda b, h, q, kv: (kv <= q) & (docs[q] == docs[kv]), None),
        "window_per_head": (lambda b, h, q, kv: (kv <= q) & (q - kv < win[h]), None),
        "alibi": (causal, lambda s, b, h, q, kv: s + slopes[h] * (kv - q)),
        "softcap_document": (lambda b, h, q, kv: (kv <= q) & (docs[q] == docs[kv]),
                             lambda s, b, h, q, kv: 20.0 * attn.tanh(s / 20.0)),
    }


def _block_masks(env, mask_mod, per_head):
    """(label, block mask) pairs: ours, and on the GPU machine torch's at
    BLOCK_SIZE 128 and (128, 64) (a key block half the kernel's tile).
    Prebuild makes ours of the same block sizes (the same kernels)."""
    heads = H if per_head else None
    made = [("ours", env.attn.create_block_mask(mask_mod, None, heads, S, S))]
    for bs in (128, (128, 64)):
        if env.prebuild:
            bm = env.attn.create_block_mask(mask_mod, None, heads, S, S, BLOCK_SIZE=bs)
        else:
            from torch.nn.attention.flex_attention import create_block_mask
            bm = create_block_mask(mask_mod, None, heads, S, S, device="cuda", BLOCK_SIZE=bs)
        made.append((f"torch {bs}", bm))
    return made


def flex_gallery(env):
    """Every gallery entry with every block mask, out vs float64."""
    q, k, v = (env.randn(B, H, S, D, "bfloat16") for _ in range(3))
    if env.prebuild:
        docs, slopes, win = np.zeros(S, np.int32), np.zeros(H, np.float32), \
            np.zeros(H, np.int32)
    else:
        docs = env.doc_ids(S, 4)
        slopes = env.rand(H, "float32") * 0.2
        win = env.ints([64, 128, 300, 700])
    checks = []
    for name, (mask_mod, score_mod) in _gallery(env, docs, slopes, win).items():
        for label, bm in _block_masks(env, mask_mod, per_head=name == "window_per_head"):
            out = env.attn.flex_attention(q, k, v, score_mod=score_mod, block_mask=bm)
            if env.prebuild:
                continue
            score = None
            if score_mod is not None:
                score = lambda s, h, i, j, f=score_mod: f(s, 0, h, i, j)  # noqa: E731
            want, _ = _reference(env, q, k, v, _keep_of(env, mask_mod), score)
            checks.append((f"{name} ({label})", out, want, "out"))
    return checks


def _reference(env, q, k, v, keep, score):
    return ref_attention(env, q, k, v, keep=keep, score=score)


def flex_per_batch_documents(env):
    """Document ids per batch, a captured [B, S] table read at (b, q) and
    (b, kv): the block lists differ per batch (B given, H broadcast)."""
    q, k, v = (env.randn(B, H, S, D, "bfloat16") for _ in range(3))
    if env.prebuild:
        docs = np.zeros((B, S), np.int32)
    else:
        docs = env.torch.stack([env.doc_ids(S, 3), env.doc_ids(S, 6)])

    def same_doc(b, h, qi, kj):
        return (kj <= qi) & (docs[b, qi] == docs[b, kj])
    out = env.attn.flex_attention(q, k, v, block_mask=env.attn.create_block_mask(
        same_doc, B, None, S, S))
    if env.prebuild:
        return []
    checks = []
    for bi in range(B):
        want, _ = _reference(env, q[bi:bi + 1], k[bi:bi + 1], v[bi:bi + 1],
                             lambda h, i, j, bi=bi: (j <= i) & (docs[bi][i] == docs[bi][j]),
                             None)
        checks.append((f"batch {bi}", out[bi:bi + 1], want, "out"))
    return checks


def flex_repeated_calls_see_new_values(env):
    """A second call like the first (same shapes, block mask and score_mod:
    the cached launch) reads the new q, a captured tensor updated in place,
    and a closure rebound to another tensor."""
    q, k, v = (env.randn(1, H, S, D, "bfloat16") for _ in range(3))
    q2 = env.randn(1, H, S, D, "bfloat16")
    slopes = np.zeros(H, np.float32) if env.prebuild else env.rand(H, "float32") * 0.2
    table = slopes

    def alibi(s, b, h, qi, kj):
        return s - table[h] * (qi - kj)
    bm = env.attn.create_block_mask(lambda b, h, qi, kj: kj <= qi, None, None, S, S)
    outs = [env.attn.flex_attention(x, k, v, score_mod=alibi, block_mask=bm) for x in (q, q2)]
    if not env.prebuild:
        slopes.mul_(3.0)  # in place: the same tensor, new values
    outs.append(env.attn.flex_attention(q, k, v, score_mod=alibi, block_mask=bm))
    table = slopes * 0.0 + 0.05 if not env.prebuild else slopes  # another tensor
    outs.append(env.attn.flex_attention(q, k, v, score_mod=alibi, block_mask=bm))
    if env.prebuild:
        return []
    causal = lambda h, i, j: j <= i  # noqa: E731
    checks = []
    for label, x, out, t in (("first", q, outs[0], slopes / 3.0), ("new q", q2, outs[1],
                                                                   slopes / 3.0),
                             ("in-place capture", q, outs[2], slopes),
                             ("rebound capture", q, outs[3], table)):
        t = t.double()
        want, _ = _reference(env, x, k, v, causal,
                             lambda s, h, i, j, t=t: s - t[h] * (i - j))
        checks.append((label, out, want, "out"))
    return checks


FLEX_CASES = [flex_gallery, flex_per_batch_documents, flex_repeated_calls_see_new_values]


def _token_lists(env, mask_mod, nb, nh, sq, sk, qb, kb):
    """The four lists from the token mask (mask_mod evaluated by torch on
    every pair, reduced per block; padding counts as neither)."""
    torch = env.torch
    dev = "cuda"
    b = torch.arange(nb, device=dev).view(nb, 1, 1, 1)
    h = torch.arange(nh, device=dev).view(1, nh, 1, 1)
    i = torch.arange(sq, device=dev).view(1, 1, sq, 1)
    j = torch.arange(sk, device=dev).view(1, 1, 1, sk)
    keep = torch.as_tensor(mask_mod(b, h, i, j), device=dev).expand(nb, nh, sq, sk)
    nq, nk = -(-sq // qb), -(-sk // kb)
    pad = (0, nk * kb - sk, 0, nq * qb - sq)
    some = torch.nn.functional.pad(keep, pad, value=False)
    every = torch.nn.functional.pad(keep, pad, value=True)
    some = some.view(nb, nh, nq, qb, nk, kb).any(5).any(3)
    every = every.view(nb, nh, nq, qb, nk, kb).all(5).all(3)
    lists = {}
    for name, mat in (("kv", some & ~every), ("full_kv", every)):
        lists[f"{name}_num_blocks"] = mat.sum(-1).int()
        lists[f"{name}_indices"] = torch.argsort((~mat).to(torch.int8), dim=-1,
                                                 stable=True).int()
    return lists


def flex_block_lists_from_kernel(env):
    """create_block_mask's lists on the GPU (the compiled attn.block_mask
    kernel) against lists derived from the token mask, element for element:
    per batch and per head masks, B/H broadcast, ragged lengths, Q_LEN !=
    KV_LEN, a key block other than the query block."""
    nb, nh, sq, sk = 2, 3, 700, 1000
    if env.prebuild:
        docs, win = np.zeros((nb, sk), np.int32), np.zeros(nh, np.int32)
        short, padded = np.zeros(600, np.int32), None
    else:
        docs = env.torch.stack([env.doc_ids(sk, 3), env.doc_ids(sk, 7)])
        win = env.ints([50, 200, 1000])
        # Ids shorter than both sequences: the kernels read 0 past them.
        short = env.doc_ids(600, 4)
        padded = env.torch.cat([short, env.torch.zeros_like(short)[:400]])
    sorted_ids = docs[1]
    interleaved = env.ints([(t // 37) % 3 for t in range(sk)])
    masks = [
        ("causal", lambda b, h, q, kv: kv <= q, None, None),
        ("documents per batch", lambda b, h, q, kv: (kv <= q + 300) & (docs[b, q] == docs[b, kv]),
         nb, None),
        ("window per head", lambda b, h, q, kv: (kv <= q) & (q - kv < win[h]), None, nh),
        ("prefix or window", env.attn.or_masks(lambda b, h, q, kv: kv < 90,
                                               lambda b, h, q, kv: abs(q - kv) < 64),
         nb, nh),
        # Closed forms the compiler lifts into atoms (attn-lift-mask-mods):
        # the kernel classifies their blocks from the kv schedule without
        # evaluating a pair.
        ("causal window", lambda b, h, q, kv: (kv <= q) & (q - kv <= 200), None, None),
        ("prefix-LM", lambda b, h, q, kv: (kv < 300) | (kv <= q), None, None),
        ("band", lambda b, h, q, kv: (kv <= q + 100) & (q <= kv + 100), None, None),
        # Document masks over captured ids: the kernel bounds the blocks by
        # the attention kernels' id scan (sorted: exact; interleaved: a
        # superset, the pairs decide), except where the ids do not cover
        # the sequences.
        ("documents, causal", lambda b, h, q, kv: (kv <= q) & (sorted_ids[q] == sorted_ids[kv]),
         None, None),
        ("documents alone", lambda b, h, q, kv: sorted_ids[q] == sorted_ids[kv], None, None),
        ("interleaved ids", lambda b, h, q, kv: interleaved[q] == interleaved[kv], None, None),
        ("short ids", lambda b, h, q, kv: (kv <= q) & (short[q] == short[kv]), None, None,
         lambda b, h, q, kv: (kv <= q) & (padded[q] == padded[kv])),
    ]
    checks = []
    for name, mask_mod, batch, heads, *reference in masks:
        for bs in (128, (128, 64), (64, 256)):
            before = env.attn.stats["block_mask_launches"]
            bm = env.attn.create_block_mask(mask_mod, batch, heads, sq, sk, BLOCK_SIZE=bs,
                                            device="cuda")
            if env.prebuild:
                continue
            assert env.attn.stats["block_mask_launches"] == before + 1, \
                f"{name} {bs}: the lists did not come from the block-mask kernel"
            qb, kb = bs if isinstance(bs, tuple) else (bs, bs)
            want = _token_lists(env, reference[0] if reference else mask_mod, batch or 1,
                                heads or 1, sq, sk, qb, kb)
            got = bm.block_lists()
            for key, w in want.items():
                g = got[key]
                assert tuple(g.shape) == tuple(w.shape), (name, bs, key, g.shape, w.shape)
                checks.append((f"{name} {bs} {key}", g.double(), w.double(), "small"))
    return checks


FLEX_CASES.append(flex_block_lists_from_kernel)
