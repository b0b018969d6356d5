"""Compiled programs compute what the Keras model computes."""

import keras
import numpy as np
import pytest
import torch

from skae._graph import compile_model
from skae._networks import build_autoencoder, join

X = np.random.default_rng(0).random((64, 12)).astype(np.float32)


def _linear_path_model(dropout=0.2, seed=0):
    return join(
        *build_autoencoder(
            12,
            n_components=3,
            hidden_layer_sizes=(16,),
            dropout=dropout,
            seed=seed,
            linear_path=True,
        )
    )


@pytest.mark.parametrize("inference", [False, True])
def test_dropout_and_linear_paths_compile_to_torch(inference):
    model = _linear_path_model()
    program = compile_model(model, inference=inference)
    kinds = {type(layer) for layer in program.compiled_layers}
    assert {keras.layers.Dropout, keras.layers.Concatenate} <= kinds
    assert program.keras_layers == []
    x = torch.as_tensor(X)
    with torch.no_grad():
        expected = model(x, training=False).numpy()
        np.testing.assert_allclose(program(x).numpy(), expected, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            program(x, training=False).numpy(), expected, rtol=1e-6, atol=1e-6
        )


def _dropout_program(rate, seed=0, noise_shape=None):
    x = keras.Input((200,))
    y = keras.layers.Dropout(rate, noise_shape=noise_shape, seed=seed)(x)
    return compile_model(keras.Model(x, y))


def test_compiled_dropout_drops_at_its_rate_and_rescales():
    program = _dropout_program(0.25)
    x = torch.full((500, 200), 3.0)
    first, second = program(x, training=True), program(x, training=True)
    for y in (first, second):
        kept = y != 0
        assert abs(kept.float().mean().item() - 0.75) < 0.01
        torch.testing.assert_close(y[kept], torch.full_like(y[kept], 4.0))
    assert not torch.equal(first, second)  # a new mask every call
    torch.testing.assert_close(program(x, training=False), x)


def test_compiled_dropout_is_reproducible_from_its_seed():
    x = torch.ones((50, 200))
    runs = [_dropout_program(0.5, seed=seed)(x, training=True) for seed in (7, 7, 8)]
    torch.testing.assert_close(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_compiled_dropout_noise_shape_shares_the_mask():
    program = _dropout_program(0.5, noise_shape=(1, None))
    y = program(torch.ones((40, 200)), training=True)
    assert torch.equal(y, y[:1].expand_as(y))  # one mask for every row
    assert 0.3 < (y[0] != 0).float().mean().item() < 0.7


def test_dropout_rate_one_and_zero():
    x = torch.ones((4, 200))
    assert torch.count_nonzero(_dropout_program(1.0)(x, training=True)) == 0
    torch.testing.assert_close(_dropout_program(0.0)(x, training=True), x)


@pytest.mark.parametrize("axis, compiled", [(1, False), (2, True), (-1, True)])
def test_only_feature_axis_concatenation_compiles(axis, compiled):
    x = keras.Input((3, 4))
    y = keras.layers.Flatten()(keras.layers.Concatenate(axis=axis)([x, x * 2.0]))
    model = keras.Model(x, y)
    program = compile_model(model)
    joins = [op for op in program.compiled_layers if "concatenate" in op.name]
    assert bool(joins) == compiled  # axis 1 joins positions, not features
    value = torch.as_tensor(
        np.random.default_rng(1).random((5, 3, 4)), dtype=torch.float32
    )
    np.testing.assert_allclose(
        program(value).detach().numpy(), model(value).detach().numpy(), rtol=1e-6
    )


@pytest.mark.parametrize(
    # Dense layers with an in-place activation compute into ``out``; the rest
    # (no in-place form, a padded one-output kernel, another last layer) are
    # computed, then copied.
    "last",
    ["linear", "relu", "sigmoid", "tanh", "elu", "one unit", "layer"],
)
def test_an_inference_program_writes_its_output_into_out(last):
    inputs = keras.Input((12,))
    h = keras.layers.Dense(16, activation="tanh")(inputs)
    if last == "one unit":
        out = keras.layers.Dense(1)(h)
    elif last == "layer":
        out = keras.layers.Activation("sigmoid")(keras.layers.Dense(5)(h))
    else:
        out = keras.layers.Dense(5, activation=last)(h)
    program = compile_model(keras.Model(inputs, out), inference=True)
    x = torch.as_tensor(X)
    with torch.no_grad():
        expected = program(x)
        buffer = torch.full((70, expected.shape[1]), float("nan"))
        target = buffer[3:67]  # rows of a larger result, as predict passes
        returned = program(x, out=target)
    assert returned.data_ptr() == target.data_ptr()
    torch.testing.assert_close(target, expected, rtol=0, atol=0)  # the same bits
    assert torch.isnan(buffer[:3]).all() and torch.isnan(buffer[67:]).all()
