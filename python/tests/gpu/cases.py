"""The GPU checks of every public function, written once for two uses:

* on the GPU machine (test_gpu_api.py): `env` makes torch CUDA tensors and
  the case compares with a float64 torch reference;
* here (prebuild.py): `env` makes attn.meta_tensor stand-ins under
  attn.prebuild, which compiles exactly the kernels the cases will ask for.

A case is f(env) -> list of (label, got, want, kind) comparisons, kind
'out' (relative norm error) or 'lse' (max abs error over finite entries).
`env.F` is torch (there) or attn (here): where/tanh exist in both.
"""

from flashinfer_cases import (flashinfer_batch_ragged, flashinfer_fp8_cache,
                              flashinfer_merge_states,
                              flashinfer_paged_decode_graph,
                              flashinfer_paged_prefill_hnd,
                              flashinfer_ragged_custom_mask, flashinfer_rope,
                              flashinfer_rope_paged, flashinfer_single_decode,
                              flashinfer_single_prefill_hnd)
from flex_cases import FLEX_CASES
from gpu_reference import ref_attention


def flex_alibi_causal_gqa(env):
    q, k, v = env.randn(2, 8, 600, 128, "bfloat16"), env.randn(2, 2, 600, 128, "bfloat16"), \
        env.randn(2, 2, 600, 128, "bfloat16")
    slopes = env.rand(8, "float32") * 0.1

    def alibi(score, b, h, q_idx, kv_idx):
        return score - slopes[h] * abs(q_idx - kv_idx)
    mask = env.attn.create_block_mask(lambda b, h, qi, kj: kj <= qi, 2, 8, 600, 600)
    out, lse = env.attn.flex_attention(q, k, v, score_mod=alibi, block_mask=mask,
                                       enable_gqa=True, return_lse=True)
    if env.prebuild:
        return []
    want, wlse = ref_attention(env, q, k, v, keep=lambda h, i, j: j <= i,
                               score=lambda s, h, i, j: s - slopes.double()[h] * (i - j).abs())
    return [("out", out, want, "out"), ("lse", lse, wlse, "lse")]


def flex_softcap_window_f16(env):
    F = env.F
    q, k, v = (env.randn(1, 4, 1000, 64, "float16") for _ in range(3))
    mask = env.attn.create_block_mask("sliding_window", 1000, 1000, sliding_window=256)
    out = env.attn.flex_attention(q, k, v, block_mask=mask, scale=0.1,
                                  score_mod=lambda s, b, h, i, j: 30.0 * F.tanh(s / 30.0))
    if env.prebuild:
        return []
    want, _ = ref_attention(env, q, k, v, keep=lambda h, i, j: (j <= i) & (j > i - 256),
                            score=lambda s, h, i, j: 30.0 * env.torch.tanh(s / 30.0), scale=0.1)
    return [("out", out, want, "out")]


def _document_case(env, shape, documents, make_mask):
    """Causal attention within documents through flex_attention, the block
    mask made by make_mask(mask_mod, seqlen); against float64 torch."""
    batch, heads, s, d = shape
    q, k, v = (env.randn(batch, heads, s, d, "bfloat16") for _ in range(3))
    docs = env.doc_ids(s, documents)

    def same_doc_causal(b, h, qi, kj):
        return (docs[qi] == docs[kj]) & (kj <= qi)
    out = env.attn.flex_attention(q, k, v, block_mask=make_mask(same_doc_causal, s))
    if env.prebuild:
        return []
    want, _ = ref_attention(env, q, k, v, keep=lambda h, i, j:
                            (docs[i] == docs[j]) & (j <= i))
    return [("out", out, want, "out")]


def flex_document_mask(env):
    return _document_case(env, (1, 4, 900, 64), 5, lambda fn, s:
                          env.attn.create_block_mask(fn, 1, 4, s, s))


def dense_causal_gqa_window(env):
    q, k, v = env.randn(2, 500, 8, 128, "bfloat16"), env.randn(2, 700, 2, 128, "bfloat16"), \
        env.randn(2, 700, 2, 128, "bfloat16")
    out, lse = env.attn.flash_dense_attn_func(q, k, v, is_causal=True, window_size=(128, None),
                                              return_lse=True)
    if env.prebuild:
        return []
    t = lambda x: x.transpose(1, 2)
    keep = lambda h, i, j: (j <= i + 200) & (j >= i + 200 - 128)  # noqa: E731
    want, wlse = ref_attention(env, t(q), t(k), t(v), keep=keep)
    # A second call like the first (its cached launch) with new tensors.
    q2, k2, v2 = env.randn(2, 500, 8, 128, "bfloat16"), env.randn(2, 700, 2, 128, "bfloat16"), \
        env.randn(2, 700, 2, 128, "bfloat16")
    out2, _ = env.attn.flash_dense_attn_func(q2, k2, v2, is_causal=True,
                                             window_size=(128, None), return_lse=True)
    want2, _ = ref_attention(env, t(q2), t(k2), t(v2), keep=keep)
    return [("out", out, t(want), "out"), ("lse", lse, wlse, "lse"),
            ("repeated call", out2, t(want2), "out")]


