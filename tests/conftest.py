"""Shared test setup: skae is imported first so Keras loads with torch."""

import os
from pathlib import Path

import numpy as np
import pytest

import skae  # noqa: F401  (selects the torch backend before anything imports Keras)

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], float32."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target


@pytest.fixture(scope="session")
def data_dir():
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared data not found at {DATA_DIR}")
    return DATA_DIR


os.environ.setdefault("SKAE_TESTING", "1")
