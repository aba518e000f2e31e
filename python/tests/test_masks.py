"""The mask DSL: block matrices, patterns, composition, errors."""
import os
import numpy as np
import pytest

import attn
from attn._ir import Causal, Or, PrefixLM, SlidingWindow


def test_causal_block_matrix_is_lower_triangular():
    m = attn.create_block_mask("causal", 256, 256, block_size=32)
    assert m.shape == (8, 8) and m.masks == (Causal(),)
    assert np.array_equal(m.mask_matrix, np.tri(8, dtype=bool))


def test_sliding_window_and_prefix():
    w = attn.create_block_mask("sliding_window", 256, 256, block_size=32, sliding_window=64)
    assert w.masks == (SlidingWindow(63, 0),)
    keep = w.token_mask()
    assert keep[100, 100] and keep[100, 37] and not keep[100, 36] and not keep[100, 101]
    p = attn.create_block_mask("prefix_lm", 256, 256, block_size=32, prefix_len=64)
    assert p.masks == (PrefixLM(64),)
    assert p.token_mask()[0, 63] and not p.token_mask()[0, 64]
    full = attn.create_block_mask("full", 100, 50)
    assert full.mask_matrix.all() and full.shape == (1, 1)


def test_flex_style_mask_mod():
    m = attn.create_block_mask(lambda b, h, i, j: j <= i - 64, 1, 1, 256, 256, BLOCK_SIZE=64)
    assert m.mask_mod is not None and not m.mask_matrix[0].any() and m.mask_matrix[1, 0]


