"""Your own Keras models, and convolutional networks for images."""

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from custom_layers import Scale, decoder, encoder
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)
from skae._graph import compile_model
from skae._training import select_engine

FAST = dict(epochs=3, device="cpu", random_state=0)
ALL = [AutoencoderTransformer, DenoisingAutoencoder, AutoencoderOutlierDetector]


@pytest.mark.parametrize("Estimator", ALL)
def test_user_models_train_and_stay_untouched(Estimator, digits):
    X, _ = digits
    enc, dec = encoder(64), decoder(64)
    before = [w.copy() for w in enc.get_weights() + dec.get_weights()]
    est = Estimator(**FAST, encoder=enc, decoder=dec).fit(X[:300])
    after = enc.get_weights() + dec.get_weights()
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.encoder_.output_shape == (None, 4)
    assert est.history_["loss"][-1] < est.history_["loss"][0]
    # The custom layer runs through Keras inside the fast training loop.
    assert select_engine(est._model) == ("fast", None)
    program = compile_model(est._model)
    assert any(isinstance(layer, Scale) for layer in program.keras_layers)
    assert est.score_samples(X[:5]).shape == (5,)


def test_user_models_start_from_their_weights(digits):
    X, _ = digits
    enc, dec = encoder(64), decoder(64)
    est = AutoencoderTransformer(**dict(FAST, epochs=1), encoder=enc, decoder=dec)
    est.set_params(learning_rate=1e-12).fit(X[:100])
    np.testing.assert_allclose(
        est.encoder_.predict(X[:10], verbose=0),
        enc.predict(X[:10], verbose=0),
        atol=1e-5,
    )


def test_builders_are_called_with_the_number_of_features(digits):
    X, _ = digits
    est = AutoencoderTransformer(**FAST, encoder=encoder, decoder=decoder).fit(X[:200])
    assert est.transform(X[:3]).shape == (3, 4)
    assert list(est.get_feature_names_out()) == [
        f"autoencodertransformer{i}" for i in range(4)
    ]


