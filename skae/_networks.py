"""Keras network builders.

Pure Keras. :func:`build_autoencoder` returns ``(encoder, decoder)``, two
functional ``keras.Model`` objects named "encoder" and "decoder" that take and
return flat rows (images are reshaped inside), built dense or convolutional,
with a plain or a variational bottleneck. :func:`wrap_networks` puts a user's
own Keras models in the same form, and :func:`join` wires an encoder and a
decoder into the one model that is trained; both stay views on it (shared
weights).

Every layer that draws random numbers gets its own seed, so building twice from
the same seed gives the same weights and never touches a global RNG.
"""

import copy
import math

import numpy as np

from ._backend import keras

__all__ = [
    "VariationalSampling",
    "build_autoencoder",
    "join",
    "kl_divergence",
    "wrap_networks",
]


def kl_divergence(mean, log_var):
    """Per-row ``KL(N(mean, exp(log_var)) || N(0, I))``, summed over the code."""
    return -0.5 * keras.ops.sum(
        1.0 + log_var - keras.ops.square(mean) - keras.ops.exp(log_var), axis=-1
    )


@keras.saving.register_keras_serializable(package="skae")
class VariationalSampling(keras.layers.Layer):
    """Sample ``z ~ N(mean, exp(log_var))`` and add ``beta * KL`` to the loss.

    Called on ``[mean, log_var]``. In training it returns a sample (the
    reparameterisation trick, so gradients reach both inputs); in inference it
    returns ``mean``, which makes encoding deterministic. Either way it adds
    ``beta`` times the batch mean of ``KL(N(mean, exp(log_var)) || N(0, I))``
    to the model's losses (Keras's ``add_loss``). It keeps nothing of a call:
    the per-row KL a score needs is computed from ``mean`` and ``log_var`` in
    the caller's own graph (:func:`kl_divergence`), so concurrent calls on one
    model never see each other's values.

    Parameters
    ----------
    beta : float, default=1.0
        Weight of the KL term (a beta-VAE for ``beta != 1``).
    seed : int or None, default=None
        Seed of the sampling noise.
    """

    def __init__(self, beta=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        mean, log_var = inputs
        self.add_loss(self.beta * keras.ops.mean(kl_divergence(mean, log_var)))
        if not training:
            return mean
        noise = keras.random.normal(keras.ops.shape(mean), seed=self.seed_generator)
        return mean + keras.ops.exp(0.5 * log_var) * noise

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "seed": self.seed}


def _seed_stream(seed):
    rng = np.random.default_rng(seed)

    def next_seed():
        return int(rng.integers(0, np.iinfo(np.int32).max))

    return next_seed


class _Layers:
    """Seeded, regularised layer factory shared by the builders."""

    def __init__(self, *, activation, dropout, l2, seed):
        self.activation = activation
        self.dropout = dropout
        self.regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
        self.next_seed = _seed_stream(seed)

    def _weights(self):
        return dict(
            kernel_initializer=keras.initializers.GlorotUniform(seed=self.next_seed()),
            kernel_regularizer=self.regularizer,
        )

    def dense(self, x, units, name, activation=None):
        return keras.layers.Dense(
            int(units), activation=activation, name=name, **self._weights()
        )(x)

    def conv(self, x, filters, name, *, transpose=False, strides=2, activation=None):
        layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
        return layer(
            int(filters),
            3,
            strides=strides,
            padding="same",
            activation=activation,
            name=name,
            **self._weights(),
        )(x)

    def drop(self, x, name):
        if self.dropout > 0:
            x = keras.layers.Dropout(self.dropout, seed=self.next_seed(), name=name)(x)
        return x

    def hidden(self, x, units, name):
        x = self.dense(x, units, name, activation=self.activation)
        return self.drop(x, name.replace("dense", "dropout"))

    def hidden_conv(self, x, filters, name, *, transpose=False):
        x = self.conv(x, filters, name, transpose=transpose, activation=self.activation)
        return self.drop(x, name.replace("conv", "dropout"))


def _image_shape(image_shape):
    shape = tuple(int(s) for s in image_shape)
    return shape + (1,) if len(shape) == 2 else shape


def _code(layers, h, n_components, beta):
    """The bottleneck: linear, or variational (mean, log-variance, sampling)."""
    if beta is None:
        return layers.dense(h, n_components, "bottleneck")
    mean = layers.dense(h, n_components, "z_mean")
    log_var = layers.dense(h, n_components, "z_log_var")
    return VariationalSampling(beta, seed=layers.next_seed(), name="sampling")(
        [mean, log_var]
    )


