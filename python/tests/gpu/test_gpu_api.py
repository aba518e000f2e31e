"""Every public function on the GPU against float64 torch (device machine;
skipped without torch/CUDA). Kernels come from the compiler when present,
else from ATTN_KERNEL_DIR (python/tests/gpu/prebuild.py).

    ATTN_KERNEL_DIR=build/python_kernels python3 -m pytest python/tests/gpu -v
"""
import os
import sys

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA GPU", allow_module_level=True)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attn  # noqa: E402
import cases  # noqa: E402


class TorchEnv:
    prebuild = False
    attn = attn
    F = torch
    torch = torch

    def __init__(self):
        self.g = torch.Generator(device="cuda").manual_seed(7)

    def randn(self, *shape):
        *dims, dtype = shape
        return torch.randn(*dims, device="cuda", dtype=getattr(torch, dtype), generator=self.g)

    def table(self, shape):
        return torch.randn(*shape, device="cuda", generator=self.g) * 0.5

    def rand(self, n, dtype):
        return torch.rand(n, device="cuda", dtype=getattr(torch, dtype), generator=self.g)

    def doc_ids(self, n, docs):
        cuts = torch.sort(torch.randperm(n - 1, device="cuda", generator=self.g)[:docs - 1]
                          + 1).values
        return torch.bucketize(torch.arange(n, device="cuda"), cuts, right=True).int()

    def ints(self, values):
        return torch.tensor(values, device="cuda", dtype=torch.int32)

    def cumsum(self, lens):
        return torch.tensor([0] + list(torch.tensor(lens).cumsum(0)), device="cuda",
                            dtype=torch.int32)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.__name__)
def test_public_function_on_gpu(case):
    checks = case(TorchEnv())
    assert checks
    for label, got, want, kind in checks:
        # One rounding of the output type: 2^-8 relative for bf16, 2^-11 f16.
        tol = 1.2e-2 if got.dtype == torch.bfloat16 else 2e-3
        got = got.double()
        want = want.double().to(got.device)
        assert not torch.isnan(got).any(), f"{label}: NaN in the output"
        if kind == "out":
            rel = ((got - want).norm() / want.norm()).item()
            print(f"{case.__name__} {label}: rel {rel:.2e}")
            assert rel < tol, f"{label}: relative error {rel:.2e} >= {tol}"
        elif kind == "lse":
            finite = torch.isfinite(want)
            err = (got[finite] - want[finite]).abs().max().item()
            print(f"{case.__name__} {label}: lse max err {err:.2e}")
            assert err < 1e-2 and torch.isneginf(got[~finite]).all()
        elif kind == "small":
            assert (got - want).abs().max().item() < 4e-3, label
        else:
            assert (got == 0).all(), f"{label}: not zero"


def test_unsupported_on_gpu_says_so():
    q = torch.randn(1, 64, 2, 64, device="cuda", dtype=torch.float16)
    with pytest.raises(TypeError, match="float16 or bfloat16"):
        attn.flash_dense_attn_func(q.float(), q.float(), q.float())
    with pytest.raises(ValueError, match="all be CUDA tensors"):
        attn.flash_dense_attn_func(q, q.cpu(), q)


def test_detect_gpu_and_tools():
    caps = attn.detect_gpu()
    assert caps.compute_capability >= (8, 0) and caps.num_sms > 0
    print(caps)


def test_runtime_strides_on_gpu():
    """The kernel reads the strides its memref types leave dynamic (here the
    batch stride) from the tensor, and the runtime rejects tensors whose
    other strides differ from the compiled ones (a transposed q)."""
    from attn._backend import _chip, gpu_kernel
    from attn._ir import AttentionSpec, Causal
    spec = AttentionSpec(dtype="bf16", heads_q=4, heads_kv=4, head_dim=128,
                         masks=(Causal(),), scale=0.07)  # diy_v2_causal_bf16's kernel
    kernel = gpu_kernel(spec, _chip(0))
    big = torch.randn(4, 1024, 4, 128, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(2, 1024, 4, 128, device="cuda", dtype=torch.bfloat16)
            for _ in range(2))
    strided = big[::2]  # batch stride twice the dense one
    assert not strided.is_contiguous()
    got = torch.full((2, 1024, 4, 128), float("nan"), device="cuda", dtype=torch.bfloat16)
    want = torch.full_like(got, float("nan"))
    kernel(strided, k, v, got)
    kernel(strided.contiguous(), k, v, want)
    torch.cuda.synchronize()
    assert torch.equal(got, want)
    transposed = torch.randn(2, 4, 1024, 128, device="cuda",
                             dtype=torch.bfloat16).transpose(1, 2)
    with pytest.raises(RuntimeError, match=r"\(q\) stride of dimension 1 must be 512"):
        kernel(transposed, k, v, got)


