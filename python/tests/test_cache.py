"""Kernel caching: one compilation per specialization, never per length;
prebuilt GPU kernels on disk; a clear error when neither a kernel nor the
compiler exists."""
import os

import numpy as np
import pytest

import attn
from attn import _backend, _compiler
from attn._ir import AttentionSpec, Causal


def test_new_lengths_do_not_recompile(rng):
    before = attn.stats["compiled"]
    for s in (17, 64, 129):
        q = rng.standard_normal((1, 2, s, 32)).astype(np.float32)
        attn.flex_attention(q, q, q, block_mask=attn.create_block_mask("causal", s, s))
    assert attn.stats["compiled"] == before + 1
    q = rng.standard_normal((1, 2, 20, 32)).astype(np.float32)
    attn.flex_attention(q, q, q)  # no mask: another specialization
    assert attn.stats["compiled"] == before + 2


def test_spec_key_is_the_specialization():
    a = AttentionSpec(dtype="bf16", heads_q=8, heads_kv=2, head_dim=128, masks=(Causal(),))
    b = AttentionSpec(dtype="bf16", heads_q=8, heads_kv=2, head_dim=128, masks=(Causal(),))
    c = AttentionSpec(dtype="f16", heads_q=8, heads_kv=2, head_dim=128, masks=(Causal(),))
    assert a.key() == b.key() != c.key()


def test_prebuild_writes_gpu_kernels_once(tmp_path):
    q = attn.meta_tensor((2, 128, 4, 64), "bfloat16")
    before = attn.stats["compiled"]
    with attn.prebuild(str(tmp_path), chip="sm_90"):
        attn.flash_dense_attn_func(q, q, q, is_causal=True)
        attn.flash_dense_attn_func(q, q, q, is_causal=True)
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].endswith("-sm_90.attn")
    assert attn.stats["compiled"] == before + 1
    # The runtime can load what was written (no GPU needed to parse it).
    from attn._runtime import Kernel
    assert Kernel(str(tmp_path / files[0])).key.endswith("sm_90")


def test_prebuilt_kernels_are_found_without_the_compiler(tmp_path, monkeypatch):
    spec = AttentionSpec(dtype="f16", heads_q=4, heads_kv=4, head_dim=64, masks=(Causal(),))
    q = attn.meta_tensor((1, 64, 4, 64), "float16")
    with attn.prebuild(str(tmp_path), chip="sm_90"):
        attn.flash_dense_attn_func(q, q, q, is_causal=True)
    monkeypatch.setattr(_compiler, "_LIB", None)
    monkeypatch.setattr(_compiler, "_MISSING", "libAttnCompiler.so not found (test)")
    monkeypatch.setenv("ATTN_KERNEL_DIR", str(tmp_path))
    spec_used = AttentionSpec(dtype="f16", heads_q=4, heads_kv=4, head_dim=64,
                              masks=(Causal("bottom_right"),))
    assert _backend.gpu_kernel(spec_used, "sm_90").key.endswith("sm_90")
    with pytest.raises(attn.KernelNotFoundError, match=r"no compiled kernel .*sm_80.*f16"):
        _backend.gpu_kernel(spec, "sm_80")


def test_compile_errors_carry_the_diagnostics():
    with pytest.raises(attn.CompileError, match="cannot parse"):
        _compiler.compile_kernel("func.func @x(", "sm_90", "isa")
    with pytest.raises(attn.CompileError, match="GPU kernel needs f16 or bf16"):
        spec = AttentionSpec(dtype="f32", heads_q=2, heads_kv=2, head_dim=64)
        _compiler.compile_kernel(spec.to_mlir(), "sm_90", "isa")