def dense_varlen_seqused(env):
    torch = env.torch
    lq, lk = [100, 700, 1, 300], [150, 700, 64, 299]
    cu_q, cu_k = env.cumsum(lq), env.cumsum(lk)
    used_q, used_k = env.ints([100, 650, 1, 300]), env.ints([150, 700, 10, 299])
    q = env.randn(sum(lq), 4, 64, "float16")
    k, v = env.randn(sum(lk), 4, 64, "float16"), env.randn(sum(lk), 4, 64, "float16")
    out, lse = env.attn.flash_dense_attn_varlen_func(
        q, k, v, cu_q, cu_k, 700, 700, is_causal=True, seqused_q=used_q, seqused_k=used_k,
        return_lse=True)
    if env.prebuild:
        return []
    checks = []
    for b in range(4):
        q0, k0 = sum(lq[:b]), sum(lk[:b])
        nq, nk = int(used_q[b]), int(used_k[b])
        qs, ks, vs = (x[None].transpose(1, 2) for x in
                      (q[q0:q0 + nq], k[k0:k0 + nk], v[k0:k0 + nk]))
        want, wlse = ref_attention(env, qs, ks, vs, keep=lambda h, i, j: j <= i + nk - nq)
        checks.append((f"out[{b}]", out[q0:q0 + nq], want[0].transpose(0, 1), "out"))
        checks.append((f"lse[{b}]", lse[q0:q0 + nq], wlse[0].transpose(0, 1), "lse"))
        rest = out[q0 + nq:q0 + lq[b]]
        checks.append((f"rows past seqused[{b}]", rest, torch.zeros_like(rest).double(), "zero"))
    return checks


def diy_v1_seq_lens(env):
    q, k, v = (env.randn(2, 8, 512, 64, "float16") for _ in range(3))
    lens = env.ints([512, 300])
    out = env.attn.flash_attention(q, k, v, causal=True, seq_lens=lens)
    if env.prebuild:
        return []
    checks = []
    for b, n in enumerate([512, 300]):
        want = env.attn.reference_attention(q[b:b + 1, :, :n], k[b:b + 1, :, :n],
                                            v[b:b + 1, :, :n], causal=True).double()
        checks.append((f"out[{b}]", out[b:b + 1, :, :n], want, "out"))
    checks.append(("rows past seq_len", out[1, :, 300:], env.torch.zeros(8, 212, 64).double()
                   .to(out.device), "zero"))
    return checks


def diy_v2_causal_bf16(env):
    q, k, v = (env.randn(2, 1024, 4, 128, "bfloat16") for _ in range(3))
    out = env.attn.flash_attention_v2(q, k, v, causal=True, sm_scale=0.07)
    if env.prebuild:
        return []
    t = lambda x: x.transpose(1, 2)
    want, _ = ref_attention(env, t(q), t(k), t(v), keep=lambda h, i, j: j <= i, scale=0.07)
    return [("out", out, t(want), "out")]


def _spec_ref(env, spec, named):
    """float64 numpy oracle (attn.reference) for features torch has no
    one-liner for (threshold sparse softmax, gates)."""
    from attn.reference import spec_reference
    host = {n: (t.double() if t.is_floating_point() else t).cpu().numpy()
            for n, t in named.items()}
    out, lse = spec_reference(spec, host)
    return env.torch.from_numpy(out), env.torch.from_numpy(lse)


def sparse_softmax_causal(env):
    q, k, v = (env.randn(1, 700, 4, 64, "bfloat16") for _ in range(3))
    out, lse = env.attn.flash_sparse_attn_func(q, k, v, is_causal=True, softmax_threshold=0.05,
                                               return_lse=True)
    if env.prebuild:
        return []
    from attn._ir import AttentionSpec, Causal
    spec = AttentionSpec(dtype="bf16", heads_q=4, heads_kv=4, head_dim=64,
                         masks=(Causal("bottom_right"),), sparse_softmax=(0.05, 64), lse=True)
    want, wlse = _spec_ref(env, spec, {"q": q, "k": k, "v": v})
    return [("out", out, want, "out"), ("lse", lse, wlse, "lse")]


