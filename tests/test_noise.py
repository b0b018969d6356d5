"""The corruption functions on their own."""

import numpy as np
import pytest
import torch

from skae._noise import corrupt


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def batch():
    return torch.rand((2000, 50), generator=_gen(1)) * 0.5 + 0.25


def test_gaussian_noise_has_the_requested_scale(batch):
    noisy = corrupt(batch, "gaussian", 0.3, _gen())
    assert noisy.shape == batch.shape and noisy.dtype == batch.dtype
    assert float((noisy - batch).std()) == pytest.approx(0.3, rel=0.02)
    assert float((noisy - batch).mean()) == pytest.approx(0.0, abs=0.01)


def test_masking_zeroes_the_requested_fraction(batch):
    noisy = corrupt(batch, "masking", 0.25, _gen())
    zeroed = (noisy == 0) & (batch != 0)
    assert float(zeroed.float().mean()) == pytest.approx(0.25, abs=0.01)
    kept = ~zeroed
    assert torch.equal(noisy[kept], batch[kept])


def test_salt_and_pepper_uses_the_given_extremes(batch):
    low, high = torch.full((50,), -3.0), torch.full((50,), 7.0)
    noisy = corrupt(batch, "salt_and_pepper", 0.2, _gen(), low=low, high=high)
    pepper, salt = noisy == -3.0, noisy == 7.0
    assert float(pepper.float().mean()) == pytest.approx(0.1, abs=0.01)
    assert float(salt.float().mean()) == pytest.approx(0.1, abs=0.01)
    untouched = ~(pepper | salt)
    assert torch.equal(noisy[untouched], batch[untouched])


def test_salt_and_pepper_defaults_to_zero_and_one(batch):
    noisy = corrupt(batch, "salt_and_pepper", 0.5, _gen())
    changed = noisy != batch
    assert set(np.unique(noisy[changed].numpy())) == {0.0, 1.0}


@pytest.mark.parametrize("kind", ["gaussian", "masking", "salt_and_pepper"])
def test_same_generator_seed_same_noise_and_input_untouched(kind, batch):
    original = batch.clone()
    first = corrupt(batch, kind, 0.3, _gen(5))
    second = corrupt(batch, kind, 0.3, _gen(5))
    assert torch.equal(first, second)
    assert not torch.equal(first, corrupt(batch, kind, 0.3, _gen(6)))
    assert torch.equal(batch, original)


def test_global_rng_untouched(batch):
    state = torch.random.get_rng_state()
    corrupt(batch, "gaussian", 0.3, _gen())
    assert torch.equal(state, torch.random.get_rng_state())


def test_unknown_kind(batch):
    with pytest.raises(ValueError, match="noise must be one of"):
        corrupt(batch, "speckle", 0.1, _gen())
