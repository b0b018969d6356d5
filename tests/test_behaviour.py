"""Behaviours checked against independent references: by-hand computations,
Keras's own ``fit``, and what the estimator was given.

Each test states one documented behaviour that a one-line bug could break
while every other test still passes: restoring the best epoch, keeping the
validation rows out of training, the scoring losses, the VAE's sampling spread
and ELBO score, continued training, fresh noise and batch order per epoch, and
the threshold's side.
"""

import keras
import numpy as np
import pytest
import torch

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)
from skae._networks import build_autoencoder, join
from skae._training import train

FAST = dict(hidden_layer_sizes=(16,), device="cpu", random_state=0)


class WeightsPerEpoch(keras.callbacks.Callback):
    """Records the model's weights and logs at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights, self.logs, self.initial = [], [], None

    def on_train_begin(self, logs=None):
        self.initial = [w.copy() for w in self.model.get_weights()]

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.get_weights()])
        self.logs.append(dict(logs))


def _weights(estimator):
    return estimator.encoder_.get_weights() + estimator.decoder_.get_weights()


# ------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "Estimator",
    [
        AutoencoderTransformer,
        DenoisingAutoencoder,
        AutoencoderOutlierDetector,
        VariationalAutoencoder,
    ],
)
def test_every_parameter_reaches_the_estimator_as_given(Estimator):
    """Each constructor hands every parameter on, unchanged, to get_params."""
    given = {name: object() for name in Estimator().get_params()}
    params = Estimator(**given).get_params()
    assert [name for name in given if params[name] is not given[name]] == []


# ------------------------------------------------------------ early stopping


def test_early_stopping_restores_the_best_epochs_weights(digits):
    X, _ = digits
    recorder = WeightsPerEpoch()
    ae = AutoencoderTransformer(
        **dict(FAST, epochs=100),
        learning_rate=0.05,  # large steps: the validation loss goes up and down
        early_stopping=True,
        patience=2,
        callbacks=[recorder],
    ).fit(X[:300])
    val_loss = [logs["val_loss"] for logs in recorder.logs]
    best = int(np.argmin(val_loss))
    assert ae.n_iter_ < 100 and best < ae.n_iter_ - 1  # stopped after the best
    for restored, recorded in zip(_weights(ae), recorder.weights[best], strict=True):
        np.testing.assert_array_equal(restored, recorded)
    # Not the last epoch's weights.
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(_weights(ae), recorder.weights[-1], strict=True)
    )


# ------------------------------------------------------- validation rows


class RowRecorder:
    """A per-row mse loss that notes the target rows it is given.

    Rows seen with gradients enabled are trained on; rows seen without are
    evaluated (validation, scoring).
    """

    def __init__(self):
        self.trained, self.evaluated = [], []

    def __call__(self, y_true, y_pred):
        if y_pred is y_true:
            # fit's check that the loss gives one value per row (two rows
            # against themselves, before training): no network, no step.
            return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)
        rows = keras.ops.convert_to_numpy(y_true).copy()
        (self.trained if torch.is_grad_enabled() else self.evaluated).append(rows)
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


def _row_ids(X, batches):
    """Index in ``X`` of every row of ``batches``, in order (rows are unique)."""
    lookup = {row.tobytes(): i for i, row in enumerate(X)}
    return [[lookup[row.tobytes()] for row in batch] for batch in batches]


def test_validation_rows_are_held_out_of_training():
    X = np.random.default_rng(0).random((100, 6)).astype(np.float32)
    loss = RowRecorder()
    ae = AutoencoderTransformer(
        **dict(FAST, epochs=2),
        n_components=2,
        loss=loss,
        batch_size=10,
        validation_fraction=0.3,
    ).fit(X)
    trained = _row_ids(X, loss.trained)
    evaluated = _row_ids(X, loss.evaluated)
    # 70 training rows: 7 steps of 10 rows per epoch, each row once per epoch.
    assert len(trained) == 14 and ae.n_iter_ == 2
    for epoch in (trained[:7], trained[7:]):
        assert sorted(i for batch in epoch for i in batch) == sorted(
            set(i for batch in epoch for i in batch)
        )
    train_rows = {i for batch in trained for i in batch}
    val_rows = {i for batch in evaluated for i in batch}
    assert len(train_rows) == 70 and len(val_rows) == 30
    assert train_rows.isdisjoint(val_rows)
    # The validation loss is the mse of exactly those rows.
    val = X[sorted(val_rows)]
    reconstruction = ae.inverse_transform(ae.transform(val))
    np.testing.assert_allclose(
        ae.history_["val_loss"][-1], np.mean((val - reconstruction) ** 2), rtol=1e-4
    )


# ------------------------------------------------------------------- losses


def _reconstruct(estimator, X):
    """The reconstruction through the fitted Keras encoder and decoder."""
    code = estimator.encoder_.predict(X, verbose=0)
    return estimator.decoder_.predict(code, verbose=0)


BY_HAND = {
    "mse": lambda x, r: np.mean((x - r) ** 2, axis=1),
    "mae": lambda x, r: np.mean(np.abs(x - r), axis=1),
    "huber": lambda x, r: np.mean(
        np.where(np.abs(x - r) <= 1, 0.5 * (x - r) ** 2, np.abs(x - r) - 0.5), axis=1
    ),
    "binary_crossentropy": lambda x, r: (
        -np.mean(
            x * np.log(np.clip(r, 1e-7, 1 - 1e-7))
            + (1 - x) * np.log(np.clip(1 - r, 1e-7, 1 - 1e-7)),
            axis=1,
        )
    ),
}


@pytest.mark.parametrize(
    "Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector]
)
@pytest.mark.parametrize("loss", list(BY_HAND))
def test_score_samples_is_minus_the_loss_by_hand(Estimator, loss, digits):
    X, _ = digits
    # Scaled to [0, 3] (or [0, 1] for cross-entropy) so that errors above one,
    # where huber and mse part, occur.
    X = X[:150] if loss == "binary_crossentropy" else 3 * X[:150]
    params = dict(FAST, epochs=2, loss=loss)
    if Estimator is AutoencoderOutlierDetector:
        # Two plain members, errors unscaled: each member's error is its loss
        # summed over the features, standardised below by hand.
        params.update(n_estimators=2, beta=None, scale_errors=False)
    est = Estimator(**params).fit(X)
    reconstruction = _reconstruct(est, X)
    if loss == "huber":
        assert np.any(
            np.abs(X[:, None] - reconstruction.reshape(len(X), -1, X.shape[1])) > 1
        )
    if Estimator is AutoencoderOutlierDetector:
        assert reconstruction.shape == (len(X), 2, X.shape[1])  # members' own
        errors = _detector_errors(
            np.stack(
                [BY_HAND[loss](X, reconstruction[:, m]) * X.shape[1] for m in range(2)],
                axis=1,
            )
        )
        # Standardised errors are of order one and cross zero: float32's
        # rounding of a sum over 64 features, over the spread, is ~1e-5.
        atol = 1e-4
    else:
        errors, atol = BY_HAND[loss](X, reconstruction), 1e-6
    np.testing.assert_allclose(-est.score_samples(X), errors, rtol=2e-4, atol=atol)
    assert est.score(X) == pytest.approx(-errors.mean(), rel=2e-4, abs=atol)


def _detector_errors(member_errors, train_errors=None):
    """The detector's combined error from its members' errors ``(n, m)``.

    Each member's errors are standardised by their median and interquartile
    range on the training rows (``train_errors``, by default the rows scored:
    fewer than the 10,000 the detector keeps, so all of them), then averaged.
    """
    train_errors = member_errors if train_errors is None else train_errors
    median = np.median(train_errors, axis=0)
    q1, q3 = np.percentile(train_errors, [25, 75], axis=0)
    spread = np.maximum(q3 - q1, 1e-3 * np.abs(median) + 1e-12)
    return ((member_errors - median) / spread).mean(axis=1)


# ----------------------------------------------------------------- the VAE


def _posterior(estimator, X):
    """``(mean, log_var)`` of the encoder's Gaussian for each row of ``X``."""
    encoder = estimator.encoder_
    model = keras.Model(
        encoder.input,
        [encoder.get_layer("z_mean").output, encoder.get_layer("z_log_var").output],
    )
    mean, log_var = model.predict(X, verbose=0)
    return mean.astype(np.float64), log_var.astype(np.float64)