def build_autoencoder(
    n_features,
    *,
    n_components,
    hidden_layer_sizes=(128, 64),
    activation="relu",
    output_activation="linear",
    dropout=0.0,
    l2=0.0,
    seed=None,
    image_shape=None,
    beta=None,
    linear_path=False,
):
    """Build an encoder and a mirrored decoder on flat rows.

    Dense (``image_shape=None``): ``n_features -> hidden_layer_sizes... ->
    n_components``, and the decoder back through the same widths to
    ``n_features`` with ``output_activation``.

    Convolutional (``image_shape=(height, width[, channels])``): the encoder
    reshapes each row to the image, applies a 3x3 convolution with stride 2 per
    entry of ``hidden_layer_sizes`` (its number of filters), flattens and maps
    to ``n_components``; the decoder mirrors it with transposed convolutions,
    a final 3x3 convolution to the image's channels with
    ``output_activation``, crops to the image size and flattens.

    Hidden layers use ``activation`` and are followed by dropout; every kernel
    gets the L2 penalty. The bottleneck is linear, or, with ``beta`` set, a
    variational one: two linear heads (mean and log-variance) and a
    :class:`VariationalSampling` layer.

    With ``linear_path`` (dense networks), the code layer sees the input
    beside the last hidden layer (``code = dense([x, hidden(x)])``) and so does
    the reconstruction layer (``dense([z, hidden(z)])``): a linear map plus a
    non-linear correction. Setting the linear part to PCA's solution and the
    rest to zero (:func:`skae._pca_init.initialise_linear_path`) starts
    training at PCA.

    Parameters
    ----------
    n_features : int
        Width of a row (``prod(image_shape)`` for images).
    n_components : int
        Width of the bottleneck.
    hidden_layer_sizes : sequence of int, default=(128, 64)
        Dense widths, or convolution filters, from the input inwards.
    activation : str or callable, default="relu"
        Hidden-layer activation, any name :func:`keras.activations.get` knows.
    output_activation : str or callable, default="linear"
        Activation of the reconstruction layer.
    dropout : float, default=0.0
        Dropout rate after each hidden layer.
    l2 : float, default=0.0
        L2 penalty on every kernel (Keras's ``kernel_regularizer=L2(l2)``).
    seed : int or None, default=None
        Seed for the weight initializers, dropout and sampling.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` for convolutional
        networks.
    beta : float or None, default=None
        If set, a variational bottleneck whose KL term has this weight.
    linear_path : bool, default=False
        Give the code and reconstruction layers the input of their network as
        well (dense networks with hidden layers only).

    Returns
    -------
    encoder, decoder : keras.Model
    """
    layers = _Layers(activation=activation, dropout=dropout, l2=l2, seed=seed)
    hidden = [int(h) for h in hidden_layer_sizes]
    x_in = keras.Input(shape=(n_features,), name="x")
    z_in = keras.Input(shape=(n_components,), name="z")

    if image_shape is None:
        skip = linear_path and bool(hidden)
        h = x_in
        for i, width in enumerate(hidden):
            h = layers.hidden(h, width, f"encoder_dense_{i}")
        if skip:
            h = keras.layers.Concatenate(name="encoder_linear_path")([x_in, h])
        code = _code(layers, h, n_components, beta)
        h = z_in
        for i, width in enumerate(hidden[::-1]):
            h = layers.hidden(h, width, f"decoder_dense_{i}")
        if skip:
            h = keras.layers.Concatenate(name="decoder_linear_path")([z_in, h])
        x_out = layers.dense(h, n_features, "reconstruction", output_activation)
    else:
        shape = _image_shape(image_shape)
        h = keras.layers.Reshape(shape, name="to_image")(x_in)
        for i, filters in enumerate(hidden):
            h = layers.hidden_conv(h, filters, f"encoder_conv_{i}")
        bottom = tuple(int(s) for s in h.shape[1:])
        code = _code(
            layers, keras.layers.Flatten(name="flatten")(h), n_components, beta
        )
        h = layers.dense(z_in, math.prod(bottom), "decoder_dense", activation)
        h = keras.layers.Reshape(bottom, name="decoder_image")(h)
        for i, filters in enumerate(hidden[::-1]):
            h = layers.hidden_conv(h, filters, f"decoder_conv_{i}", transpose=True)
        h = layers.conv(
            h, shape[2], "reconstruction", strides=1, activation=output_activation
        )
        extra = (int(h.shape[1]) - shape[0], int(h.shape[2]) - shape[1])
        if any(extra):
            h = keras.layers.Cropping2D(((0, extra[0]), (0, extra[1])), name="crop")(h)
        x_out = keras.layers.Flatten(name="to_rows")(h)
    return keras.Model(x_in, code, name="encoder"), keras.Model(
        z_in, x_out, name="decoder"
    )


