"""Ensembles of dense autoencoders as one Keras model with a member axis.

Every layer holds the weights of all ``m`` members stacked on a leading axis
and applies them with one batched matrix product, so an ensemble of ``m``
networks trains in one program, one optimizer step per batch, at a fraction
of the cost of ``m`` separate fits. Rows go in as ``(batch, n_features)``;
inside the model they are ``(batch, m, width)``; the codes are
``(batch, m, n_components)`` and the reconstructions
``(batch, m, n_features)``, one per member.

Members differ by their initial weights, by their sampling noise (variational
bottleneck) and, when ``max_features < 1``, by a fixed random subset of the
features each one sees and reconstructs (as ``max_features`` in
:class:`~sklearn.ensemble.IsolationForest`).

Pure Keras: no scikit-learn here. The losses are per-member, per-row tensors
(:func:`member_errors`), reduced by :class:`TrimmedLoss` for training.
"""

import math
import threading

import numpy as np
import torch

from ._backend import keras
from ._graph import _in_place, _torch_activation, _TransposedKernel

__all__ = [
    "MemberDense",
    "MemberInputs",
    "MemberSampling",
    "RowSubsample",
    "ELEMENTWISE_LOSSES",
    "TrimmedLoss",
    "build_ensemble",
    "member_errors",
]


@keras.saving.register_keras_serializable(package="skae")
class MemberDense(keras.layers.Layer):
    """A dense layer per ensemble member: ``(batch, m, in) -> (batch, m, units)``.

    The kernel has shape ``(m, in, units)``, each member's slice initialised
    as Keras's Glorot-uniform initialiser initialises a ``(in, units)`` kernel.

    Parameters
    ----------
    units : int
        Output width of every member.
    activation : str or None, default=None
        Activation, any name :func:`keras.activations.get` knows.
    l2 : float, default=0.0
        L2 penalty on the kernel.
    seed : int or None, default=None
        Seed of the kernel's initialiser.
    """

    def __init__(self, units, activation=None, l2=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.l2 = float(l2)
        self.seed = seed

    def build(self, input_shape):
        n_members, fan_in = int(input_shape[-2]), int(input_shape[-1])
        limit = math.sqrt(6.0 / (fan_in + self.units))
        self.kernel = self.add_weight(
            shape=(n_members, fan_in, self.units),
            initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed),
            regularizer=keras.regularizers.L2(self.l2) if self.l2 > 0 else None,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(n_members, self.units), initializer="zeros", name="bias"
        )

    def call(self, inputs):
        out = keras.ops.einsum("bmi,mio->bmo", inputs, self.kernel) + self.bias
        return self.activation(out)

    def direct_call(self, x, training=False):
        """:meth:`call` as plain torch operations (see :mod:`skae._graph`)."""
        out = torch.einsum("bmi,mio->bmo", x, self.kernel.value) + self.bias.value
        activation = _torch_activation(self.activation)
        return out if activation is None else activation(out)

    def inference_call(self):
        """:meth:`direct_call` for inference under ``torch.no_grad``, as a
        function of the inputs.

        Each member's product runs as a 2-D ``addmm`` with its kernel in the
        layout of :class:`~skae._graph._TransposedKernel`, as a Dense layer's
        does in an inference program: a row gets the same bits in every batch
        of a few rows or more (a batched ``einsum`` does not promise that, and
        costs more on small batches). The products write into one
        member-major ``(m, batch, units)`` tensor, returned as its
        ``(batch, m, units)`` view: the next layer's member slices are then
        contiguous, and nothing is stacked or copied between layers.
        """
        # Views of the weights (training updates them in place), made once:
        # indexing a tensor on every call costs as much as a small product.
        members = list(
            zip(
                (_TransposedKernel(k) for k in self.kernel.value.unbind(0)),
                self.bias.value.unbind(0),
                strict=True,
            )
        )
        activation = _torch_activation(self.activation)
        in_place = _in_place(activation)
        units = self.units

        def call(x):
            if in_place is not None and units > 1:
                out = x.new_empty((len(members), x.shape[0], units))
                for member, (kernel, bias) in enumerate(members):
                    rows = x.select(1, member).contiguous()
                    torch.addmm(bias, rows, kernel.get(), out=out[member])
                return in_place(out).transpose(0, 1)
            outs = []
            for member, (kernel, bias) in enumerate(members):
                y = torch.addmm(bias, x.select(1, member).contiguous(), kernel.get())
                outs.append(y[:, :1] if kernel.padded else y)
            out = outs[0].unsqueeze(1) if len(outs) == 1 else torch.stack(outs, dim=1)
            return out if activation is None else activation(out)

        return call

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "l2": self.l2,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="skae")
class MemberInputs(keras.layers.Layer):
    """Give each member its copy of the rows, restricted to its features.

    ``(batch, n_features) -> (batch, m, n_features)``, the features a member
    does not see set to zero. The 0/1 ``mask`` of shape ``(m, n_features)`` is
    a non-trainable weight drawn once from ``seed``: each member sees
    ``max(1, round(max_features * n_features))`` features (all of them when
    ``max_features=1``).

    Parameters
    ----------
    n_members : int
    max_features : float in (0, 1], default=1.0
    seed : int or None, default=None
    """

    def __init__(self, n_members, max_features=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.n_members = int(n_members)
        self.max_features = float(max_features)
        self.seed = seed

    def build(self, input_shape):
        n_features = int(input_shape[-1])
        self.mask = self.add_weight(
            shape=(self.n_members, n_features),
            initializer=keras.initializers.Constant(
                feature_mask(self.n_members, n_features, self.max_features, self.seed)
            ),
            trainable=False,
            name="mask",
        )

    def call(self, inputs):
        return keras.ops.expand_dims(inputs, 1) * self.mask

    def direct_call(self, x, training=False):
        """:meth:`call` as plain torch operations (see :mod:`skae._graph`)."""
        return x.unsqueeze(1) * self.mask.value

    def inference_call(self):
        """:meth:`direct_call` for inference, as a function of the inputs:
        the same values, member-major in memory (see
        :meth:`MemberDense.inference_call`)."""

        def call(x):
            return (self.mask.value.unsqueeze(1) * x.unsqueeze(0)).transpose(0, 1)

        return call

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_members, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "n_members": self.n_members,
            "max_features": self.max_features,
            "seed": self.seed,
        }