def gated_logsigmoid(env):
    q, k, v = (env.randn(2, 400, 4, 128, "float16") for _ in range(3))
    alpha, delta = env.randn(2, 4, 400, "float32"), env.randn(2, 4, 400, "float32")
    out = env.attn.flash_gated_attn_func(q, k, v, alpha, delta, is_causal=True,
                                         gate_threshold=-3.0, is_logsigmoid_gate=True,
                                         is_adapt_gate=True)
    if env.prebuild:
        return []
    from attn._ir import AttentionSpec, Causal
    spec = AttentionSpec(dtype="f16", heads_q=4, heads_kv=4, head_dim=128,
                         masks=(Causal("bottom_right"),), gate=("logsigmoid", -3.0, True))
    want, _ = _spec_ref(env, spec, {"q": q, "k": k, "v": v, "gate_alpha": alpha,
                                    "gate_delta": delta})
    return [("out", out, want, "out")]


def _varlen_pieces(env, lq, lk, hq, hkv, d, dtype):
    q = env.randn(sum(lq), hq, d, dtype)
    k, v = env.randn(sum(lk), hkv, d, dtype), env.randn(sum(lk), hkv, d, dtype)
    return q, k, v, env.cumsum(lq), env.cumsum(lk)


def sparse_softmax_varlen(env):
    lq, lk = [300, 1, 500], [300, 64, 700]
    q, k, v, cu_q, cu_k = _varlen_pieces(env, lq, lk, 4, 4, 64, "float16")
    out = env.attn.flash_sparse_attn_varlen_func(q, k, v, cu_q, cu_k, 500, 700,
                                                 is_causal=True, softmax_threshold=0.05)
    if env.prebuild:
        return []
    from attn._ir import AttentionSpec, Causal
    spec = AttentionSpec(dtype="f16", heads_q=4, heads_kv=4, head_dim=64, varlen=True,
                         masks=(Causal("bottom_right"),), sparse_softmax=(0.05, 64))
    want, _ = _spec_ref(env, spec, {"q": q, "k": k, "v": v, "cu_seqlens_q": cu_q,
                                    "cu_seqlens_k": cu_k})
    return [("out", out, want, "out")]


def gated_varlen(env):
    lq, lk = [200, 450], [260, 450]
    q, k, v, cu_q, cu_k = _varlen_pieces(env, lq, lk, 4, 2, 128, "bfloat16")
    alpha, delta = env.randn(4, sum(lq), "float32"), env.randn(2, sum(lk), "float32")
    out, lse = env.attn.flash_gated_attn_varlen_func(
        q, k, v, alpha, delta, cu_q, cu_k, 450, 450, is_causal=True, gate_threshold=-2.0,
        is_logsigmoid_gate=True, is_adapt_gate=False, return_lse=True)
    if env.prebuild:
        return []
    from attn._ir import AttentionSpec, Causal
    spec = AttentionSpec(dtype="bf16", heads_q=4, heads_kv=2, head_dim=128, varlen=True,
                         masks=(Causal("bottom_right"),), gate=("logsigmoid", -2.0, False),
                         lse=True)
    want, wlse = _spec_ref(env, spec, {"q": q, "k": k, "v": v, "cu_seqlens_q": cu_q,
                                       "cu_seqlens_k": cu_k, "gate_alpha": alpha,
                                       "gate_delta": delta})
    return [("out", out, want, "out"), ("lse", lse, wlse.T, "lse")]


def tools_validate_and_benchmark(env):
    """validate_attention and BenchmarkRunner drive flash_attention (BHSD)."""
    if env.prebuild:
        q = env.randn(2, 8, 512, 64, "float16")
        env.attn.flash_attention(q, q, q, causal=True)
        q = env.randn(4, 16, 512, 64, "float16")
        env.attn.flash_attention(q, q, q, causal=False)
        return []
    ok, diff = env.attn.validate_attention(env.attn.flash_attention, batch=2, heads=8,
                                           seq_len=512, head_dim=64, causal=True)
    assert ok, f"validate_attention: max diff {diff:.2e}"
    runner = env.attn.BenchmarkRunner(warmup=2, rep=5)
    results = runner.benchmark_attention(env.attn.flash_attention, seq_lengths=[512, 1024])
    runner.print_comparison_table(results)
    assert all(r["tflops"] > 1 for r in results)
    zero = env.torch.zeros(1, dtype=env.torch.float64)
    return [("validate_attention max diff", zero + diff, zero, "small")]


