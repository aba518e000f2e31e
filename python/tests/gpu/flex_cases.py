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