@pytest.fixture(scope="module")
def vae(digits):
    X, _ = digits
    return VariationalAutoencoder(
        **dict(FAST, epochs=5), n_components=3, beta=4.0, loss="binary_crossentropy"
    ).fit(X[:300])


def test_vae_samples_with_the_posteriors_standard_deviation(vae, digits):
    X, _ = digits
    encoder = vae.encoder_
    # Move the log-variance well away from 0, where a variance and a standard
    # deviation coincide: exp(-3) = 0.05 is the variance, 0.22 the std.
    log_var_layer = encoder.get_layer("z_log_var")
    kernel, bias = log_var_layer.get_weights()
    log_var_layer.set_weights([np.zeros_like(kernel), np.full_like(bias, -3.0)])
    try:
        row = np.repeat(X[:1], 20_000, axis=0)
        mean, log_var = _posterior(vae, row[:1])
        draws = keras.ops.convert_to_numpy(encoder(row, training=True))
    finally:
        log_var_layer.set_weights([kernel, bias])
    np.testing.assert_allclose(log_var, -3.0, atol=1e-6)
    # 20,000 draws: the sample std is within 2 % of the true one (8 sigma).
    np.testing.assert_allclose(draws.std(axis=0), np.exp(0.5 * log_var[0]), rtol=0.02)
    np.testing.assert_allclose(draws.mean(axis=0), mean[0], atol=0.02)