def test_clone_grid_search_and_pickle_with_user_models(digits, tmp_path):
    X, _ = digits
    est = AutoencoderTransformer(**FAST, encoder=encoder(64), decoder=decoder(64))
    cloned = clone(est)
    assert cloned.encoder is not est.encoder
    search = GridSearchCV(est, {"learning_rate": [1e-4, 1e-2]}, cv=2).fit(X[:300])
    assert search.best_params_ == {"learning_rate": 1e-2}
    fitted = search.best_estimator_
    expected = fitted.transform(X)
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(fitted))
    tests_dir = Path(__file__).parent
    script = textwrap.dedent(
        f"""
        import pickle, sys
        import numpy as np
        sys.path.insert(0, {str(tests_dir)!r})
        import custom_layers  # the user's own layer must be importable
        est = pickle.loads(open({str(tmp_path / "model.pkl")!r}, "rb").read())
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "Z.npy")!r}, est.transform(X))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "Z.npy"), expected)


def test_user_model_shapes_are_checked(digits):
    X, _ = digits
    with pytest.raises(
        ValueError, match=r"encoder must take one input of shape \(64,\)"
    ):
        AutoencoderTransformer(**FAST, encoder=encoder(10), decoder=decoder(64)).fit(X)
    with pytest.raises(
        ValueError, match=r"decoder must take the code, of shape \(4,\)"
    ):
        AutoencoderTransformer(
            **FAST, encoder=encoder(64), decoder=decoder(64, n_components=3)
        ).fit(X)
    with pytest.raises(ValueError, match="decoder must return rows of shape"):
        AutoencoderTransformer(**FAST, encoder=encoder(64), decoder=decoder(10)).fit(X)
    with pytest.raises(ValueError, match="give both"):
        AutoencoderTransformer(**FAST, encoder=encoder(64)).fit(X)
    with pytest.raises(TypeError, match="^encoder=.* must be a keras.Model or a"):
        AutoencoderTransformer(**FAST, encoder=lambda n: None, decoder=decoder).fit(X)
    with pytest.raises(TypeError, match="^decoder=.* must be a keras.Model or a"):
        AutoencoderTransformer(**FAST, encoder=encoder, decoder=lambda n: 1).fit(X)
    with pytest.raises(ValueError, match="^The encoder must return one tensor"):
        AutoencoderTransformer(**FAST, encoder=_two_heads(64), decoder=decoder).fit(X)


def _two_heads(n_features, n_components=2):
    """An encoder returning a code's mean and log-variance."""
    x = keras.Input((n_features,))
    h = keras.layers.Dense(8, activation="relu")(x)
    heads = [keras.layers.Dense(n_components)(h), keras.layers.Dense(n_components)(h)]
    return keras.Model(x, heads)


def test_user_variational_networks_are_reproducible(digits):
    # The sampling layer skae adds draws its noise from random_state, whatever
    # the global seeds.
    X, _ = digits
    enc, dec = _two_heads(64), decoder(64, n_components=2)

    def fit(random_state, global_seed):
        keras.utils.set_random_seed(global_seed)
        return VariationalAutoencoder(
            epochs=2, device="cpu", random_state=random_state, encoder=enc, decoder=dec
        ).fit(X[:200])

    first, again, other = fit(0, 1), fit(0, 2), fit(1, 1)
    assert first.history_["loss"] == again.history_["loss"]
    assert first.history_["loss"] != other.history_["loss"]


@pytest.mark.parametrize("transpose", [False, True])
def test_image_networks_use_the_hidden_activation(digits, transpose):
    # Every hidden layer, convolution or dense, takes ``activation``; the code
    # is linear and the reconstruction takes ``output_activation``.
    X, _ = digits
    est = AutoencoderTransformer(
        **FAST,
        image_shape=(8, 8),
        hidden_layer_sizes=(4, 8),
        n_components=3,
        activation="tanh",
        output_activation="sigmoid",
    ).fit(X[:50])
    network = est.decoder_ if transpose else est.encoder_
    layers = {
        layer.name: layer
        for layer in network.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
        or isinstance(layer, keras.layers.Dense)
    }
    hidden = [name for name in layers if name not in ("bottleneck", "reconstruction")]
    assert len(hidden) == (3 if transpose else 2)
    for name in hidden:
        assert layers[name].activation is keras.activations.tanh, name
    if transpose:
        assert layers["reconstruction"].activation is keras.activations.sigmoid
    else:
        assert layers["bottleneck"].activation is keras.activations.linear


@pytest.mark.parametrize("Estimator", ALL + [VariationalAutoencoder])
def test_convolutional_networks_for_images(Estimator, digits):
    X, _ = digits
    est = Estimator(
        **FAST, image_shape=(8, 8), hidden_layer_sizes=(8, 16), n_components=4
    ).fit(X[:300])
    conv = [layer for layer in est.encoder_.layers if "conv" in layer.name]
    assert len(conv) == 2 and isinstance(conv[0], keras.layers.Conv2D)
    assert est.encoder_.input_shape == (None, 64)  # X stays 2-D
    assert est.decoder_.output_shape == (None, 64)
    assert est.score_samples(X[:5]).shape == (5,)


def test_image_shape_must_match_the_features(digits):
    X, _ = digits
    with pytest.raises(ValueError, match=r"as many pixels as X has features \(64\)"):
        AutoencoderTransformer(**FAST, image_shape=(7, 7)).fit(X)


def test_odd_image_sizes_are_cropped_back():
    X = np.random.default_rng(0).random((50, 7 * 5 * 2)).astype(np.float32)
    est = AutoencoderTransformer(
        **FAST, image_shape=(7, 5, 2), hidden_layer_sizes=(4, 4), n_components=3
    ).fit(X)
    assert est.inverse_transform(est.transform(X)).shape == X.shape


def test_user_convolutional_models_on_images(digits):
    X, _ = digits
    x = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(x)
    enc = keras.Model(x, keras.layers.Dense(3)(keras.layers.Flatten()(h)))
    z = keras.Input((3,))
    h = keras.layers.Reshape((4, 4, 1))(keras.layers.Dense(16)(z))
    out = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")(h)
    est = AutoencoderTransformer(
        **FAST, image_shape=(8, 8, 1), encoder=enc, decoder=keras.Model(z, out)
    ).fit(X[:200])
    assert est.transform(X[:2]).shape == (2, 3)
    assert est.inverse_transform(est.transform(X[:2])).shape == (2, 64)


@pytest.mark.parametrize("image_shape", [(8, 8), (28, 28)])
def test_convolutions_train_on_one_row_batches(image_shape):
    # Keras's torch convolutions fail backward on a batch of one row (an
    # ambiguous channels-last layout); 17 rows in batches of 16 end in one.
    X = np.random.default_rng(0).random((17, np.prod(image_shape)), dtype=np.float32)
    est = AutoencoderTransformer(
        **FAST, image_shape=image_shape, hidden_layer_sizes=(4, 8), batch_size=16
    ).fit(X)
    assert np.isfinite(est.history_["loss"]).all()
    est.partial_fit(X[:1])
    assert est.n_iter_ == 4
