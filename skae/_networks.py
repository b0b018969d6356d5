"""Keras network builders.

Pure Keras: each builder returns ``(encoder, decoder)``, two functional
``keras.Model`` objects. :func:`join` wires them into the one model that is
trained; the encoder and decoder stay views on it (shared weights).

Every layer that draws random numbers gets its own seed, so building twice from
the same seed gives the same weights and never touches a global RNG.
"""

import numpy as np

from ._backend import keras

__all__ = ["dense_autoencoder", "join"]


def _seed_stream(seed):
    rng = np.random.default_rng(seed)

    def next_seed():
        return int(rng.integers(0, np.iinfo(np.int32).max))

    return next_seed


def _dense_stack(x, units, *, activation, dropout, l2, prefix, next_seed):
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    for i, width in enumerate(units):
        x = keras.layers.Dense(
            int(width),
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
            kernel_regularizer=regularizer,
            name=f"{prefix}_dense_{i}",
        )(x)
        if dropout > 0:
            x = keras.layers.Dropout(
                dropout, seed=next_seed(), name=f"{prefix}_dropout_{i}"
            )(x)
    return x


def dense_autoencoder(
    n_features,
    *,
    n_components,
    hidden_layer_sizes=(128, 64),
    activation="relu",
    output_activation="linear",
    dropout=0.0,
    l2=0.0,
    seed=None,
):
    """Build a fully connected encoder and a mirrored decoder.

    The encoder is ``n_features -> hidden_layer_sizes... -> n_components`` with a
    linear bottleneck; the decoder mirrors the hidden layers and ends in
    ``n_features`` units with ``output_activation``. Dropout follows every hidden
    layer; the L2 penalty applies to every kernel.

    Parameters
    ----------
    n_features : int
        Width of the data.
    n_components : int
        Width of the bottleneck.
    hidden_layer_sizes : sequence of int, default=(128, 64)
        Encoder hidden widths, outermost first.
    activation : str or callable, default="relu"
        Hidden-layer activation, any name :func:`keras.activations.get` knows.
    output_activation : str or callable, default="linear"
        Activation of the reconstruction layer.
    dropout : float, default=0.0
        Dropout rate after each hidden layer.
    l2 : float, default=0.0
        L2 penalty on every kernel (Keras's ``kernel_regularizer=L2(l2)``).
    seed : int or None, default=None
        Seed for the weight initializers and dropout masks.

    Returns
    -------
    encoder, decoder : keras.Model
    """
    next_seed = _seed_stream(seed)
    hidden = [int(h) for h in hidden_layer_sizes]
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    common = dict(activation=activation, dropout=dropout, l2=l2, next_seed=next_seed)

    x_in = keras.Input(shape=(n_features,), name="x")
    h = _dense_stack(x_in, hidden, prefix="encoder", **common)
    z = keras.layers.Dense(
        n_components,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
        kernel_regularizer=regularizer,
        name="bottleneck",
    )(h)
    encoder = keras.Model(x_in, z, name="encoder")

    z_in = keras.Input(shape=(n_components,), name="z")
    h = _dense_stack(z_in, hidden[::-1], prefix="decoder", **common)
    x_out = keras.layers.Dense(
        n_features,
        activation=output_activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
        kernel_regularizer=regularizer,
        name="reconstruction",
    )(h)
    decoder = keras.Model(z_in, x_out, name="decoder")
    return encoder, decoder


def join(encoder, decoder, name="autoencoder"):
    """Return the model ``x -> decoder(encoder(x))`` sharing both models' weights."""
    x_in = keras.Input(shape=encoder.input_shape[1:], name="x")
    return keras.Model(x_in, decoder(encoder(x_in)), name=name)