@pytest.mark.parametrize("qlen, klen, bs", [(70, 90, (32, 16)), (256, 256, (64, 64))])
def test_mask_mod_block_lists_match_the_token_mask(qlen, klen, bs):
    # Per-batch, per-head ragged documents with causal: each (b, h, query
    # block) lists the key blocks keeping some pair, partial ones apart from
    # those keeping every real pair (padding past the lengths counts as
    # neither), compared with a brute-force pass over the token mask.
    rng = np.random.default_rng(7)
    nb, nh = 2, 3
    docs = np.sort(rng.integers(0, 5, (nb, nh, max(qlen, klen))), axis=-1)
    mod = lambda b, h, i, j: (j <= i + 5) & (docs[b, h, i] == docs[b, h, j])  # noqa: E731
    m = attn.create_block_mask(mod, nb, nh, qlen, klen, BLOCK_SIZE=bs)
    lists = m.block_lists()
    qb, kb = bs
    nq, nk = -(-qlen // qb), -(-klen // kb)
    i, j = np.arange(qlen)[:, None], np.arange(klen)[None, :]
    for b in range(nb):
        for h in range(nh):
            keep = mod(b, h, i, j)
            for r in range(nq):
                blocks = [keep[r * qb:(r + 1) * qb, c * kb:(c + 1) * kb] for c in range(nk)]
                full = [c for c in range(nk) if blocks[c].all()]
                part = [c for c in range(nk) if blocks[c].any() and not blocks[c].all()]
                n_full = int(lists["full_kv_num_blocks"][b, h, r])
                n_part = int(lists["kv_num_blocks"][b, h, r])
                assert list(lists["full_kv_indices"][b, h, r, :n_full]) == full
                assert list(lists["kv_indices"][b, h, r, :n_part]) == part


def test_compose():
    c = attn.create_block_mask("causal", 128, 128, block_size=32)
    w = attn.create_block_mask("sliding_window", 128, 128, block_size=32, sliding_window=16)
    both = attn.compose_block_masks(c, w, "intersect")
    assert both.masks == c.masks + w.masks
    assert np.array_equal(both.token_mask(), c.token_mask() & w.token_mask())
    p = attn.create_block_mask("prefix_lm", 128, 128, block_size=32, prefix_len=8)
    either = attn.compose_block_masks(w, p, "union")
    assert either.masks == (Or((w.masks[0], p.masks[0])),)
    assert np.array_equal(either.token_mask(), w.token_mask() | p.token_mask())


def test_apply_to_scores():
    m = attn.create_block_mask("causal", 4, 4, block_size=2)
    s = m.apply_to_scores(np.zeros((4, 4)))
    assert np.isneginf(s[0, 1]) and s[1, 0] == 0


@pytest.mark.parametrize("call, error, text", [
    (lambda: attn.create_block_mask("diagonal", 8, 8), ValueError, "unknown mask pattern"),
    (lambda: attn.create_block_mask("sliding_window", 8, 8), ValueError, "sliding_window"),
    (lambda: attn.create_block_mask("prefix_lm", 8, 8), ValueError, "prefix_len"),
    (lambda: attn.create_block_mask("causal", 0, 8), ValueError, "query_len"),
    (lambda: attn.create_block_mask("causal", 8), TypeError, "2 lengths"),
    (lambda: attn.compose_block_masks(attn.create_block_mask("causal", 8, 8, block_size=4),
                                      attn.create_block_mask("causal", 16, 16, block_size=4)),
     ValueError, "different shapes"),
    (lambda: attn.compose_block_masks(attn.create_block_mask("causal", 8, 8),
                                      attn.create_block_mask("causal", 8, 8), "xor"),
     ValueError, "unknown operation"),
])
def test_errors(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_mask_mod_block_lists_skip_empty_and_mark_full_blocks():
    """create_block_mask(mask_mod) lists, per query block, the key blocks
    with some kept pair (partial) and those with every pair kept (full), in
    FlexAttention's format; flex_attention skips the rest."""
    import numpy as np
    docs = np.repeat(np.arange(4), 64).astype(np.int32)  # 4 documents of 64

    def same_doc_causal(b, h, q, kv):
        return (docs[q] == docs[kv]) & (kv <= q)
    bm = attn.create_block_mask(same_doc_causal, None, None, 256, 256, BLOCK_SIZE=32)
    lists = bm.kv_lists
    num, idx = lists["kv_num_blocks"][0, 0], lists["kv_indices"][0, 0]
    fnum, fidx = lists["full_kv_num_blocks"][0, 0], lists["full_kv_indices"][0, 0]
    for m in range(8):  # query block m: its document's blocks up to m
        first = (m // 2) * 2
        assert list(idx[m, :num[m]]) == [m]  # the diagonal block is partial
        assert list(fidx[m, :fnum[m]]) == list(range(first, m))
    q = np.random.default_rng(0).standard_normal((1, 2, 256, 32)).astype(np.float32)
    out = attn.flex_attention(q, q, q, block_mask=bm)
    i, j = np.arange(256)[:, None], np.arange(256)[None, :]
    keep = (docs[i] == docs[j]) & (j <= i)
    s = np.einsum("bhqd,bhkd->bhqk", q.astype(np.float64), q.astype(np.float64)) / np.sqrt(32)
    s = np.where(keep, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    ref = np.einsum("bhqk,bhkd->bhqd", p / p.sum(-1, keepdims=True), q.astype(np.float64))
    assert np.abs(out - ref).max() < 1e-4


def test_mask_mod_block_lists_per_batch_and_head():
    import numpy as np
    bm = attn.create_block_mask(lambda b, h, q, kv: kv <= q + 16 * h, 2, 3, 64, 64,
                                BLOCK_SIZE=16)
    assert bm.kv_lists["kv_num_blocks"].shape == (2, 3, 4)
    # head 2 keeps kv <= q + 32: query block 0 sees key blocks 0..2.
    n = bm.kv_lists["kv_num_blocks"][0, 2, 0] + bm.kv_lists["full_kv_num_blocks"][0, 2, 0]
    assert n == 3


def test_torch_format_block_mask_is_accepted():
    """A torch.nn.attention.flex_attention.BlockMask (here a stand-in with
    its attributes) runs with its own lists and BLOCK_SIZE and its traced
    mask_mod: the same result as our create_block_mask."""
    import numpy as np

    def causal(b, h, q, kv):
        return kv <= q
    ours = attn.create_block_mask(causal, None, None, 96, 96, BLOCK_SIZE=32)
    BlockMask = type("BlockMask", (), {"__module__": "torch.nn.attention.flex_attention"})
    fake = BlockMask()
    fake.BLOCK_SIZE, fake.seq_lengths, fake.mask_mod = (32, 32), (96, 96), causal
    for name, value in ours.kv_lists.items():
        setattr(fake, name, value)
    x = np.random.default_rng(3).standard_normal((1, 2, 96, 32)).astype(np.float32)
    np.testing.assert_allclose(attn.flex_attention(x, x, x, block_mask=fake),
                               attn.flex_attention(x, x, x, block_mask=ours), atol=1e-6)
    fake.seq_lengths = (64, 96)
    with pytest.raises(ValueError, match="Q_LEN=64"):
        attn.flex_attention(x, x, x, block_mask=fake)


def test_flex_block_size_pair():
    """BLOCK_SIZE=(query block, key block), as FlexAttention takes it."""
    bm = attn.create_block_mask(lambda b, h, i, j: j <= i, None, None, 100, 100,
                                BLOCK_SIZE=(32, 16))
    assert (bm.query_block_size, bm.key_block_size) == (32, 16)
    assert tuple(bm.kv_lists["kv_num_blocks"].shape) == (1, 1, 4)
    assert tuple(bm.kv_lists["kv_indices"].shape) == (1, 1, 4, 7)
    # Each query block of 32 rows crosses the diagonal in two key blocks of
    # 16, except the last (rows 96..99: only key block 6 holds the diagonal).
    assert list(bm.kv_lists["kv_num_blocks"][0, 0]) == [2, 2, 2, 1]
    assert list(bm.kv_lists["full_kv_num_blocks"][0, 0]) == [0, 2, 4, 6]


def _lists_by_brute_force(keep, bs):
    """(partial, full) block counts per query block of a [S, S] keep matrix."""
    n = -(-keep.shape[0] // bs)
    some = np.zeros((n * bs, n * bs), bool)
    some[:keep.shape[0], :keep.shape[1]] = keep
    every = np.ones((n * bs, n * bs), bool)
    every[:keep.shape[0], :keep.shape[1]] = keep
    some = some.reshape(n, bs, n, bs).any((1, 3))
    every = every.reshape(n, bs, n, bs).all((1, 3))
    return (some & ~every).sum(1), every.sum(1)


def test_per_head_and_per_batch_lists():
    """One evaluation over every (b, h): per-head windows (H given) and
    per-batch documents (B given) give each head's / batch's own lists."""
    win = np.array([3, 7, 20, 1000], np.int32)
    docs = np.stack([np.repeat(np.arange(5), 20), np.repeat(np.arange(4), 25)]).astype(np.int32)
    i, j = np.arange(100)[:, None], np.arange(100)[None, :]
    bm = attn.create_block_mask(lambda b, h, q, kv: (kv <= q) & (q - kv < win[h]),
                                None, 4, 100, 100, BLOCK_SIZE=16)
    bm2 = attn.create_block_mask(lambda b, h, q, kv: docs[b, q] == docs[b, kv],
                                 2, None, 100, 100, BLOCK_SIZE=16)
    for lists, index, keep in [(bm.kv_lists, (0, h), (j <= i) & (i - j < win[h]))
                               for h in range(4)] + \
                              [(bm2.kv_lists, (b, 0), docs[b][:, None] == docs[b][None, :])
                               for b in range(2)]:
        partial, full = _lists_by_brute_force(keep, 16)
        assert list(lists["kv_num_blocks"][index]) == list(partial)
        assert list(lists["full_kv_num_blocks"][index]) == list(full)


def test_prebuild_compiles_the_block_mask_kernel(tmp_path):
    """Under attn.prebuild, create_block_mask of a traceable mask_mod also
    compiles its attn.block_mask kernel (once per mask_mod code and block
    size, whatever the lengths); its artifact takes the lengths as i64
    scalars, the captured ids, then FlexAttention's four lists."""
    import struct
    import zlib
    docs = np.zeros(1000, np.int32)

    def same_doc(b, h, q, kv):
        return (kv <= q) & (docs[q] == docs[kv])
    with attn.prebuild(str(tmp_path), chip="sm_90"):
        attn.create_block_mask(same_doc, None, None, 700, 1000)
        attn.create_block_mask(same_doc, None, 4, 333, 500)  # same kernel
        attn.create_block_mask(same_doc, None, None, 700, 1000, BLOCK_SIZE=(128, 64))
    files = sorted(f for f in os.listdir(tmp_path) if f.startswith("bm-"))
    assert len(files) == 2, files
    from attn._runtime import Kernel
    data = open(tmp_path / files[0], "rb").read()
    assert data[:8] == b"ATTNKRN\0"
    size = struct.unpack_from("<Q", data, 12)[0]
    assert zlib.crc32(data[20:20 + size]) == struct.unpack_from("<I", data, 20 + size)[0]
    for name in (b"q_len", b"kv_len", b"kv_num_blocks", b"full_kv_indices"):
        assert name in data[20:20 + size]
    assert "block_mask" in Kernel(str(tmp_path / files[0])).key


def test_block_mask_spec_ir():
    """The attn.block_mask function a mask_mod becomes: lengths, captures,
    the traced region and four dynamic i32 lists."""
    from attn._block_lists import block_mask_spec
    ids = np.zeros(10, np.int32)
    spec, caps = block_mask_spec(lambda b, h, q, kv: ids[q] == ids[kv], (), 128, 64)
    text = spec.to_mlir()
    assert "attn.block_mask %q_len, %kv_len" in text
    assert "#attn.block_sparse<q_block = 128, kv_block = 64>" in text
    assert "masks = [#attn.mask_mod]" in text and "tensor.extract %mcap0" in text
    assert spec.argument_names() == ["q_len", "kv_len", "mcap0"] and len(caps) == 1
    other, _ = block_mask_spec(lambda b, h, q, kv: ids[q] == ids[kv], (), 128, 128)
    assert other.key() != spec.key()


@pytest.mark.parametrize("pattern,kw", [("causal", {}), ("sliding_window", {"sliding_window": 300}),
                                        ("prefix_lm", {"prefix_len": 333}), ("full", {})])
@pytest.mark.parametrize("qlen,klen,bs", [(1000, 1000, 128), (700, 1300, 64), (1300, 700, 100),
                                          (5, 3, 16)])
def test_closed_form_block_matrix_matches_the_token_mask(pattern, kw, qlen, klen, bs):
    """create_block_mask's patterns are classified by block (the kernels'
    tile classification through the compiler, attnc_classify_blocks), not
    from the S^2 token mask; the matrix is the token mask's, block by block."""
    from attn._compiler import available, classify_blocks
    from attn.masks import _block_matrix
    bm = attn.create_block_mask(pattern, qlen, klen, block_size=bs, **kw)
    want = _block_matrix(bm.token_mask(), bs, bs)
    assert np.array_equal(bm.mask_matrix, want)
    if not available():
        return
    classes = classify_blocks(bm.masks, qlen, klen, bs, bs)
    keep = np.zeros((-(-qlen // bs) * bs, -(-klen // bs) * bs), bool)
    keep[:qlen, :klen] = bm.token_mask()
    inside = np.zeros_like(keep)
    inside[:qlen, :klen] = True
    nq, nk = classes.shape
    every = (keep | ~inside).reshape(nq, bs, nk, bs).all(axis=(1, 3))
    # One atom: empty, full and partial exactly as the pairs say.
    assert np.array_equal(classes == 1, every & want)
    assert np.array_equal(classes == 2, want & ~every)


def test_closed_form_block_matrix_of_long_sequences():
    """128k x 128k causal: 1024 x 1024 blocks from the classification (the
    token mask would be 16 GiB of host memory)."""
    from attn._compiler import available
    if not available():
        pytest.skip("needs the compiler library (attnc_classify_blocks)")
    bm = attn.create_block_mask("causal", 131072, 131072)
    assert bm.shape == (1024, 1024)
    assert np.array_equal(bm.mask_matrix, np.tri(1024, dtype=bool))
    assert attn.create_block_mask("full", 131072, 131072).mask_matrix.all()


@pytest.mark.parametrize("masks,sizes,text", [
    (b"[#attn.document]", (100, 100, 16, 16), "not a closed-form mask atom"),
    (b"[#attn.causal<top_left>", (100, 100, 16, 16), "must be an array of mask attributes"),
    (b"[#attn.causal<top_left>]", (-1, 100, 16, 16), "lengths must be >= 0"),
    (b"[#attn.causal<top_left>]", (100, 100, 0, 16), "block sizes >= 1"),
    (b"[#attn.causal<top_left>]", (100, 100, 16, 16, 48), "the matrix has 7 x 7 blocks"),
])
def test_classify_blocks_errors(masks, sizes, text):
    """attnc_classify_blocks rejects bad input with a message (and writes
    nothing past the buffer it is given)."""
    import ctypes
    from attn._compiler import library
    lib = library()
    if lib is None:
        pytest.skip("needs the compiler library")
    q, k, qb, kb = sizes[:4]
    size = sizes[4] if len(sizes) > 4 else 49
    buf = (ctypes.c_uint8 * 64)()
    assert lib.attnc_classify_blocks(masks, q, k, qb, kb, buf, size) != 0
    assert text in lib.attnc_last_error().decode()
    assert all(b == 0 for b in buf[size:])
