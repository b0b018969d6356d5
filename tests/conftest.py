"""Shared test setup: skae is imported first so Keras loads with torch."""

import os
from pathlib import Path

import skae  # noqa: F401  (selects the torch backend before anything imports Keras)

# isort: split
import numpy as np
import pytest
import torch

# One torch thread for the whole suite. The tests check behaviour, not speed;
# one thread gives the same float results on every machine and keeps the suite
# fast where other processes share the cores, which makes several OpenMP
# threads wait on each other (see skae._training.FLOPS_PER_THREAD).
torch.set_num_threads(1)

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], float32."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target


@pytest.fixture(scope="session")
def data_dir():
    """The shared data folder: skipped where it is missing, except in CI.

    CI (``CI=true``, as ``.ci/run`` sets) must run the data tests, so there a
    missing folder fails them instead of letting the suite pass without them.
    """
    if not DATA_DIR.is_dir():
        message = f"shared data not found at {DATA_DIR}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message} (CI=true: the data tests must run)")
        pytest.skip(message)
    return DATA_DIR