def test_stale_cached_artifact_is_recompiled(tmp_path, monkeypatch):
    """An artifact of an older format in the cache is compiled again, not an
    error (a new runtime cannot load it)."""
    from attn import _backend
    from attn._ir import AttentionSpec
    monkeypatch.setenv("ATTN_CACHE_DIR", str(tmp_path))
    spec = AttentionSpec(dtype="f16", heads_q=2, heads_kv=2, head_dim=64)
    key = f"{spec.key()}-sm_90"
    own = _backend.compiled_cache_dir()
    path = os.path.join(own, f"{key}.attn")
    good = _backend._compile_into(own, key, spec, "sm_90")
    stale = bytearray(good)
    stale[8] = 1  # format version 1
    with open(path, "wb") as f:
        f.write(bytes(stale))
    _backend._gpu_kernels.pop(key, None)
    try:
        kernel = _backend.gpu_kernel(spec, "sm_90")
    finally:
        _backend._gpu_kernels.pop(key, None)
    with open(path, "rb") as f:
        assert kernel is not None and f.read()[8] == good[8]  # rewritten


def test_each_compiler_build_has_its_own_cache(tmp_path, monkeypatch):
    """Kernels are keyed by their spec, which does not change when the
    compiler does: another compiler build (another fingerprint) must not be
    served the kernels an older one cached."""
    monkeypatch.setenv("ATTN_CACHE_DIR", str(tmp_path))
    spec = AttentionSpec(dtype="f16", heads_q=2, heads_kv=2, head_dim=64)
    key = f"{spec.key()}-sm_90"
    first = _backend.compiled_cache_dir()
    _backend._compile_into(first, key, spec, "sm_90")
    monkeypatch.setattr(_compiler, "fingerprint", lambda: "another-build")
    second = _backend.compiled_cache_dir()
    assert second != first and os.path.dirname(second) == str(tmp_path)
    before = attn.stats["compiled"]
    _backend._gpu_kernels.pop(key, None)
    try:
        _backend.gpu_kernel(spec, "sm_90")
    finally:
        _backend._gpu_kernels.pop(key, None)
    assert attn.stats["compiled"] == before + 1  # compiled again, not reused
    assert os.path.exists(os.path.join(second, f"{key}.attn"))


def test_decode_steps_are_specialized_on_their_query_length(tmp_path):
    """On the GPU a query of at most DECODE_MAX_QUERY tokens is compiled with
    a static length (the compiler's decode strategy: split-KV with a merge
    kernel); each such length is one kernel, any cache length reuses it,
    and longer queries share the dynamic kernel."""
    from attn._runtime import Kernel
    before = attn.stats["compiled"]
    with attn.prebuild(str(tmp_path), chip="sm_90"):
        for cache in (100, 5000):
            q = attn.meta_tensor((2, 1, 32, 128), "bfloat16")
            kv = attn.meta_tensor((2, cache, 8, 128), "bfloat16")
            attn.flash_dense_attn_func(q, kv, kv)
        q = attn.meta_tensor((2, 3, 32, 128), "bfloat16")
        attn.flash_dense_attn_func(q, kv, kv)
        for sq in (_backend.DECODE_MAX_QUERY + 1, 300):
            q = attn.meta_tensor((2, sq, 32, 128), "bfloat16")
            attn.flash_dense_attn_func(q, kv, kv)
    assert attn.stats["compiled"] == before + 3
    assert len(os.listdir(tmp_path)) == 3
    spec = AttentionSpec(dtype="bf16", heads_q=32, heads_kv=8, head_dim=128, seq_q=1)
    assert "tensor<?x1x32x128xbf16>" in spec.to_mlir()
    # The decode kernel is a split-KV artifact: the runtime loads it.
    assert Kernel(str(tmp_path / f"{spec.key()}-sm_90.attn")).key.endswith("sm_90")


def test_static_query_length_is_checked():
    with pytest.raises(ValueError, match="seq_q must be a positive int"):
        AttentionSpec(heads_q=2, heads_kv=2, varlen=True, seq_q=1)
    with pytest.raises(ValueError, match="seq_q must be a positive int"):
        AttentionSpec(heads_q=2, heads_kv=2, seq_q=0)
