"""Faults, bad input, concurrency, persistence: each case behaves as it should.

One test (or a few) per failure an outside audit found; each compares with an
independent reference (a sequential run, Keras's own fit, repeated rows, the
state before the call).
"""

import importlib.util
import os
import pickle
import subprocess
import sys
import threading
import tracemalloc
import warnings

import keras
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import skae
import skae._training as training
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)
from skae._networks import build_autoencoder, join
from skae._optim import make_step
from skae.exceptions import InconsistentVersionWarning

FAST = dict(hidden_layer_sizes=(16,), epochs=3, device="cpu", random_state=0)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(300, 8)).astype(np.float32)


def _state(est):
    """Everything a fit may change: weights, optimizer state, counters, history."""
    return {
        "weights": [w.copy() for w in est._model.get_weights()],
        "optimizer": [
            np.array(v.value.detach().cpu().numpy()) for v in est._optimizer.variables
        ],
        "n_iter_": est.n_iter_,
        "history_": {k: list(v) for k, v in est.history_.items()},
        "offset_": getattr(est, "offset_", None),
        "n_features_in_": est.n_features_in_,
    }


def _assert_same_state(a, b):
    assert a["n_iter_"] == b["n_iter_"]
    assert a["history_"] == b["history_"]
    assert a["offset_"] == b["offset_"]
    assert a["n_features_in_"] == b["n_features_in_"]
    for key in ("weights", "optimizer"):
        assert len(a[key]) == len(b[key])
        for x, y in zip(a[key], b[key], strict=True):
            np.testing.assert_array_equal(x, y)


class _Raise(keras.callbacks.Callback):
    """Raise ``error`` at the end of batch ``at`` (counted over the whole fit)."""

    def __init__(self, error, at=1):
        super().__init__()
        self.error, self.at, self.seen = error, at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen > self.at:
            raise self.error


# ---------------------------------------------------------------- item 1


@pytest.mark.parametrize(
    "est",
    [
        VariationalAutoencoder(**FAST, n_components=2),
        AutoencoderOutlierDetector(**FAST, beta=1.0),
    ],
    ids=["vae", "detector_beta"],
)
def test_concurrent_variational_scores_equal_sequential(est):
    est.fit(X)
    a, b = X[:150] * 3.0, RNG.normal(size=(700, 8)).astype(np.float32)
    expected = [est.score_samples(a), est.score_samples(b)]
    results = {i: [] for i in range(8)}

    def work(i):
        for _ in range(5):
            results[i].append(est.score_samples(a if i % 2 == 0 else b))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, scores in results.items():
        for s in scores:
            np.testing.assert_array_equal(s, expected[i % 2])


def test_variational_layer_keeps_no_per_call_kl():
    vae = VariationalAutoencoder(**FAST).fit(X)
    vae.score_samples(X[:10])
    sampling = vae._model.get_layer("encoder").get_layer("sampling")
    assert not hasattr(sampling, "last_kl")


# ---------------------------------------------------------------- item 2


def test_values_beyond_float32_are_refused_at_fit():
    bad = X.astype(np.float64)
    bad[3, 2] = 1e300
    est = AutoencoderOutlierDetector(**FAST)
    with pytest.raises(ValueError, match="X has values .* beyond float32"):
        est.fit(bad)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.parametrize("method", ["score_samples", "score", "predict"])
def test_values_beyond_float32_are_refused_at_inference(method):
    det = AutoencoderOutlierDetector(**FAST).fit(X)
    bad = X[:20].astype(np.float64)
    bad[0, 0] = -1e300
    with pytest.raises(ValueError, match="X has values .* beyond float32"):
        getattr(det, method)(bad)
    # Within float32's range, a value whose square is not (1e30) scores as a
    # finite outlier: score() stays finite.
    big = X[:20].astype(np.float64)
    big[0, 0] = 1e30
    scores = det.score_samples(big)
    assert np.isfinite(scores).all() and scores[0] < -1e20
    assert np.isfinite(det.score(big)) and det.predict(big)[0] == -1


# -------------------------------------------------------------- items 3 and 4


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt(), RuntimeError("callback failed")], ids=repr
)
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_interrupted_continued_fit_restores_the_previous_fit(error, how):
    det = AutoencoderOutlierDetector(**FAST, batch_size=50).fit(X)
    det.partial_fit(X)  # the optimizer has state to lose
    before = _state(det)
    det.set_params(callbacks=[_Raise(error, at=2)], warm_start=True)
    with pytest.raises(type(error)):
        if how == "warm_start":
            det.fit(X)
        else:
            det.partial_fit(X)
    _assert_same_state(_state(det), before)
    # ... and it continues as if nothing had happened.
    det.set_params(callbacks=None)
    reference = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(
        det.partial_fit(X).score_samples(X), reference.partial_fit(X).score_samples(X)
    )


