"""The score_mod / mask_mod tracer: IR for what it supports, a TraceError
naming the construct for what it does not."""
import math

import numpy as np
import pytest

import attn
from attn._tracer import TraceError, trace


def test_score_mod_arithmetic_becomes_ops():
    body, caps = trace(lambda s, b, h, i, j: s * 0.5 + (i - j), "score")
    assert "arith.mulf %s" in body
    assert "arith.subi %i, %j : index" in body
    assert "arith.sitofp" in body  # index promoted to f32 for the add
    assert body.splitlines()[-1].startswith("attn.yield") and body.endswith(": f32")
    assert caps == []


def test_mask_mod_comparisons_and_logic():
    body, _ = trace(lambda b, h, i, j: (j <= i) | (j < 4), "mask")
    assert "arith.cmpi sle, %j, %i : index" in body
    assert "arith.ori" in body
    assert body.endswith(": i1")


def test_where_and_math_functions():
    body, _ = trace(lambda s, b, h, i, j: attn.where(j > i, attn.tanh(s), np.exp(s)), "score")
    assert "math.tanh" in body and "math.exp" in body and "arith.select" in body


def test_captured_arrays_become_tensor_reads():
    slopes = np.array([0.5, 0.25], dtype=np.float32)
    docs = np.array([0, 0, 1], dtype=np.int32)
    body, caps = trace(lambda s, b, h, i, j: s - slopes[h] * abs(i - j), "score")
    assert "tensor.extract %cap0[%h] : tensor<?xf32>" in body
    assert [(n, e) for n, _, e in caps] == [("cap0", "f32")]
    body, caps = trace(lambda b, h, i, j: docs[i] == docs[j], "mask")
    assert body.count("tensor.extract %cap0") == 2 and caps[0][2] == "i32"


def test_python_control_flow_is_rejected():
    def bad(s, b, h, i, j):
        if i > j:
            return s
        return s * 2
    with pytest.raises(TraceError, match="control flow"):
        trace(bad, "score")


def test_unsupported_function_is_named():
    with pytest.raises(TraceError, match="numpy.sin"):
        trace(lambda s, b, h, i, j: np.sin(s), "score")


def test_multi_dim_captures_take_one_index_per_dimension():
    table = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(TraceError, match="has 2 dimensions: index it with 2 traced indices"):
        trace(lambda s, b, h, i, j: s + table[h], "score")
    body, caps = trace(lambda s, b, h, i, j: s + table[h, i - j], "score")
    assert "tensor.extract %cap0[%h, %v" in body and ": tensor<?x?xf32>" in body
    five = np.zeros((1,) * 5, np.float32)
    with pytest.raises(TraceError, match="1 to 4 dimensions"):
        trace(lambda s, b, h, i, j: s + five[h, h, h, h, h], "score")


def test_mask_mod_must_return_bool():
    with pytest.raises(TraceError, match="boolean"):
        trace(lambda b, h, i, j: i - j, "mask")


def test_non_function_rejected():
    with pytest.raises(TraceError, match="Python function"):
        trace(42, "score")


def test_errors_name_the_construct_and_the_source_line():
    """Each refusal names what was refused and the user's line."""
    def branchy(b, h, q_idx, kv_idx):
        if q_idx > kv_idx:
            return True
        return False

    def listed(b, h, q_idx, kv_idx):
        return [1, 2, 3][q_idx] == 1

    def python_math(score, b, h, q_idx, kv_idx):
        return math.tanh(score)

    for fn, kind, construct, line in (
            (branchy, "mask", "control flow", "if q_idx > kv_idx:"),
            (listed, "mask", "Python sequence", "return [1, 2, 3][q_idx] == 1"),
            (python_math, "score", "Python number", "return math.tanh(score)")):
        with pytest.raises(TraceError) as info:
            trace(fn, kind)
        message = str(info.value)
        assert construct in message and f"in {fn.__name__}, " in message, message
        assert __file__ in message and message.endswith(f": {line})"), message