def test_split_kv_workspace_and_graph_capture():
    """A decode kernel splits the keys: the runtime sizes the workspace
    (splits x rows x (Dv + 1) floats), takes the caller's or allocates one
    stream-ordered, rejects one too small, needs none where one split per
    CTA fills the GPU, and replays correctly from a CUDA graph after the
    cache changes."""
    from attn._backend import _chip, gpu_kernel
    from attn._ir import AttentionSpec
    spec = AttentionSpec(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128, seq_q=1,
                         lse=True)  # dense_decode_gqa_lse's kernel
    kernel = gpu_kernel(spec, _chip(0))
    g = torch.Generator(device="cuda").manual_seed(3)
    rnd = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16, generator=g)
    q, k, v = rnd(2, 1, 32, 128), rnd(2, 9000, 8, 128), rnd(2, 9000, 8, 128)
    out = torch.full_like(q, float("nan"))
    lse = torch.full((2, 32, 1), float("nan"), device="cuda")
    need = kernel.workspace_size(q, k, v, out, lse)
    row_bytes = 2 * 32 * 129 * 4
    assert need > 0 and need % row_bytes == 0 and need // row_bytes >= 2, need
    ws = torch.empty(need, dtype=torch.uint8, device="cuda")
    kernel(q, k, v, out, lse, workspace=ws)
    out2, lse2 = torch.full_like(out, float("nan")), torch.full_like(lse, float("nan"))
    kernel(q, k, v, out2, lse2)  # the runtime's own workspace
    torch.cuda.synchronize()
    assert torch.equal(out, out2) and torch.equal(lse, lse2)
    with pytest.raises(RuntimeError, match="the workspace has .* bytes, this launch"):
        kernel(q, k, v, out, lse, workspace=ws[:need - 16])
    big_q = rnd(256, 1, 32, 128)
    big_kv = rnd(256, 64, 8, 128)
    assert kernel.workspace_size(big_q, big_kv, big_kv, torch.empty_like(big_q),
                                 torch.empty(256, 32, 1, device="cuda")) == 0

    # CUDA graph with the caller's workspace: replays see the new cache.
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        kernel(q, k, v, out, lse, workspace=ws)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        kernel(q, k, v, out, lse, workspace=ws)
    k.copy_(rnd(2, 9000, 8, 128))
    v.copy_(rnd(2, 9000, 8, 128))
    out.fill_(float("nan"))
    graph.replay()
    kernel(q, k, v, out2, lse2)
    torch.cuda.synchronize()
    assert torch.equal(out, out2) and torch.equal(lse, lse2)



def test_cached_launch_does_not_keep_inputs_alive():
    """flex_attention's launch cache keeps the kernel and the block mask,
    not the first call's q/k/v (the kernel of flex_cases'
    flex_repeated_calls_see_new_values)."""
    import gc
    import weakref
    slopes = torch.rand(4, device="cuda") * 0.2

    def alibi(s, b, h, qi, kj):
        return s - slopes[h] * (qi - kj)
    bm = attn.create_block_mask(lambda b, h, qi, kj: kj <= qi, None, None, 700, 700)
    first = torch.randn(1, 4, 700, 64, device="cuda", dtype=torch.bfloat16)
    attn.flex_attention(first, first, first, score_mod=alibi, block_mask=bm)  # lists to GPU
    q, k, v = (torch.randn(1, 4, 700, 64, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    refs = [weakref.ref(t) for t in (q, k, v)]
    out = attn.flex_attention(q, k, v, score_mod=alibi, block_mask=bm)
    del q, k, v
    gc.collect()
    assert all(r() is None for r in refs)
    q2, k2, v2 = (torch.randn(1, 4, 700, 64, device="cuda", dtype=torch.bfloat16)
                  for _ in range(3))
    again = attn.flex_attention(q2, k2, v2, score_mod=alibi, block_mask=bm)  # cached
    assert out.shape == again.shape and not torch.isnan(again).any()


def test_block_mask_kernel_compile_error_falls_back_exactly(monkeypatch):
    """A block-mask kernel that fails to compile is reported (a warning) and
    the lists come from the eager evaluation: the same lists as the
    kernel's, not every block listed as partial."""
    from attn import _backend, _compiler

    def causal(b, h, q, kv):  # traced as cases.py's causal mask_mod: prebuilt
        return kv <= q
    before = attn.stats["block_mask_launches"]
    good = attn.create_block_mask(causal, None, None, 1000, 1000, device="cuda")
    assert attn.stats["block_mask_launches"] == before + 1

    def broken(spec, chip):
        raise _compiler.CompileError("injected for the test")
    monkeypatch.setattr(_backend, "gpu_kernel", broken)
    before = attn.stats["block_mask_launches"]
    with pytest.warns(RuntimeWarning, match="did not compile .*injected"):
        eager = attn.create_block_mask(causal, None, None, 1000, 1000, device="cuda")
    assert attn.stats["block_mask_launches"] == before
    for name, want in good.block_lists().items():
        assert torch.equal(eager.block_lists()[name].to(want.device), want), name
