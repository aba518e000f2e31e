"""The mask DSL: block matrices, patterns, composition, errors."""
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
