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
X20 = np.random.default_rng(1).random((60, 20))


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


def test_pca_epochs_shrink_with_the_code_and_stop_at_a_quarter():
    budget, cap = _defaults.PCA_STEP_BUDGET, _defaults.PCA_MAX_EPOCHS
    # MNIST-like: 50 steps an epoch; k=8 of 784 keeps most of the budget.
    assert _defaults.pca_epochs(10_000, 784, 8, 200) == math.ceil(
        budget * (1 - 8 / 196) / 50
    )
    # Wider codes train less, and not at all from d / 4 on.
    assert _defaults.pca_epochs(10_000, 784, 98, 200) == math.ceil(budget / 2 / 50)
    assert _defaults.pca_epochs(10_000, 784, 196, 200) == 0
    assert _defaults.pca_epochs(1_000, 64, 32, 200) == 0
    # Small data: the budget would be many passes; capped.
    assert _defaults.pca_epochs(300, 64, 2, 200) == cap


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
        init="auto",
        dropout="auto",
        hidden_layer_sizes="auto",
        batch_size=50,
        epochs="auto",
    )
    assert resolved == {
        "n_components": 8,
        "init": "pca",
        "dropout": _defaults.PCA_DROPOUT,
        "hidden_layer_sizes": (128,),
        "batch_size": 50,
        # The budget counts steps of the resolved batch size: 20 an epoch.
        "epochs": min(_defaults.PCA_MAX_EPOCHS, math.ceil(600 * 0.5 / 20)),
    }
    random = _defaults.resolve(
        1_000,
        64,
        pca_possible=False,
        n_components=8,
        init="auto",
        dropout="auto",
        hidden_layer_sizes=(16,),
        batch_size=50,
        epochs="auto",
    )
    assert (random["init"], random["dropout"], random["hidden_layer_sizes"]) == (
        "random",
        0.0,
        (16,),
    )
    assert random["epochs"] == 100  # 2,000 steps of 20 an epoch


def test_resolve_without_a_rule_names_the_parameter():
    with pytest.raises(ValueError, match='n_components="auto" has no rule'):
        _defaults.resolve(
            100,
            5,
            n_components="auto",
            init="random",
            dropout=0.0,
            hidden_layer_sizes=(),
            batch_size=1,
            epochs=1,
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
    # A small budget keeps the test fast; the rules themselves are tested above.
    monkeypatch.setattr(_defaults, "STEP_BUDGET", 4)
    monkeypatch.setattr(_defaults, "MIN_EPOCHS", 2)
    monkeypatch.setattr(_defaults, "PCA_STEP_BUDGET", 5)
    est = cls(n_components=2, device="cpu", random_state=0).fit(X20)
    params = ("hidden_layer_sizes", "epochs", "init", "dropout")
    assert all(getattr(est, name) == "auto" for name in params)  # untouched
    assert est.hidden_layer_sizes_ == (40,)
    assert est.batch_size_ == 60
    assert est.n_components_ == 2
    variational = cls is VariationalAutoencoder  # beta set: random start
    assert est.init_ == ("random" if variational else "pca")
    assert est.dropout_ == (0.0 if variational else _defaults.PCA_DROPOUT)
    # 4 steps from a random start; 5 * (1 - 2 / (20 / 4)) = 3 steps from PCA,
    # all 5 for the denoiser (its budget does not shrink with the code).
    expected = {VariationalAutoencoder: 4, DenoisingAutoencoder: 5}.get(cls, 3)
    assert est.epochs_ == est.n_iter_ == expected
    # The network is the resolved one: 20 -> 40 -> code.
    dense = [w for w in est.encoder_.weights if w.path.endswith("kernel")]
    assert tuple(dense[0].shape) == (20, 40)


def test_denoising_trains_at_any_width(monkeypatch):
    monkeypatch.setattr(_defaults, "PCA_STEP_BUDGET", 3)
    # A code of 10 of 20 features is past a quarter: the transformer keeps
    # PCA's solution, the denoiser still trains to undo its noise.
    ae = AutoencoderTransformer(n_components=10, device="cpu").fit(X20)
    dae = DenoisingAutoencoder(n_components=10, device="cpu").fit(X20)
    assert (ae.epochs_, ae.n_iter_) == (0, 0)
    assert (dae.epochs_, dae.n_iter_) == (3, 3)


def test_explicit_values_are_used_and_stored():
    ae = AutoencoderTransformer(
        n_components=3, hidden_layer_sizes=(7,), epochs=2, device="cpu"
    ).fit(X)
    assert (ae.hidden_layer_sizes_, ae.epochs_, ae.n_iter_) == ((7,), 2, 2)
    # A network sized by hand starts and trains as before the "auto" rules.
    assert (ae.init_, ae.dropout_) == ("random", 0.0)
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
    init, dropout = ae.init_, ae.dropout_
    ae.set_params(hidden_layer_sizes=(32,), init=init, dropout=dropout).fit(X)
    assert ae.n_iter_ == ae.epochs_ * 2
    with pytest.raises(ValueError, match=r"hidden_layer_sizes from \(32,\) to \(8,\)"):
        ae.set_params(hidden_layer_sizes=(8,)).fit(X)


def test_a_failed_fit_publishes_no_resolved_attribute():
    ae = AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(0,), epochs=1, device="cpu"
    )
    with pytest.raises(ValueError, match="hidden_layer_sizes must be"):
        ae.fit(X)
    assert not hasattr(ae, "hidden_layer_sizes_")