# --- hardening: inputs that once read out of bounds or returned garbage ---
def hardening_seq_lens_nan_padding(env):
    """Keys past seq_lens hold NaN and are never read (dense seqused)."""
    torch = env.torch
    q, k, v = (env.randn(3, 4, 300, 128, "bfloat16") for _ in range(3))
    lens = [300, 77, 0]
    if not env.prebuild:
        for b, n in enumerate(lens):
            k[b, :, n:] = float("nan")
            v[b, :, n:] = float("nan")
    out = env.attn.flash_attention(q, k, v, causal=True, seq_lens=env.ints(lens))
    if env.prebuild:
        return []
    checks = []
    for b, n in enumerate(lens):
        if n:
            want, _ = ref_attention(env, q[b:b + 1, :, :n], k[b:b + 1, :, :n],
                                    v[b:b + 1, :, :n], keep=lambda h, i, j: j <= i)
            checks.append((f"out[{b}]", out[b:b + 1, :, :n], want, "out"))
        rest = out[b, :, n:]
        checks.append((f"rows past seq_lens[{b}]", rest, torch.zeros_like(rest).double(),
                       "zero"))
    return checks


def hardening_captured_out_of_range(env):
    """A captured table shorter than the sequence reads 0 past its end; a
    document-id read far out of range reads 0 too (never out of bounds)."""
    torch = env.torch
    q, k, v = (env.randn(1, 2, 300, 64, "float16") for _ in range(3))
    table = env.rand(16, "float32")
    ids = env.ints([0] * 8)
    mask = env.attn.create_block_mask(lambda b, h, i, j: ids[i * 1000000000] == ids[j],
                                      None, None, 300, 300)
    out = env.attn.flex_attention(q, k, v, block_mask=mask,
                                  score_mod=lambda s, b, h, i, j: s + table[i] * 4.0)
    if env.prebuild:
        return []
    add = torch.zeros(300, device=q.device, dtype=torch.float64)
    add[:16] = table.double() * 4.0
    want, _ = ref_attention(env, q, k, v, score=lambda s, h, i, j: s + add[i])
    return [("out", out, want, "out")]


def hardening_no_keys(env):
    """Sk = 0: every row keeps nothing: out 0, lse -inf."""
    torch = env.torch
    q = env.randn(2, 100, 4, 64, "bfloat16")
    k = env.randn(2, 0, 4, 64, "bfloat16")
    out, lse = env.attn.flash_dense_attn_func(q, k, k, return_lse=True)
    if env.prebuild:
        return []
    assert torch.isneginf(lse).all(), "lse of a row with no keys must be -inf"
    return [("out", out, torch.zeros_like(out).double(), "zero")]