def test_non_finite_loss_in_continued_fit_restores_optimizer_state():
    est = AutoencoderTransformer(**FAST, optimizer="sgd").fit(X)
    before = _state(est)
    est.set_params(warm_start=True, learning_rate=1e6)
    with pytest.raises(ValueError, match="NaN or infinite"):
        est.fit(X * 1e3)
    after = _state(est)
    _assert_same_state(after, before)  # the learning rate variable included


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("boom")], ids=repr)
def test_failed_first_fit_leaves_the_estimator_unfitted(error):
    est = AutoencoderTransformer(**FAST, callbacks=[_Raise(error)])
    with pytest.raises(type(error)):
        est.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        est.transform(X)
    fitted = [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
    assert fitted == []


def test_failed_refit_on_other_width_keeps_the_previous_fit():
    est = AutoencoderTransformer(**FAST).fit(X)
    before, codes = _state(est), est.transform(X)
    wider = RNG.normal(size=(100, 11))
    est.set_params(callbacks=[_Raise(RuntimeError("boom"))])
    with pytest.raises(RuntimeError):
        est.fit(wider)
    assert est.n_features_in_ == 8
    _assert_same_state(_state(est), before)
    np.testing.assert_array_equal(est.transform(X), codes)


# ---------------------------------------------------------------- item 5


def test_scalar_loss_is_refused_before_training():
    def scalar_mse(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred))

    est = AutoencoderTransformer(**FAST, loss=scalar_mse)
    with pytest.raises(ValueError, match="one value per sample"):
        est.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_per_sample_loss_callable_trains_and_scores():
    def row_mse(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    a = AutoencoderTransformer(**FAST, loss=row_mse).fit(X)
    b = AutoencoderTransformer(**FAST, loss="mse").fit(X)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-4)


# ---------------------------------------------------------------- item 6


@pytest.mark.parametrize(
    "alias, name",
    [
        ("mean_squared_error", "mse"),
        ("MeanSquaredError", "mse"),
        ("MSE", "mse"),
        ("mean_absolute_error", "mae"),
        ("BinaryCrossentropy", "binary_crossentropy"),
        ("bce", "binary_crossentropy"),
    ],
)
def test_keras_loss_names_train_as_the_short_name(alias, name):
    data = (X - X.min()) / (X.max() - X.min())
    a = AutoencoderTransformer(**FAST, loss=alias).fit(data)
    b = AutoencoderTransformer(**FAST, loss=name).fit(data)
    np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-5)
    np.testing.assert_allclose(a.score_samples(data), b.score_samples(data), rtol=1e-5)


@pytest.mark.parametrize("loss", ["log_cosh", "huber", "msle"])
def test_other_keras_losses_train(loss):
    data = np.abs(X)
    est = AutoencoderTransformer(**FAST, loss=loss).fit(data)
    assert est.history_["loss"][-1] < est.history_["loss"][0]
    reference = keras.losses.get(loss)(data, est.inverse_transform(est.transform(data)))
    np.testing.assert_allclose(
        -est.score_samples(data), keras.ops.convert_to_numpy(reference), rtol=1e-4
    )


@pytest.mark.parametrize(
    "name", ["Adam", "ADAM", "nadam", "adagrad", "adamax", "adadelta", "lion", "ftrl"]
)
def test_keras_optimizer_names_are_accepted(name):
    est = AutoencoderTransformer(**FAST, optimizer=name, learning_rate=0.01).fit(X)
    expected = type(keras.optimizers.get(name))
    assert type(est._optimizer) is expected
    assert float(est._optimizer.learning_rate.value) == pytest.approx(0.01)
    assert np.isfinite(est.history_["loss"]).all()


def test_optimizer_name_in_another_case_trains_the_same():
    a = AutoencoderTransformer(**FAST, optimizer="Adam").fit(X)
    b = AutoencoderTransformer(**FAST, optimizer="adam").fit(X)
    np.testing.assert_array_equal(a.history_["loss"], b.history_["loss"])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "no_such_loss"}, "'loss' parameter"),
        ({"loss": "mse_"}, "'loss' parameter"),
        ({"optimizer": "no_such_optimizer"}, "'optimizer' parameter"),
        ({"optimizer": "lossscaleoptimizer"}, "'optimizer' parameter"),
    ],
)
def test_unknown_keras_names_name_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**FAST, **params).fit(X)


