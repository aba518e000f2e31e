"""Bad inputs give ValueError / TypeError naming the problem, before any
compilation."""
import numpy as np
import pytest

import attn
from attn._ir import AttentionSpec, Rope


def f32(*shape):
    return np.ones(shape, np.float32)


Q4 = f32(1, 16, 2, 32)


@pytest.mark.parametrize("call, error, text", [
    (lambda: attn.flash_dense_attn_func(f32(16, 2, 32), Q4, Q4), ValueError, "4 dimensions"),
    (lambda: attn.flash_dense_attn_func(Q4, Q4.astype(np.float16), Q4), TypeError,
     "share one dtype"),
    (lambda: attn.flash_dense_attn_func(Q4.astype(np.int32), Q4, Q4), TypeError, "dtype int32"),
    (lambda: attn.flash_dense_attn_func(f32(1, 16, 3, 32), Q4, Q4), ValueError, "multiple"),
    (lambda: attn.flash_dense_attn_func(f32(1, 16, 2, 12), f32(1, 16, 2, 12), f32(1, 16, 2, 12)),
     ValueError, "multiple of 8"),
    (lambda: attn.flash_dense_attn_func(Q4, f32(1, 16, 2, 64), Q4), ValueError, "head_dim"),
    (lambda: attn.flash_dense_attn_func(Q4, Q4, Q4, window_size=5), TypeError, "window_size"),
    (lambda: attn.flash_dense_attn_func(Q4, Q4, Q4, window_size=(-3, 0)), ValueError,
     "window_size left"),
    (lambda: attn.flash_dense_attn_func(Q4, Q4, Q4, softmax_scale=-1.0), ValueError,
     "positive"),
    (lambda: attn.flash_dense_attn_func(Q4, Q4, Q4, softmax_scale="x"), TypeError, "float"),
    (lambda: attn.flash_dense_attn_func("q", Q4, Q4), TypeError, "must be a tensor"),
    (lambda: attn.flash_dense_attn_varlen_func(f32(16, 2, 32), f32(16, 2, 32), f32(16, 2, 32),
                                               np.array([0, 16], np.float32),
                                               np.array([0, 16], np.int32), 16, 16),
     TypeError, "cu_seqlens_q must be an int32"),
    (lambda: attn.flash_dense_attn_varlen_func(f32(16, 2, 32), f32(16, 2, 32), f32(16, 2, 32),
                                               np.array([0, 16], np.int32),
                                               np.array([0, 8, 16], np.int32), 16, 16),
     ValueError, "cu_seqlens_k must have shape"),
    (lambda: attn.flash_dense_attn_varlen_func(f32(16, 2, 32), f32(16, 2, 32), f32(16, 2, 32),
                                               np.array([0, 16], np.int32),
                                               np.array([0, 16], np.int32), 16, 16,
                                               seqused_q=np.array([3], np.int32)),
     ValueError, "both seqused_q and seqused_k"),
    (lambda: attn.flex_attention(f32(1, 4, 16, 32), f32(1, 2, 16, 32), f32(1, 2, 16, 32)),
     ValueError, "enable_gqa=True"),
    (lambda: attn.flex_attention(f32(1, 2, 16, 32), f32(1, 2, 16, 32), f32(1, 2, 16, 32),
                                 block_mask="causal"), TypeError, "attn.BlockMask"),
    (lambda: attn.flex_attention(f32(1, 2, 16, 32), f32(1, 2, 16, 32), f32(1, 2, 16, 32),
                                 block_mask=attn.create_block_mask("causal", 32, 32)),
     ValueError, "Q_LEN=32"),
    (lambda: attn.flex_attention(f32(1, 2, 16, 32), f32(1, 2, 16, 32), f32(1, 2, 16, 32),
                                 score_mod=lambda s, b, h, i, j: np.sin(s)),
     attn.TraceError, "numpy.sin"),
    (lambda: attn.flash_attention(f32(1, 2, 16, 32), f32(1, 2, 8, 32), f32(1, 2, 16, 32)),
     ValueError, "match q's shape"),
    (lambda: attn.flash_attention(f32(1, 2, 16, 32), f32(1, 2, 16, 32), f32(1, 2, 16, 32),
                                  seq_lens=np.array([20], np.int32)), ValueError, "seq_lens"),
    (lambda: attn.flash_attention(f32(1, 2, 16, 32), f32(1, 2, 16, 32), f32(1, 2, 16, 32),
                                  causal="yes"), TypeError, "causal must be a bool"),
    (lambda: attn.select_attention_kernel("fastest"), ValueError, "unknown variant"),
    (lambda: attn.select_attention_kernel("persistent"), ValueError, "persistent"),
    (lambda: attn.select_attention_kernel("auto", gpu_capability=7), ValueError, "sm_80"),
])
def test_rejected(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_selector_choices():
    assert attn.select_attention_kernel("v1") is attn.flash_attention
    assert attn.select_attention_kernel("v2") is attn.flash_attention_v2
    assert attn.select_attention_kernel("auto", q_shape=(4, 4096, 8, 64),
                                        gpu_capability=9) is attn.flash_attention_v2
    assert attn.select_attention_kernel("auto", q_shape=(1, 128, 8, 64)) is attn.flash_attention


@pytest.mark.parametrize("make,text", [
    (lambda: Rope(theta=0.0), "rope theta must be a finite number > 0, got 0.0"),
    (lambda: Rope(scale=float("inf")), "rope scale must be a finite number > 0"),
    (lambda: Rope(align="middle"), "alignment must be one of"),
    (lambda: AttentionSpec(kv_dtype="f8E5M2"), "kv_dtype must be None or 'f8E4M3FN'"),
    (lambda: AttentionSpec(dtype="f32", kv_dtype="f8E4M3FN"),
     "an f8E4M3FN KV cache needs f16 or bf16 q"),
    (lambda: AttentionSpec(kv_scales=True), "kv_scales .* dequantize an fp8 KV cache"),
])
def test_rope_and_fp8_specs_rejected(make, text):
    """Bad rope / fp8 settings fail in Python with the rule, before any IR."""
    with pytest.raises(ValueError, match=text):
        make()


def test_rope_and_fp8_spec_ir():
    """The spec prints the attribute, the fp8 k/v types and the scale operands."""
    spec = AttentionSpec(dtype="bf16", heads_q=4, heads_kv=2, head_dim=64, seq_q=1,
                         rope=Rope(theta=5e5, scale=2.0), kv_dtype="f8E4M3FN",
                         kv_scales=True)
    ir = spec.to_mlir()
    assert "rope = #attn.rope<theta = 500000.0, scale = 2.0, align = bottom_right>" in ir
    assert "tensor<?x?x2x64xf8E4M3FN>" in ir
    assert "k_scale(%k_scale : tensor<1xf32>) v_scale(%v_scale : tensor<1xf32>)" in ir
    assert spec.argument_names()[-2:] == ["k_scale", "v_scale"]
