import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own on-disk kernel cache (prebuilt kernels still
    come from ATTN_KERNEL_DIR when set)."""
    monkeypatch.setenv("ATTN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def rng():
    import numpy as np
    return np.random.default_rng(1234)