@pytest.mark.parametrize("kind", ["vae", "detector"])
def test_elbo_score_does_not_weight_the_kl_by_beta(kind, vae, digits):
    X, _ = digits
    if kind == "vae":
        mean, log_var = _posterior(vae, X[:40])
        kl = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=1)
        assert np.all(kl > 1e-3)  # a KL term that weighting would change
        reconstruction = vae.decoder_.predict(mean.astype(np.float32), verbose=0)
        loss = BY_HAND["binary_crossentropy"](X[:40], reconstruction) * X.shape[1]
        np.testing.assert_allclose(-vae.score_samples(X[:40]), loss + kl, rtol=1e-4)
        return
    # The detector: an ensemble of variational members, each scoring a row by
    # its negative ELBO; the members' scores are then standardised on the
    # training rows (see _detector_errors), errors unscaled per feature.
    est = AutoencoderOutlierDetector(
        **dict(FAST, epochs=3),
        n_components=3,
        n_estimators=2,
        beta=4.0,
        loss="mse",
        scale_errors=False,
    ).fit(X[:300])

    def negative_elbo(rows):
        encoder = est.encoder_
        params = keras.Model(encoder.input, encoder.get_layer("z_mean_log_var").output)
        mean, log_var = np.split(
            params.predict(rows, verbose=0).astype(np.float64), 2, -1
        )
        assert mean.shape == (len(rows), 2, 3)
        kl = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=-1)
        reconstruction = est.decoder_.predict(mean.astype(np.float32), verbose=0)
        loss = np.stack(
            [BY_HAND["mse"](rows, reconstruction[:, m]) for m in range(2)], axis=1
        )
        return loss * rows.shape[1] + kl, kl

    train_errors, _ = negative_elbo(X[:300])
    errors, kl = negative_elbo(X[:40])
    assert np.all(kl > 1e-3)  # a KL term that weighting would change
    np.testing.assert_allclose(
        -est.score_samples(X[:40]),
        _detector_errors(errors, train_errors),
        rtol=1e-4,
        atol=1e-5,
    )


# ------------------------------------------------------ continued training


