"""The "auto" rules (skae._defaults) and how fit resolves them."""

import math

import numpy as np
import pytest

from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
    _defaults,
)

X = np.random.default_rng(0).random((60, 6))


# ---------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("n_samples", "expected"), [(1, 1), (37, 37), (200, 200), (10_000, 200)]
)
def test_batch_size_is_sklearn_mlp_rule(n_samples, expected):
    assert _defaults.batch_size(n_samples) == expected


def test_epochs_spend_the_step_budget_within_bounds():
    budget = _defaults.STEP_BUDGET
    # 10,000 rows in batches of 200: 50 steps an epoch.
    assert _defaults.epochs(10_000, 200) == math.ceil(budget / 50)
    # A tiny table would need thousands of epochs: capped.
    assert _defaults.epochs(30, 30) == _defaults.MAX_EPOCHS
    # A huge one would get a fraction of an epoch: at least the floor.
    assert _defaults.epochs(10_000_000, 200) == _defaults.MIN_EPOCHS
    steps = [
        math.ceil(n / 200) * _defaults.epochs(n, 200) for n in (20_000, 25_000, 40_000)
    ]
    assert all(
        budget <= s < budget + math.ceil(n / 200)
        for s, n in zip(steps, (20_000, 25_000, 40_000), strict=True)
    )


@pytest.mark.parametrize(
    ("n_features", "n_components", "expected"),
    [(64, 8, (128,)), (6, 2, (32,)), (784, 16, (256,)), (10, 40, (80,))],
)
def test_hidden_layer_sizes_follow_the_wider_side(n_features, n_components, expected):
    assert _defaults.hidden_layer_sizes(n_features, n_components) == expected


def test_resolve_keeps_explicit_values_and_fills_auto():
    resolved = _defaults.resolve(
        1_000,
        64,
        n_components=8,
        hidden_layer_sizes="auto",
        batch_size=50,
        epochs="auto",
    )
    assert resolved == {
        "n_components": 8,
        "hidden_layer_sizes": (128,),
        "batch_size": 50,
        # The budget counts steps of the resolved batch size: 20 an epoch.
        "epochs": 100,
    }


def test_resolve_without_a_rule_names_the_parameter():
    with pytest.raises(ValueError, match='n_components="auto" has no rule'):
        _defaults.resolve(
            100, 5, n_components="auto", hidden_layer_sizes=(), batch_size=1, epochs=1
        )


# ------------------------------------------------------- fit resolves them


@pytest.mark.parametrize(
    "cls",
    [
        AutoencoderTransformer,
        DenoisingAutoencoder,
        VariationalAutoencoder,
    ],  # the outlier detector has rules of its own: tests/test_outliers.py
)
def test_fit_resolves_auto_into_fitted_attributes(cls, monkeypatch):
    # A small budget keeps the test fast; the rule itself is tested above.
    monkeypatch.setattr(_defaults, "STEP_BUDGET", 4)
    monkeypatch.setattr(_defaults, "MIN_EPOCHS", 2)
    est = cls(n_components=2, device="cpu", random_state=0).fit(X)
    assert est.hidden_layer_sizes == "auto" and est.epochs == "auto"  # untouched
    assert est.hidden_layer_sizes_ == (32,)
    assert est.batch_size_ == 60
    assert est.epochs_ == 4  # 4 steps of one batch
    assert est.n_iter_ == 4
    assert est.n_components_ == 2
    # The network is the resolved one: 6 -> 32 -> code.
    dense = [w for w in est.encoder_.weights if w.path.endswith("kernel")]
    assert tuple(dense[0].shape) == (6, 32)


def test_explicit_values_are_used_and_stored():
    ae = AutoencoderTransformer(
        n_components=3, hidden_layer_sizes=(7,), epochs=2, device="cpu"
    ).fit(X)
    assert (ae.hidden_layer_sizes_, ae.epochs_, ae.n_iter_) == ((7,), 2, 2)
    kernels = [w for w in ae.encoder_.weights if w.path.endswith("kernel")]
    assert [tuple(k.shape) for k in kernels] == [(6, 7), (7, 3)]


def test_partial_fit_records_one_epoch():
    ae = AutoencoderTransformer(n_components=2, device="cpu").partial_fit(X)
    assert (ae.epochs_, ae.n_iter_) == (1, 1)


def test_warm_start_compares_resolved_architecture(monkeypatch):
    monkeypatch.setattr(_defaults, "STEP_BUDGET", 2)
    monkeypatch.setattr(_defaults, "MIN_EPOCHS", 1)
    ae = AutoencoderTransformer(n_components=2, warm_start=True, device="cpu").fit(X)
    # The explicit value auto resolved to is the same network: it continues.
    ae.set_params(hidden_layer_sizes=(32,)).fit(X)
    assert ae.n_iter_ == 4
    with pytest.raises(ValueError, match=r"hidden_layer_sizes from \(32,\) to \(8,\)"):
        ae.set_params(hidden_layer_sizes=(8,)).fit(X)


def test_a_failed_fit_publishes_no_resolved_attribute():
    ae = AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(0,), epochs=1, device="cpu"
    )
    with pytest.raises(ValueError, match="hidden_layer_sizes must be"):
        ae.fit(X)
    assert not hasattr(ae, "hidden_layer_sizes_")