# ------------------------------------------------------------ PCA's start


def test_pca_start_is_pca_until_trained():
    """Before training, the code is PCA's transform and the reconstruction
    PCA's (sklearn's PCA as the reference)."""
    from sklearn.decomposition import PCA

    ae = AutoencoderTransformer(
        n_components=3, epochs=1, learning_rate=1e-12, device="cpu", random_state=0
    ).set_params(hidden_layer_sizes="auto")
    ae.fit(X20)
    pca = PCA(n_components=3).fit(X20)
    assert ae.init_ == "pca"
    np.testing.assert_allclose(ae.transform(X20), pca.transform(X20), atol=1e-4)
    np.testing.assert_allclose(
        ae.inverse_transform(ae.transform(X20)),
        pca.inverse_transform(pca.transform(X20)),
        atol=1e-4,
    )
    expected = pca.explained_variance_ratio_.sum()
    assert ae.explained_variance_fraction_ == pytest.approx(expected, abs=1e-4)


def test_explained_variance_fraction_by_hand():
    ae = AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(8,), epochs=3, device="cpu"
    ).fit(X20)
    residual = X20 - ae.inverse_transform(ae.transform(X20))
    by_hand = 1 - (residual**2).sum() / ((X20 - X20.mean(axis=0)) ** 2).sum()
    assert ae.explained_variance_fraction_ == pytest.approx(by_hand, rel=1e-5)


def test_init_pca_needs_a_dense_network():
    ae = AutoencoderTransformer(init="pca", image_shape=(4, 5), epochs=1)
    with pytest.raises(ValueError, match='init="pca" needs a dense network'):
        ae.fit(X20)


@pytest.mark.parametrize("seed", [0, 1])
def test_defaults_beat_pca_on_digits(seed):
    """The issue's claim, small: MinMaxScaler -> k features ->
    LogisticRegression on the digits, defaults against PCA(k)."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X_all, y = load_digits(return_X_y=True)
    split = train_test_split(X_all, y, test_size=0.3, random_state=0)
    X_train, X_test, y_train, y_test = split
    for k in (2, 16):
        scores = [
            make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=5000))
            .fit(X_train, y_train)
            .score(X_test, y_test)
            for reducer in (
                PCA(n_components=k, random_state=0),
                AutoencoderTransformer(n_components=k, device="cpu", random_state=seed),
            )
        ]
        assert scores[1] >= scores[0], (k, scores)