def hardening_hand_built_block_mask(env):
    """A hand-built BlockMask's matrix is honoured; its [1, 1, ...] block
    lists broadcast over batch and heads at run time."""
    import numpy as np
    q, k, v = (env.randn(2, 4, 256, 64, "bfloat16") for _ in range(3))
    keep = np.zeros((4, 4), bool)
    keep[:, 0] = keep[2:, 3] = True
    bm = env.attn.BlockMask(keep, 64, 64, "hand", query_len=256, key_len=256)
    out = env.attn.flex_attention(q, k, v, block_mask=bm)
    if env.prebuild:
        return []
    keep_t = env.torch.from_numpy(keep).to(q.device)
    want, _ = ref_attention(env, q, k, v, keep=lambda h, i, j: keep_t[i // 64, j // 64])
    return [("out", out, want, "out")]


def hardening_device_offsets_not_covering(env):
    """cu_seqlens on the GPU are not read on the host; offsets that leave
    rows uncovered leave them 0 (the output is allocated zeroed)."""
    torch = env.torch
    q, k, v = (env.randn(200, 2, 64, "float16") for _ in range(3))
    cu = env.ints([0, 100, 150])
    out = env.attn.flash_dense_attn_varlen_func(q, k, v, cu, cu, 100, 100)
    if env.prebuild:
        return []
    rest = out[150:]
    want, _ = ref_attention(env, q[None, :100].transpose(1, 2), k[None, :100].transpose(1, 2),
                            v[None, :100].transpose(1, 2))
    return [("out[0]", out[:100], want[0].transpose(0, 1), "out"),
            ("uncovered rows", rest, torch.zeros_like(rest).double(), "zero")]


def dense_d192_dv128_gqa(env):
    """DeepSeek-style head dims (q/k 192, v 128) through the public API."""
    q = env.randn(2, 300, 8, 192, "bfloat16")
    k, v = env.randn(2, 500, 2, 192, "bfloat16"), env.randn(2, 500, 2, 128, "bfloat16")
    out, lse = env.attn.flash_dense_attn_func(q, k, v, is_causal=True, return_lse=True)
    if env.prebuild:
        return []
    t = lambda x: x.transpose(1, 2)
    want, wlse = ref_attention(env, t(q), t(k), t(v), keep=lambda h, i, j: j <= i + 200)
    return [("out", out, t(want), "out"), ("lse", lse, wlse, "lse")]


def flex_torch_block_mask(env):
    """torch's own BlockMask (create_block_mask from torch) through
    attn.flex_attention: its lists and BLOCK_SIZE as given, its mask_mod
    traced. Prebuild makes the same kernel from our create_block_mask."""
    def make(fn, s):
        if env.prebuild:
            return env.attn.create_block_mask(fn, None, None, s, s)
        from torch.nn.attention.flex_attention import create_block_mask
        return create_block_mask(fn, None, None, s, s, device="cuda")
    return _document_case(env, (2, 4, 700, 64), 4, make)


def flex_relative_bias_2d_table(env):
    """FlexAttention's relative positional bias from a captured 2-D table
    [H, 2S - 1], indexed table[h, i - j + S - 1]."""
    q, k, v = (env.randn(1, 4, 500, 64, "float16") for _ in range(3))
    table = env.table((4, 999))

    def rel_bias(score, b, h, qi, kj):
        return score + table[h, qi - kj + 499]
    out = env.attn.flex_attention(q, k, v, score_mod=rel_bias)
    if env.prebuild:
        return []
    t = table.double()
    want, _ = ref_attention(env, q, k, v, score=lambda s, h, i, j: s + t[h, i - j + 499])
    return [("out", out, want, "out")]


HARDENING = [hardening_seq_lens_nan_padding, hardening_captured_out_of_range,
             hardening_no_keys, hardening_hand_built_block_mask,
             hardening_device_offsets_not_covering]

def dense_decode_gqa_lse(env):
    """One query token per sequence against a long cache, 32/8 heads: the
    decode strategy (packed query heads, split keys, merge kernel)."""
    q = env.randn(2, 1, 32, 128, "bfloat16")
    k, v = env.randn(2, 9000, 8, 128, "bfloat16"), env.randn(2, 9000, 8, 128, "bfloat16")
    out, lse = env.attn.flash_dense_attn_func(q, k, v, return_lse=True)
    if env.prebuild:
        return []
    t = lambda x: x.transpose(1, 2)
    want, wlse = ref_attention(env, t(q), t(k), t(v))
    return [("out", out, t(want), "out"), ("lse", lse, wlse, "lse")]


def dense_decode_speculative_causal(env):
    """Three query tokens (speculative decoding), bottom-right causal, MQA
    8/1, f16; a sequence shorter than the query keeps nothing in some rows."""
    q = env.randn(3, 3, 8, 64, "float16")
    k, v = env.randn(3, 2, 1, 64, "float16"), env.randn(3, 2, 1, 64, "float16")
    out, lse = env.attn.flash_dense_attn_func(q, k, v, is_causal=True, return_lse=True)
    q2 = env.randn(1, 3, 8, 64, "float16")
    k2, v2 = env.randn(1, 5000, 1, 64, "float16"), env.randn(1, 5000, 1, 64, "float16")
    out2 = env.attn.flash_dense_attn_func(q2, k2, v2, is_causal=True)
    if env.prebuild:
        return []
    t = lambda x: x.transpose(1, 2)
    want, wlse = ref_attention(env, t(q), t(k), t(v), keep=lambda h, i, j: j <= i - 1)
    want2, _ = ref_attention(env, t(q2), t(k2), t(v2), keep=lambda h, i, j: j <= i + 4997)
    return [("out", out, t(want), "out"), ("lse", lse, wlse, "lse"),
            ("long out", out2, t(want2), "out")]


CASES = [tools_validate_and_benchmark, sparse_softmax_varlen, gated_varlen,
         sparse_softmax_causal, gated_logsigmoid, flex_alibi_causal_gqa, flex_softcap_window_f16, flex_document_mask,
         dense_causal_gqa_window, dense_varlen_seqused, diy_v1_seq_lens, diy_v2_causal_bf16,
         dense_d192_dv128_gqa, flex_torch_block_mask,
         flex_relative_bias_2d_table, dense_decode_gqa_lse,
         dense_decode_speculative_causal, flashinfer_single_prefill_hnd,
         flashinfer_single_decode, flashinfer_batch_ragged,
         flashinfer_merge_states, flashinfer_paged_decode_graph,
         flashinfer_paged_prefill_hnd, flashinfer_ragged_custom_mask, flashinfer_rope,
         flashinfer_rope_paged, flashinfer_fp8_cache] + HARDENING + FLEX_CASES