_FUSED = {
    "nadam": lambda: keras.optimizers.Nadam(0.01),
    "adagrad": lambda: keras.optimizers.Adagrad(0.05),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "lion": lambda: keras.optimizers.Lion(0.001),
    "adagrad_clipnorm": lambda: keras.optimizers.Adagrad(0.05, clipnorm=0.05),
    "adamax_weight_decay": lambda: keras.optimizers.Adamax(0.01, weight_decay=0.05),
}


@pytest.mark.parametrize("name", _FUSED)
def test_new_fused_optimizers_follow_keras_fit(name):
    data = RNG.random((400, 12)).astype(np.float32)

    def run(engine):
        model = join(*build_autoencoder(12, n_components=3, seed=0))
        optimizer = _FUSED[name]()
        model.compile(optimizer=optimizer, loss="mse")
        fn = training._train_fast if engine == "fast" else training._train_keras_fit
        history = fn(
            model,
            data,
            loss="mse",
            optimizer=optimizer,
            epochs=6,
            batch_size=64,
            metrics=[],
            callbacks=[],
            x_val=None,
            corrupt=None,
            seed=3,
            verbose=0,
            device=torch.device("cpu"),
            initial_epoch=0,
        )
        return history, model, optimizer

    fast, fast_model, fast_opt = run("fast")
    fit, fit_model, _ = run("fit")
    assert make_step(fast_opt, fast_model.trainable_variables).fused
    np.testing.assert_allclose(fast["loss"], fit["loss"], rtol=1e-4)
    for a, b in zip(fast_model.get_weights(), fit_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


# ---------------------------------------------------------------- item 7


def test_integer_weights_equal_repeated_rows_in_a_full_batch_sgd_fit():
    data, weights = X[:40], RNG.integers(1, 4, size=40)
    params = dict(FAST, optimizer="sgd", learning_rate=0.1, epochs=3)
    weighted = AutoencoderTransformer(**params, batch_size=40).fit(
        data, sample_weight=weights
    )
    repeated_rows = np.repeat(data, weights, axis=0)
    repeated = AutoencoderTransformer(**params, batch_size=len(repeated_rows)).fit(
        repeated_rows
    )
    np.testing.assert_allclose(
        weighted.history_["loss"], repeated.history_["loss"], rtol=1e-5
    )
    for a, b in zip(
        weighted._model.get_weights(), repeated._model.get_weights(), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_weighted_loss_is_the_weighted_mean_of_row_losses():
    """One SGD step by hand: the gradient of sum(w * loss) / sum(w)."""
    data, weights = X[:32], RNG.random(32) + 0.1
    est = AutoencoderTransformer(
        **dict(FAST, epochs=1), optimizer="sgd", learning_rate=0.05, batch_size=32
    ).fit(data)
    model = join(*build_autoencoder(8, n_components=2, hidden_layer_sizes=(16,)))
    model.set_weights(est._model.get_weights())  # the starting point of the step
    est.set_params(warm_start=True).fit(data, sample_weight=weights)
    x = torch.from_numpy(data)
    w = torch.from_numpy(weights.astype(np.float32))
    loss = torch.sum(((model(x) - x) ** 2).mean(-1) * w) / torch.sum(w)
    variables = model.trainable_variables
    grads = torch.autograd.grad(loss, [v.value for v in variables])
    expected = [
        v.value.detach().numpy() - 0.05 * g.numpy()
        for v, g in zip(variables, grads, strict=True)
    ]
    for v, e in zip(est._model.trainable_variables, expected, strict=True):
        np.testing.assert_allclose(v.value.detach().numpy(), e, rtol=1e-4, atol=1e-6)
    assert est.history_["loss"][-1] == pytest.approx(float(loss), rel=1e-5)


@pytest.mark.parametrize("engine", ["fast", "keras_fit"])
def test_validation_loss_is_weighted(engine, monkeypatch, tmp_path):
    import skae._base as base

    # BackupAndRestore needs Keras's own fit, which then trains.
    callbacks = (
        [keras.callbacks.BackupAndRestore(str(tmp_path))] if engine != "fast" else None
    )

    held_out = []

    def recording(X, sample_weight, n_val, seed):
        parts = original(X, sample_weight, n_val, seed)
        held_out.append(np.array(parts[1]))
        return parts

    original = base.holdout
    monkeypatch.setattr(base, "holdout", recording)
    data = X[:200]
    weights = np.where(np.arange(200) % 2 == 0, 1.0, 5.0)
    est = AutoencoderTransformer(
        **FAST, validation_fraction=0.5, batch_size=200, callbacks=callbacks
    ).fit(data, sample_weight=weights)
    # The held-out rows, found by value among the training rows.
    (rows,) = held_out
    index = [int(np.flatnonzero((data == row).all(axis=1))[0]) for row in rows]
    errors = -est.score_samples(data[index])
    np.testing.assert_allclose(
        est.history_["val_loss"][-1],
        np.average(errors, weights=weights[index]),
        rtol=1e-5,
    )
    assert not np.isclose(np.average(errors, weights=weights[index]), errors.mean())


def test_detector_threshold_uses_the_weights():
    det = AutoencoderOutlierDetector(**FAST, contamination=0.1)
    weights = RNG.integers(1, 5, size=len(X))
    det.fit(X, sample_weight=weights)
    scores = det.score_samples(X)
    expected = np.percentile(
        np.repeat(scores, weights), 10, method="averaged_inverted_cdf"
    )
    assert det.offset_ == pytest.approx(expected, rel=1e-6)


def test_equal_weights_fit_exactly_as_no_weights():
    a = AutoencoderOutlierDetector(**FAST).fit(X)
    b = AutoencoderOutlierDetector(**FAST).fit(X, sample_weight=np.full(len(X), 3.0))
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.offset_ == b.offset_


def test_sample_weight_in_partial_fit_and_bad_weights():
    est = AutoencoderTransformer(**FAST)
    est.partial_fit(X, sample_weight=np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="Negative values in data passed"):
        AutoencoderTransformer(**FAST).fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        AutoencoderTransformer(**FAST).fit(X, sample_weight=np.ones(3))


# ---------------------------------------------------------------- item 8


def _image_code_networks():
    enc_in = keras.Input((4, 4, 1))
    code = keras.layers.Conv2D(2, 3, strides=2, padding="same")(enc_in)  # (2, 2, 2)
    encoder = keras.Model(enc_in, code, name="user_encoder")
    dec_in = keras.Input((2, 2, 2))
    h = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(dec_in)
    out = keras.layers.Conv2D(1, 3, padding="same")(h)
    decoder = keras.Model(dec_in, out, name="user_decoder")
    return encoder, decoder


def test_image_shaped_codes_are_flattened_and_back():
    images = RNG.random((64, 16)).astype(np.float32)
    encoder, decoder = _image_code_networks()
    est = AutoencoderTransformer(
        **FAST, image_shape=(4, 4), encoder=encoder, decoder=decoder
    ).fit(images)
    codes = est.transform(images)
    assert codes.shape == (64, 8)
    names = est.get_feature_names_out()
    assert len(names) == 8 and names[-1] == "autoencodertransformer7"
    # The user's trained networks, called by hand on images and 4-D codes.
    user_encoder = est.encoder_.get_layer("user_encoder")
    user_decoder = est.decoder_.get_layer("user_decoder")
    expected_codes = keras.ops.convert_to_numpy(
        user_encoder(images.reshape(64, 4, 4, 1))
    )
    np.testing.assert_allclose(
        codes, expected_codes.reshape(64, 8), rtol=1e-5, atol=1e-6
    )
    expected = keras.ops.convert_to_numpy(user_decoder(codes.reshape(64, 2, 2, 2)))
    np.testing.assert_allclose(
        est.inverse_transform(codes), expected.reshape(64, 16), rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------- item 9


@pytest.mark.parametrize(
    "params, match",
    [
        ({"activation": "no_such_activation"}, "activation='no_such_activation'"),
        ({"output_activation": "nope"}, "output_activation='nope'"),
        ({"callbacks": [object()]}, r"callbacks\[0\]=.* keras.callbacks.Callback"),
    ],
)
def test_activation_and_callbacks_errors_name_the_parameter(params, match):
    est = AutoencoderTransformer(**FAST, **params)
    with pytest.raises(ValueError, match=match):
        est.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


# ---------------------------------------------------------------- item 10


def test_validation_split_copies_float64_input_once_in_float32():
    data = RNG.normal(size=(40_000, 64))  # float64, 20 MB
    est = AutoencoderTransformer(
        hidden_layer_sizes=(4,),
        epochs=1,
        batch_size=4000,
        validation_fraction=0.1,
        init="random",  # the split alone (a PCA start copies the rows to fit)
        device="cpu",
        random_state=0,
    )
    tracemalloc.start()
    try:
        est.fit(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One float32 copy is half the input, plus the held-out tenth and the
    # row indices (0.64 measured); the old split copied in float64 (1.6).
    assert peak < 0.75 * data.nbytes, peak / data.nbytes


# ---------------------------------------------------------------- item 11


def test_pickles_store_the_version_and_warn_on_another():
    est = AutoencoderTransformer(**FAST).fit(X)
    state = est.__getstate__()
    assert state["_skae_version"] == skae.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(est))  # same version: no warning
    state["_skae_version"] = "0.0.1"
    other = AutoencoderTransformer.__new__(AutoencoderTransformer)
    with pytest.warns(InconsistentVersionWarning, match="from skae version 0.0.1"):
        other.__setstate__(state)
    assert issubclass(InconsistentVersionWarning, UserWarning)
    np.testing.assert_array_equal(other.transform(X), est.transform(X))


def test_keras_backend_that_is_not_installed_gets_skae_message():
    missing = [
        b
        for b in ("jax", "tensorflow", "openvino")
        if importlib.util.find_spec(b) is None
    ]
    if not missing:
        pytest.skip("every other Keras backend is installed")
    env = dict(os.environ, KERAS_BACKEND=missing[0])
    result = subprocess.run(
        [sys.executable, "-c", "import skae"],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(skae.__file__)),  # this skae
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: skae runs Keras on the torch backend")
    assert f"KERAS_BACKEND='{missing[0]}'" in last


# ---------------------------------------------------------------- item 12


@pytest.mark.parametrize(
    "est",
    [
        AutoencoderTransformer(**FAST),
        VariationalAutoencoder(**FAST, loss="mean_squared_error"),
        AutoencoderOutlierDetector(**FAST, contamination=0.05),
        DenoisingAutoencoder(**FAST),
    ],
    ids=lambda e: type(e).__name__,
)
def test_save_model_round_trip(est, tmp_path):
    columns = [f"f{i}" for i in range(8)]
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=columns)
    est.fit(frame)
    path = tmp_path / "model.keras"
    est.save_model(path)

    # Plain Keras loads the whole network.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Keras's np.array
        network = keras.saving.load_model(path)
    np.testing.assert_allclose(
        network.predict(X, verbose=0),
        est._model.predict(X, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )

    loaded = skae.load_model(path)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    assert loaded.history_ == est.history_ and loaded.n_iter_ == est.n_iter_
    np.testing.assert_array_equal(loaded.score_samples(frame), est.score_samples(frame))
    assert loaded.score(frame) == est.score(frame)
    if hasattr(est, "transform"):
        np.testing.assert_array_equal(loaded.transform(frame), est.transform(frame))
    if hasattr(est, "offset_"):
        assert loaded.offset_ == est.offset_
        np.testing.assert_array_equal(loaded.predict(frame), est.predict(frame))
    # It trains on from there.
    loaded.set_params(warm_start=True, epochs=1).fit(frame)
    assert loaded.n_iter_ == est.n_iter_ + 1


def test_load_model_refuses_a_plain_keras_file(tmp_path):
    path = tmp_path / "plain.keras"
    est = AutoencoderTransformer(**FAST).fit(X)
    est.encoder_.save(path)
    with pytest.raises(ValueError, match="holds no skae estimator"):
        skae.load_model(path)


# ---------------------------------------------------------------- item 13


@pytest.mark.parametrize(
    "est",
    [
        AutoencoderTransformer(**FAST),
        DenoisingAutoencoder(**FAST),
        AutoencoderOutlierDetector(**FAST),
        VariationalAutoencoder(**FAST, metrics=["mae"], validation_fraction=0.2),
        AutoencoderTransformer(**FAST, optimizer="nadam", early_stopping=True),
    ],
    ids=lambda e: type(e).__name__,
)
def test_plain_fit_and_scoring_raise_no_warning(est):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.fit(X)
        est.score(X)
        est.set_params(warm_start=True).fit(X)
        pickle.loads(pickle.dumps(est))


def test_no_warning_filter_hides_numpy_copy_warning():
    pyproject = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml"
    )
    with open(pyproject) as f:
        assert "__array__ implementation" not in f.read()