def _instantiate(network, n_features, role):
    """A fresh Keras model from a user's model (copied) or builder (called)."""
    if isinstance(network, keras.Model):
        return copy.deepcopy(network)  # the user's model is never trained
    model = network(n_features)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{role}={network!r} must be a keras.Model or a callable returning one "
            f"from the number of features; it returned {type(model).__name__}."
        )
    return model


def _shape(shape):
    return tuple(None if s is None else int(s) for s in shape[1:])


def wrap_networks(
    encoder, decoder, n_features, *, image_shape=None, beta=None, seed=None
):
    """Put a user's encoder and decoder in the form :func:`build_autoencoder` gives.

    The models (or builders called with ``n_features``) may take and return
    flat rows or images of ``image_shape``; they are wrapped in models named
    "encoder" and "decoder" on flat rows. For a variational autoencoder
    (``beta`` set) the encoder returns two tensors, the mean and the
    log-variance of the code, and a :class:`VariationalSampling` layer is added.

    Returns
    -------
    encoder, decoder : keras.Model
    """
    encoder = _instantiate(encoder, n_features, "encoder")
    decoder = _instantiate(decoder, n_features, "decoder")
    row, image = (
        (n_features,),
        None if image_shape is None else _image_shape(image_shape),
    )
    inputs = [_shape(s) for s in _as_list(encoder.input_shape)]
    if len(inputs) != 1 or inputs[0] not in (row, image, image and image[:2]):
        raise ValueError(
            f"The encoder must take one input of shape {row}"
            + (f" or {image}" if image else "")
            + f"; it takes {encoder.input_shape}."
        )
    x_in = keras.Input(shape=row, name="x")
    h = (
        x_in
        if inputs[0] == row
        else keras.layers.Reshape(inputs[0], name="to_image")(x_in)
    )
    code = encoder(h)
    if beta is not None:
        if not isinstance(code, (list, tuple)) or len(code) != 2:
            raise ValueError(
                "The encoder of a variational autoencoder must return two tensors, "
                "the mean and the log-variance of the code."
            )
        code_shape = _shape(code[0].shape)
        mean, log_var = _flat(code[0], "flat_mean"), _flat(code[1], "flat_log_var")
        code = VariationalSampling(beta, seed=seed, name="sampling")([mean, log_var])
    elif isinstance(code, (list, tuple)):
        raise ValueError("The encoder must return one tensor, the code.")
    else:
        code_shape = _shape(code.shape)
        code = _flat(code, "flat_code")
    wrapped_encoder = keras.Model(x_in, code, name="encoder")

    # A code with more than one axis (an image-shaped one) is flattened to rows,
    # so transform returns 2-D; the decoder takes rows and reshapes them back.
    z_in = keras.Input(shape=_shape(code.shape), name="z")
    decoder_in = [_shape(s) for s in _as_list(decoder.input_shape)]
    if decoder_in != [code_shape]:
        raise ValueError(
            f"The decoder must take the code, of shape {code_shape}; it takes "
            f"{decoder.input_shape}."
        )
    z = z_in
    if len(code_shape) > 1:
        z = keras.layers.Reshape(code_shape, name="to_code")(z_in)
    out = decoder(z)
    if _shape(out.shape) not in (row, image, image and image[:2]):
        raise ValueError(
            f"The decoder must return rows of shape {row}"
            + (f" or images of shape {image}" if image else "")
            + f"; it returns {out.shape}."
        )
    if _shape(out.shape) != row:
        out = keras.layers.Reshape(row, name="to_rows")(out)
    return wrapped_encoder, keras.Model(z_in, out, name="decoder")


def _flat(tensor, name):
    """``tensor`` with its non-batch axes flattened to one (as is if already 1)."""
    if len(tensor.shape) <= 2:
        return tensor
    return keras.layers.Flatten(name=name)(tensor)


def _as_list(shape):
    """Input shapes as a list (Keras gives a tuple for one input)."""
    return shape if isinstance(shape, list) else [shape]


def join(encoder, decoder, name="autoencoder"):
    """Return the model ``x -> decoder(encoder(x))`` sharing both models' weights."""
    x_in = keras.Input(shape=encoder.input_shape[1:], name="x")
    return keras.Model(x_in, decoder(encoder(x_in)), name=name)