#: Per-thread results of :class:`MemberSampling` calls.
_CALLS = threading.local()


@keras.saving.register_keras_serializable(package="skae")
class MemberSampling(keras.layers.Layer):
    """Variational bottleneck of each member: ``[mean, log_var] -> z``.

    Called on the means and log-variances side by side,
    ``(batch, m, 2 * n_components)``. In training it returns a sample
    ``mean + exp(log_var / 2) * noise``; in inference the mean. It keeps each
    member's ``KL(N(mean, exp(log_var)) || N(0, I))`` per row, ``(batch, m)``,
    in :attr:`last_kl`; the training loss adds it (:class:`TrimmedLoss`).

    Parameters
    ----------
    seed : int or None, default=None
        Seed of the sampling noise.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._generator = None
        self._stream = 0

    def restart_noise(self, stream):
        """Draw the training noise afresh from ``(seed, stream)``.

        The detector calls it at the start of every fit with the number of
        optimizer steps taken so far, so that the noise of a fit depends on
        where training stands, not on what earlier calls (an interrupted fit
        among them) drew.
        """
        self._generator, self._stream = None, int(stream)

    @property
    def last_kl(self):
        """The KL terms of this thread's latest call, ``(batch, m)``.

        Kept per thread, so that concurrent calls (scoring from several
        threads) each read their own.
        """
        return getattr(_CALLS, "kl", {}).get(id(self))

    def _keep_kl(self, kl):
        if not hasattr(_CALLS, "kl"):
            _CALLS.kl = {}
        _CALLS.kl[id(self)] = kl

    def call(self, inputs, training=False):
        mean, log_var = keras.ops.split(inputs, 2, axis=-1)
        self._keep_kl(
            -0.5
            * keras.ops.sum(
                1.0 + log_var - keras.ops.square(mean) - keras.ops.exp(log_var),
                axis=-1,
            )
        )
        if not training:
            return mean
        noise = keras.random.normal(keras.ops.shape(mean), seed=self.seed_generator)
        return mean + keras.ops.exp(0.5 * log_var) * noise

    def direct_call(self, x, training=False):
        """:meth:`call` with torch operations, its noise from a torch generator
        seeded with ``seed`` (Keras's own draws cost more than the layer)."""
        mean, log_var = torch.chunk(x, 2, dim=-1)
        variance = torch.exp(log_var)
        self._keep_kl(-0.5 * torch.sum(1.0 + log_var - mean * mean - variance, -1))
        if not training:
            return mean
        if self._generator is None or self._generator.device != x.device:
            self._generator = torch.Generator(device=x.device)
            seed = 0 if self.seed is None else int(self.seed)
            self._generator.manual_seed((seed * 1_000_003 + self._stream) % 2**63)
        noise = torch.randn(
            mean.shape, generator=self._generator, device=x.device, dtype=x.dtype
        )
        return mean + torch.sqrt(variance) * noise

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def feature_mask(n_members, n_features, max_features, seed):
    """The ``(n_members, n_features)`` 0/1 mask of the features each member sees."""
    n_seen = max(1, round(max_features * n_features))
    mask = np.zeros((n_members, n_features), dtype="float32")
    if n_seen >= n_features:
        mask[:] = 1.0
        return mask
    rng = np.random.default_rng(seed)
    for member in range(n_members):
        mask[member, rng.choice(n_features, n_seen, replace=False)] = 1.0
    return mask


def build_ensemble(
    n_features,
    *,
    n_estimators,
    n_components,
    hidden_layer_sizes,
    activation="tanh",
    output_activation="linear",
    max_features=1.0,
    dropout=0.0,
    l2=0.0,
    beta=None,
    seed=None,
):
    """Build the encoder and decoder of ``n_estimators`` dense autoencoders.

    Each member is ``n_features -> hidden_layer_sizes... -> n_components`` and
    back, as :func:`~skae._networks.build_autoencoder` builds a dense network;
    with ``beta`` set, its bottleneck is variational (:class:`MemberSampling`;
    the training loss weighs its KL term by ``beta``).

    Returns
    -------
    encoder : keras.Model
        ``(batch, n_features) -> (batch, n_estimators, n_components)``.
    decoder : keras.Model
        ``(batch, n_estimators, n_components) -> (batch, n_estimators, n_features)``.
    """
    rng = np.random.default_rng(seed)

    def next_seed():
        return int(rng.integers(0, np.iinfo(np.int32).max))

    def dense(h, units, name, activation=None):
        h = MemberDense(units, activation, l2=l2, seed=next_seed(), name=name)(h)
        if activation is not None and dropout > 0:
            h = keras.layers.Dropout(dropout, seed=next_seed(), name=f"{name}_drop")(h)
        return h

    hidden = [int(h) for h in hidden_layer_sizes]
    x_in = keras.Input(shape=(n_features,), name="x")
    h = MemberInputs(n_estimators, max_features, seed=next_seed(), name="members")(x_in)
    for i, width in enumerate(hidden):
        h = dense(h, width, f"encoder_dense_{i}", activation)
    if beta is None:
        code = dense(h, n_components, "bottleneck")
    else:  # the means and log-variances side by side
        code = dense(h, 2 * n_components, "z_mean_log_var")
        code = MemberSampling(seed=next_seed(), name="sampling")(code)
    z_in = keras.Input(shape=(n_estimators, n_components), name="z")
    h = z_in
    for i, width in enumerate(hidden[::-1]):
        h = dense(h, width, f"decoder_dense_{i}", activation)
    x_out = MemberDense(
        n_features, output_activation, l2=l2, seed=next_seed(), name="reconstruction"
    )(h)
    return (
        keras.Model(x_in, code, name="encoder"),
        keras.Model(z_in, x_out, name="decoder"),
    )


def member_mask(model):
    """The ``(m, n_features)`` feature mask of an ensemble model, or None."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, MemberInputs):
            return layer.mask
    return None


def member_sampling(model):
    """The :class:`MemberSampling` layer of an ensemble model, or None."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, MemberSampling):
            return layer
    return None


#: Losses computed feature by feature as torch operations on the difference.
ELEMENTWISE_LOSSES = {
    "mae": lambda diff: torch.abs(diff),
    "mse": lambda diff: diff * diff,
    "huber": lambda diff: torch.where(
        torch.abs(diff) <= 1.0, 0.5 * diff * diff, torch.abs(diff) - 0.5
    ),
}


def elementwise_errors(loss, x, reconstructions, mask):
    """``(batch, m, n_features)`` errors of each member on each feature.

    ``loss`` is a name of :data:`ELEMENTWISE_LOSSES`, computed directly, or a Keras
    loss ``loss(y_true, y_pred)`` that averages over the last axis
    (``keras.losses.binary_crossentropy``, your own...): applied to single
    features it gives each feature's error. Features a member does not see
    count 0.
    """
    mask = _value(mask)
    if isinstance(loss, str) and loss in ELEMENTWISE_LOSSES:
        return ELEMENTWISE_LOSSES[loss](reconstructions - x.unsqueeze(1)) * mask
    target = x.unsqueeze(1).unsqueeze(-1).expand(*reconstructions.shape, 1)
    return loss(target, reconstructions.unsqueeze(-1)) * mask


class RowSubsample:
    """Which rows each member trains on: ``(batch, n_features) -> (batch, m)`` 0/1.

    A fixed pseudo-random function of the row's values (a random projection,
    its fractional part compared with ``max_samples``), so a row belongs to
    the same members in every batch and epoch, with no row index needed.

    Parameters
    ----------
    n_features, n_members : int
    max_samples : float in (0, 1]
        Expected fraction of the rows each member trains on.
    seed : int
    """

    def __init__(self, n_features, n_members, max_samples, seed):
        rng = np.random.default_rng(seed)
        self.projection = rng.normal(size=(n_features, n_members)).astype("float32")
        self.max_samples = float(max_samples)

    def __call__(self, x):
        projection = torch.as_tensor(self.projection, device=x.device)
        hashed = (x.to(torch.float32) @ projection) * 9973.0
        return (hashed - torch.floor(hashed)) < self.max_samples


def _value(variable):
    return variable.value if hasattr(variable, "value") else variable


def member_errors(loss, x, reconstructions, mask):
    """``(batch, m)`` error of each member on each row: its features' summed."""
    return torch.sum(elementwise_errors(loss, x, reconstructions, mask), -1)


@keras.saving.register_keras_serializable(package="skae")
class TrimmedLoss(keras.losses.Loss):
    """Mean of per-member row errors, ignoring each batch's worst rows.

    For each member, the ``trim_fraction`` of the batch's rows it reconstructs
    worst are left out of the mean (a trimmed mean), once ``warmup_steps``
    training steps have passed: outliers in the training data then stop
    pulling the reconstruction towards themselves. The result is averaged
    over the members, plus ``beta`` times the mean KL term of a variational
    bottleneck (``sampling``), over all rows. Steps are counted on calls made
    with gradients enabled (training), not on validation.

    Parameters
    ----------
    errors : callable
        ``errors(y_true, y_pred) -> (batch, m)`` tensor.
    trim_fraction : float in [0, 1), default=0.0
    warmup_steps : int, default=0
    sampling : MemberSampling or None, default=None
    beta : float, default=1.0
    """

    def __init__(
        self,
        errors=None,
        trim_fraction=0.0,
        warmup_steps=0,
        sampling=None,
        beta=1.0,
        row_mask=None,
        **kwargs,
    ):
        super().__init__(name=kwargs.pop("name", "trimmed_loss"), **kwargs)
        self.errors = errors
        self.trim_fraction = float(trim_fraction)
        self.warmup_steps = int(warmup_steps)
        self.sampling = sampling
        self.beta = float(beta)
        self.row_mask = row_mask
        self.steps = 0

    def __call__(self, y_true, y_pred, sample_weight=None):
        errors = self.errors(y_true, y_pred)
        if torch.is_grad_enabled():
            self.steps += 1
        trim = self.steps > self.warmup_steps and self.trim_fraction > 0
        if self.row_mask is None and not trim:
            loss = torch.mean(errors)
        else:
            weights = torch.ones_like(errors)
            if self.row_mask is not None:
                weights = self.row_mask(y_true).to(errors.dtype)
            if trim:  # keep each member's best (1 - trim_fraction) of its rows
                key = torch.where(weights > 0, errors, torch.inf).detach()
                ranks = torch.argsort(torch.argsort(key, dim=0), dim=0)
                keep = weights.sum(0) - torch.floor(self.trim_fraction * weights.sum(0))
                weights = weights * (ranks < keep).to(errors.dtype)
            loss = torch.mean((errors * weights).sum(0) / weights.sum(0).clamp(min=1.0))
        if self.sampling is not None:
            loss = loss + self.beta * torch.mean(self.sampling.last_kl)
        return loss

    def call(self, y_true, y_pred):
        return keras.ops.mean(self.errors(y_true, y_pred), axis=-1)

    def get_config(self):
        return {
            "name": self.name,
            "trim_fraction": self.trim_fraction,
            "warmup_steps": self.warmup_steps,
            "beta": self.beta,
        }
