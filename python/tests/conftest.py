import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# ATTN_TEST_INSTALLED=1 tests the installed package (e.g. a wheel in a fresh
# target directory, with its bundled libraries) instead of the checkout.
if os.environ.get("ATTN_TEST_INSTALLED") != "1":
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
