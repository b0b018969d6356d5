"""What an autoencoder trains and scores with, read from its network.

A plain network trains and scores with the reconstruction loss. A variational
one (its encoder has a :class:`VariationalSampling` layer) trains with the loss
summed over a row's features (plus the layer's ``beta * KL``) and scores each
row by its negative ELBO, computed by a scoring model whose graph holds the
row's KL term: nothing of a call is kept on the shared layers, so concurrent
scoring is exact.
"""

import math
import threading
import weakref
from collections.abc import Callable
from typing import NamedTuple

from ._backend import keras, torch
from ._graph import compile_model
from ._networks import VariationalSampling, kl_divergence
from ._vocabulary import per_sample_loss

__all__ = ["Objective", "objective"]


class Objective(NamedTuple):
    """What an estimator trains and scores with (see :func:`objective`)."""

    #: Loss given to the training engine (any loss Keras's ``compile`` takes).
    loss: object
    #: ``per_sample(x, output) -> error per row``, for ``score_samples``.
    per_sample: Callable
    #: The model whose output ``per_sample`` reads: the autoencoder itself, or
    #: for a variational one a model of the reconstruction and the KL term.
    scorer: object
    #: Builds the ``kl_loss`` metric of a variational model, or None.
    kl_metric: Callable = None

    def training_metrics(self):
        """New Keras metrics that training tracks in ``history_`` beside the
        user's: ``reconstruction_loss`` and ``kl_loss`` for a variational
        network, none otherwise. Built on demand, since scoring needs none."""
        if self.kl_metric is None:
            return []
        return [
            keras.metrics.MeanMetricWrapper(self.loss, name="reconstruction_loss"),
            self.kl_metric(),
        ]


class _KL(keras.metrics.Mean):
    """Mean KL term of the rows' posteriors, as a Keras metric.

    Computed from the rows themselves (``y_true``: a variational model's input
    is its target) through the encoder's mean and log-variance heads, in
    inference mode; nothing is read from the shared sampling layer.
    """

    def __init__(self, kl_program, name="kl_loss"):
        super().__init__(name=name)
        self._kl = kl_program

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(self._kl(y_true, training=False))


def _sampling_layer(model):
    """The model's :class:`VariationalSampling` layer, or None."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, VariationalSampling):
            return layer
    return None


_VARIATIONAL_PARTS = weakref.WeakKeyDictionary()
_VARIATIONAL_LOCK = threading.Lock()


def _variational_parts(model, sampling):
    """``(scorer, kl_model)`` of a variational ``model``, built once per model.

    ``scorer`` maps rows to their reconstruction at the posterior mean with the
    row's KL term as one more column; ``kl_model`` maps rows to their KL term.
    Both read the encoder's mean and log-variance heads in their own graph, so
    each call computes its own KL (inference holds no per-call state on the
    shared layers, and concurrent calls are safe).
    """
    with _VARIATIONAL_LOCK:
        parts = _VARIATIONAL_PARTS.get(model)
        if parts is None:
            encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
            mean, log_var = sampling.input
            kl = kl_divergence(mean, log_var)
            column = keras.ops.expand_dims(kl, -1)
            scorer = keras.Model(
                encoder.input, keras.ops.concatenate([decoder(mean), column], axis=-1)
            )
            parts = _VARIATIONAL_PARTS[model] = (scorer, keras.Model(encoder.input, kl))
        return parts


def _float64(per_sample):
    """``per_sample`` computed in float64, a NaN error counted as infinite.

    The network runs in float32, but a row's error may exceed float32's range
    (its squares do, for values beyond about 1e19): in float64 it stays
    finite, so one such row does not make ``score`` infinite. A reconstruction
    that overflowed (NaN) is as bad as an error can be, never an inlier.
    """

    def errors(x, output):
        values = per_sample(x.to(torch.float64), output.to(torch.float64))
        return torch.where(torch.isnan(values), math.inf, values)

    return errors


def objective(model, loss):
    """What training minimises and scoring reports for ``model`` and ``loss``.

    A plain autoencoder minimises ``loss`` (averaged over features) and scores
    each row by that loss. A variational one (its encoder has a
    :class:`VariationalSampling` layer, which adds ``beta * KL`` to the loss
    itself) minimises the loss summed over the features of a row and scores
    each row by its negative ELBO: that sum plus the row's KL term (unweighted),
    with the reconstruction at the posterior mean. ``history_`` then also
    tracks ``reconstruction_loss`` and ``kl_loss``.
    """
    per_feature = per_sample_loss(loss)
    sampling = _sampling_layer(model)
    if sampling is None:
        return Objective(loss, _float64(per_feature), model)

    def reconstruction_loss(y_true, y_pred):
        return per_feature(y_true, y_pred) * y_true.shape[-1]

    def negative_elbo(x, output):
        return reconstruction_loss(x, output[:, :-1]) + output[:, -1]

    scorer, kl_model = _variational_parts(model, sampling)
    return Objective(
        reconstruction_loss,
        _float64(negative_elbo),
        scorer,
        lambda: _KL(compile_model(kl_model)),
    )