def _keras_reference(recorder, X, epochs, learning_rate):
    """The model ``recorder`` saw start, trained by Keras ``fit`` in one run."""
    model = keras.models.clone_model(recorder.model)
    model.set_weights(recorder.initial)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    history = model.fit(
        X, X, batch_size=len(X), epochs=epochs, shuffle=False, verbose=0
    )
    return model.get_weights(), history.history["loss"]


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continued_training_equals_one_keras_fit(how, digits):
    """Two fits of two epochs (or four partial fits) are one fit of four.

    Full batches make the order of rows irrelevant, so Keras ``fit`` on the
    same starting weights is an independent reference: Adam's bias correction
    must carry on from the step count reached, not restart.
    """
    X = digits[0][:120]
    recorder = WeightsPerEpoch()
    params = dict(**FAST, learning_rate=0.01, batch_size=len(X), callbacks=[recorder])
    if how == "warm_start":
        ae = AutoencoderTransformer(**params, epochs=2, warm_start=True)
        ae.fit(X)
        initial = recorder.initial
        ae.fit(X)
    else:
        ae = AutoencoderTransformer(**params)
        ae.partial_fit(X)
        initial = recorder.initial
        for _ in range(3):
            ae.partial_fit(X)
    recorder.initial = initial
    weights, losses = _keras_reference(recorder, X, 4, 0.01)
    assert ae.n_iter_ == 4
    np.testing.assert_allclose(ae.history_["loss"], losses, rtol=1e-4)
    for a, b in zip(_weights(ae), weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


# ------------------------------------------------- noise and batch order


def _small_model():
    return join(*build_autoencoder(6, n_components=2, hidden_layer_sizes=(8,), seed=0))


def _noise_and_order(seed, epochs=3, keras_fit=False):
    """The noise each batch got and the rows in each batch, by epoch."""
    X = np.random.default_rng(1).random((40, 6)).astype(np.float32)
    noise, rows = [], []

    def corrupt(batch, generator):
        drawn = torch.randn(batch.shape, generator=generator)
        noise.append(drawn.numpy().copy())
        rows.append(batch.numpy().copy())
        return batch + 0.1 * drawn

    class Custom(keras.Model):  # overriding train_step selects Keras fit
        def train_step(self, *args, **kwargs):
            return super().train_step(*args, **kwargs)

    model = _small_model()
    if keras_fit:
        model = Custom(model.input, model.output)
    train(
        model,
        X,
        loss="mse",
        optimizer=keras.optimizers.Adam(0.01),
        epochs=epochs,
        batch_size=10,
        corrupt=corrupt,
        seed=seed,
    )
    per_epoch = len(noise) // epochs
    noise = [
        np.concatenate(noise[i : i + per_epoch])
        for i in range(0, len(noise), per_epoch)
    ]
    order = [
        [i for batch in _row_ids(X, rows[j : j + per_epoch]) for i in batch]
        for j in range(0, len(rows), per_epoch)
    ]
    return noise, order


@pytest.mark.parametrize("keras_fit", [False, True], ids=["fast", "keras_fit"])
def test_noise_is_fresh_every_epoch_and_reproducible(keras_fit):
    noise, _ = _noise_and_order(3, keras_fit=keras_fit)
    again, _ = _noise_and_order(3, keras_fit=keras_fit)
    other, _ = _noise_and_order(4, keras_fit=keras_fit)
    assert len(noise) == 3
    for a, b in zip(noise, again, strict=True):
        np.testing.assert_array_equal(a, b)
    for i in range(3):
        for j in range(i + 1, 3):
            # Independent draws: correlation near 0, not 1.
            assert abs(np.corrcoef(noise[i].ravel(), noise[j].ravel())[0, 1]) < 0.2
        assert abs(np.corrcoef(noise[i].ravel(), other[i].ravel())[0, 1]) < 0.2


@pytest.mark.parametrize("keras_fit", [False, True], ids=["fast", "keras_fit"])
def test_batch_order_changes_every_epoch_and_is_reproducible(keras_fit):
    _, order = _noise_and_order(3, keras_fit=keras_fit)
    _, again = _noise_and_order(3, keras_fit=keras_fit)
    _, other = _noise_and_order(4, keras_fit=keras_fit)
    assert order == again
    assert all(sorted(epoch) == list(range(40)) for epoch in order)
    assert len({tuple(epoch) for epoch in order}) == 3  # a new order each epoch
    assert order != other


def test_estimator_batch_order_changes_every_epoch_and_follows_random_state():
    X = np.random.default_rng(2).random((60, 6)).astype(np.float32)

    def orders(random_state):
        loss = RowRecorder()
        AutoencoderTransformer(
            **dict(FAST, epochs=3, random_state=random_state),
            n_components=2,
            loss=loss,
            batch_size=20,
        ).fit(X)
        ids = _row_ids(X, loss.trained)
        return [sum(ids[i : i + 3], []) for i in range(0, 9, 3)]

    first, again, other = orders(0), orders(0), orders(1)
    assert first == again and first != other
    assert len({tuple(epoch) for epoch in first}) == 3


# ---------------------------------------------------------------- threshold


def test_rows_exactly_on_the_threshold_are_inliers(digits):
    X, _ = digits
    detector = AutoencoderOutlierDetector(**dict(FAST, epochs=2)).fit(X[:200])
    scores = detector.score_samples(X[:200])
    on_line = int(np.argsort(scores)[100])
    detector.offset_ = float(scores[on_line])
    decision = detector.decision_function(X[:200])
    assert decision[on_line] == 0.0
    labels = detector.predict(X[:200])
    assert labels[on_line] == 1
    np.testing.assert_array_equal(labels, np.where(decision >= 0, 1, -1))
    assert np.sum(labels == -1) == np.sum(scores < scores[on_line])


# ------------------------------------------------------ fused optimizer step


def _fused(optimizer):
    from skae._optim import make_step

    model = _small_model()
    return make_step(optimizer, model.trainable_variables).fused


@pytest.mark.parametrize(
    "make, fused",
    [
        (lambda: keras.optimizers.Adam(0.01), True),
        (lambda: keras.optimizers.AdamW(0.01), True),
        (lambda: keras.optimizers.SGD(0.1, momentum=0.9), True),
        (lambda: keras.optimizers.RMSprop(0.01, momentum=0.5), True),
        (lambda: keras.optimizers.Adam(0.01, clipnorm=1.0), True),
        (lambda: keras.optimizers.Adam(0.01, amsgrad=True), False),
        (lambda: keras.optimizers.RMSprop(0.01, centered=True), False),
        (lambda: keras.optimizers.Adam(0.01, use_ema=True), False),
        (lambda: keras.optimizers.Adam(0.01, clipvalue=1.0), False),
        (lambda: keras.optimizers.Adam(0.01, global_clipnorm=1.0), False),
        (lambda: keras.optimizers.Adam(0.01, gradient_accumulation_steps=2), False),
        (lambda: keras.optimizers.Adam(0.01, loss_scale_factor=2.0), False),
        (
            lambda: keras.optimizers.Adam(
                keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
            ),
            False,
        ),
        (lambda: type("MyAdam", (keras.optimizers.Adam,), {})(0.01), False),
        # Fused too, each checked against Keras fit's losses and weights in
        # test_hardening.py::test_new_fused_optimizers_follow_keras_fit.
        (lambda: keras.optimizers.Nadam(0.01), True),
        (lambda: keras.optimizers.Adagrad(0.05), True),
        (lambda: keras.optimizers.Adamax(0.01), True),
        (lambda: keras.optimizers.Adadelta(1.0), True),
        (lambda: keras.optimizers.Lion(0.001), True),
        # An optimizer with no fused update.
        (lambda: keras.optimizers.Ftrl(0.01), False),
    ],
)
def test_fused_update_only_where_it_computes_the_keras_update(make, fused):
    """The fused torch update runs for the configurations it reproduces (the
    loss curves of test_training.py) and every other one gets Keras's own."""
    assert _fused(make()) is fused


# ------------------------------------------------------------------- noise


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_noise_equals_the_draws_by_hand(dtype):
    """Each kind of corruption, recomputed from the same generator's draws."""
    from skae._noise import corrupt

    x = torch.rand((50, 8), generator=torch.Generator().manual_seed(0), dtype=dtype)

    def draws(fn):
        return fn((50, 8), generator=torch.Generator().manual_seed(7), dtype=dtype)

    def noisy(kind, level, **extremes):
        out = corrupt(x, kind, level, torch.Generator().manual_seed(7), **extremes)
        assert out.dtype == dtype
        return out

    torch.testing.assert_close(
        noisy("gaussian", 0.3), x + 0.3 * draws(torch.randn), rtol=0, atol=0
    )
    u = draws(torch.rand)
    torch.testing.assert_close(noisy("masking", 0.4), torch.where(u < 0.4, 0, x))
    low, high = torch.full((8,), -2.0, dtype=dtype), torch.full((8,), 5.0, dtype=dtype)
    expected = torch.where(u < 0.2, -2.0, torch.where(u < 0.4, 5.0, x)).to(dtype)
    torch.testing.assert_close(
        noisy("salt_and_pepper", 0.4, low=low, high=high), expected
    )
