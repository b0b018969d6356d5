"""VariationalAutoencoder, and variational networks in the other estimators."""

import keras
import numpy as np
import pytest

from skae import AutoencoderOutlierDetector, VariationalAutoencoder

FAST = dict(hidden_layer_sizes=(32,), epochs=10, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def vae(digits):
    X, _ = digits
    return VariationalAutoencoder(
        **FAST, n_components=3, loss="binary_crossentropy", validation_fraction=0.2
    ).fit(X[:500])


def test_history_splits_the_loss(vae):
    h = vae.history_
    assert set(h) == {
        "loss",
        "reconstruction_loss",
        "kl_loss",
        "val_loss",
        "val_reconstruction_loss",
        "val_kl_loss",
    }
    np.testing.assert_allclose(
        h["loss"], np.add(h["reconstruction_loss"], h["kl_loss"]), rtol=1e-5
    )
    assert h["loss"][-1] < h["loss"][0]


def test_transform_is_the_posterior_mean(vae, digits):
    X, _ = digits
    encoder = vae.encoder_
    posterior = keras.Model(encoder.input, encoder.get_layer("z_mean").output)
    np.testing.assert_allclose(
        vae.transform(X[:20]),
        posterior.predict(X[:20], verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_array_equal(vae.transform(X[:20]), vae.transform(X[:20]))


def test_score_samples_is_minus_the_negative_elbo(vae, digits):
    X, _ = digits
    encoder = vae.encoder_
    mean, log_var = keras.Model(
        encoder.input,
        [encoder.get_layer("z_mean").output, encoder.get_layer("z_log_var").output],
    ).predict(X[:50], verbose=0)
    kl = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=1)
    p = np.clip(vae.inverse_transform(vae.transform(X[:50])), 1e-7, 1 - 1e-7)
    bce = -np.sum(X[:50] * np.log(p) + (1 - X[:50]) * np.log(1 - p), axis=1)
    np.testing.assert_allclose(-vae.score_samples(X[:50]), bce + kl, rtol=1e-4)
    assert vae.score(X[:50]) == pytest.approx(-(bce + kl).mean(), rel=1e-4)


def test_beta_weights_the_kl_term(digits):
    X, _ = digits
    kl = {
        beta: VariationalAutoencoder(**FAST, beta=beta)
        .fit(X[:300])
        .history_["kl_loss"][-1]
        for beta in (0.1, 10.0)
    }
    assert kl[10.0] < kl[0.1]


def test_sample_generates_new_rows(vae):
    samples = vae.sample(7, random_state=0)
    assert samples.shape == (7, 64) and samples.dtype == np.float64
    assert samples.min() >= 0 and samples.max() <= 1  # sigmoid outputs
    np.testing.assert_array_equal(samples, vae.sample(7, random_state=0))
    assert not np.array_equal(samples, vae.sample(7, random_state=1))
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)


def test_user_encoder_with_two_outputs(digits):
    X, _ = digits
    x = keras.Input((64,))
    h = keras.layers.Dense(16, activation="relu")(x)
    enc = keras.Model(x, [keras.layers.Dense(2)(h), keras.layers.Dense(2)(h)])
    z = keras.Input((2,))
    dec = keras.Model(z, keras.layers.Dense(64)(keras.layers.Dense(16)(z)))
    vae = VariationalAutoencoder(**FAST, encoder=enc, decoder=dec).fit(X[:200])
    assert "kl_loss" in vae.history_ and vae.transform(X[:3]).shape == (3, 2)
    with pytest.raises(ValueError, match="must return two tensors"):
        VariationalAutoencoder(**FAST, encoder=keras.Model(x, h), decoder=dec).fit(X)


def test_variational_outlier_detector_scores_by_elbo(digits):
    X, _ = digits
    det = AutoencoderOutlierDetector(**FAST, beta=1.0, contamination=0.05).fit(X[:300])
    assert "kl_loss" in det.history_
    assert np.mean(det.predict(X[:300]) == -1) == pytest.approx(0.05, abs=0.005)
