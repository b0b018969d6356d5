"""The Keras builders on their own."""

import keras
import numpy as np
import pytest

from skae._networks import build_autoencoder, join


def test_shapes_and_mirrored_layers():
    encoder, decoder = build_autoencoder(20, n_components=3, hidden_layer_sizes=(16, 8))
    assert encoder.input_shape == (None, 20) and encoder.output_shape == (None, 3)
    assert decoder.input_shape == (None, 3) and decoder.output_shape == (None, 20)
    widths = [
        layer.units
        for layer in encoder.layers + decoder.layers
        if hasattr(layer, "units")
    ]
    assert widths == [16, 8, 3, 8, 16, 20]
    assert encoder.get_layer("bottleneck").activation is keras.activations.linear


def test_join_shares_weights():
    encoder, decoder = build_autoencoder(6, n_components=2, hidden_layer_sizes=(4,))
    model = join(encoder, decoder)
    assert model.get_layer("encoder") is encoder
    assert model.get_layer("decoder") is decoder
    assert len(model.trainable_weights) == len(encoder.trainable_weights) + len(
        decoder.trainable_weights
    )


def test_same_seed_same_weights_distinct_layers():
    first = build_autoencoder(10, n_components=2, hidden_layer_sizes=(10, 10), seed=3)
    second = build_autoencoder(10, n_components=2, hidden_layer_sizes=(10, 10), seed=3)
    for a, b in zip(first[0].get_weights(), second[0].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    kernels = [w for w in first[0].get_weights() if w.shape == (10, 10)]
    # Every layer draws its own seed: equal-shaped layers differ.
    assert not np.array_equal(kernels[0], kernels[1])
    other = build_autoencoder(10, n_components=2, hidden_layer_sizes=(10, 10), seed=4)
    assert not np.array_equal(first[0].get_weights()[0], other[0].get_weights()[0])


def test_dropout_and_l2():
    encoder, decoder = build_autoencoder(
        6, n_components=2, hidden_layer_sizes=(4,), dropout=0.2, l2=0.01
    )
    dropouts = [
        layer for layer in encoder.layers + decoder.layers if "dropout" in layer.name
    ]
    assert len(dropouts) == 2 and all(layer.rate == 0.2 for layer in dropouts)
    model = join(encoder, decoder)
    model(np.zeros((1, 6), dtype="float32"))
    assert len(model.losses) == 4  # one L2 term per kernel


@pytest.mark.parametrize("activation", ["tanh", "elu", "gelu"])
def test_activations(activation):
    encoder, _ = build_autoencoder(5, n_components=2, activation=activation)
    assert encoder.get_layer("encoder_dense_0").activation is keras.activations.get(
        activation
    )


def test_linear_autoencoder_without_hidden_layers():
    encoder, decoder = build_autoencoder(5, n_components=2, hidden_layer_sizes=())
    assert [layer.name for layer in encoder.layers[1:]] == ["bottleneck"]
    assert [layer.name for layer in decoder.layers[1:]] == ["reconstruction"]
