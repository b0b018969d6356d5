"""Keras's names for losses, optimizers, activations and callbacks.

skae takes Keras's own words for what Keras defines, resolved through Keras's
own lookups (``keras.losses.get``, ``keras.optimizers.get``,
``keras.activations.get``), so every name Keras accepts works, spelt as Keras
accepts it. This module turns those names into objects and checks them before
a network is built, with errors that name the estimator's parameter.
"""

import inspect

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError, StrOptions

from ._backend import keras, torch
from ._training import row_loss

__all__ = [
    "LOSS_NAMES",
    "OptimizerNames",
    "check_activation",
    "check_callbacks",
    "check_per_sample_loss",
    "is_binary_crossentropy",
    "make_optimizer",
    "per_sample_loss",
]

_losses = keras.src.losses
_optimizers = keras.src.optimizers

#: Every loss name ``keras.losses.get`` resolves (its function and class names
#: and their aliases: "mse", "mean_squared_error", "MeanSquaredError", ...),
#: less the abstract bases.
LOSS_NAMES = frozenset(_losses.ALL_OBJECTS_DICT) - {"Loss", "LossFunctionWrapper"}


def _optimizer_classes():
    """Name (lower case, as Keras looks it up) -> optimizer class, for the
    optimizers that take a learning rate (not wrappers of another optimizer)."""
    classes = {}
    for name, cls in _optimizers.ALL_OBJECTS_DICT.items():
        if (
            isinstance(cls, type)
            and issubclass(cls, keras.optimizers.Optimizer)
            and cls is not keras.optimizers.Optimizer
            and "learning_rate" in inspect.signature(cls).parameters
            and "inner_optimizer" not in inspect.signature(cls).parameters
        ):
            classes[name.lower()] = cls
    return classes


_OPTIMIZER_CLASSES = _optimizer_classes()


class OptimizerNames(StrOptions):
    """The optimizer names Keras knows, in any case (``keras.optimizers.get``
    lower-cases a name before looking it up)."""

    def __init__(self):
        super().__init__(set(_OPTIMIZER_CLASSES))

    def is_satisfied_by(self, val):
        return isinstance(val, str) and val.lower() in self.options


def make_optimizer(optimizer, *, learning_rate, clipnorm):
    """A new Keras optimizer from a name or (copied from) an instance."""
    if isinstance(optimizer, str):
        cls = _OPTIMIZER_CLASSES[optimizer.lower()]
        return cls(learning_rate=learning_rate, clipnorm=clipnorm)
    config = optimizer.get_config()
    if clipnorm is not None:
        config["clipnorm"] = clipnorm
    return optimizer.__class__.from_config(config)


def per_sample_loss(loss):
    """The loss as a function ``(y_true, y_pred) -> one value per sample``
    (the engine's own, shared by training and scoring)."""
    return row_loss(loss)


def is_binary_crossentropy(loss):
    """True for every spelling of Keras's binary cross-entropy."""
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    return loss is keras.losses.binary_crossentropy or type(loss) is (
        keras.losses.BinaryCrossentropy
    )


def check_per_sample_loss(loss, rows):
    """Raise a ValueError unless ``loss`` gives one value per row of ``rows``.

    ``rows`` is a few training rows (a 2-D float array): the loss is evaluated
    on them against themselves, before any training, so that a loss reducing
    to one scalar fails here with a clear message and not in scoring.
    """
    per_sample = per_sample_loss(loss)
    y = torch.from_numpy(np.array(rows, dtype=np.float32))  # a writable copy
    try:
        value = per_sample(y, y)
    except Exception as exc:
        raise ValueError(
            f"loss={loss!r} failed on two training rows: {exc}. The loss must be a "
            "Keras loss of (y_true, y_pred) returning one value per sample."
        ) from exc
    shape = tuple(getattr(value, "shape", ()))
    if shape != (y.shape[0],):
        raise ValueError(
            f"loss={loss!r} must return one value per sample: on {y.shape[0]} rows "
            f"it returned shape {shape}, expected ({y.shape[0]},). Reduce over the "
            "features only (e.g. keras.ops.mean(..., axis=-1)), not over the rows."
        )


def check_activation(value, name):
    """Raise an InvalidParameterError (a ValueError) naming ``name`` unless
    Keras knows the activation."""
    try:
        keras.activations.get(value)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(
            f"{name}={value!r} is not an activation Keras knows ({exc}). Use a "
            "name keras.activations.get accepts, such as 'relu', 'tanh', 'gelu', "
            "'sigmoid' or 'linear'."
        ) from None


def check_callbacks(callbacks):
    """Raise an InvalidParameterError (a ValueError and a TypeError) naming
    ``callbacks`` for an entry that is no Keras callback."""
    for i, callback in enumerate(callbacks or ()):
        if not isinstance(callback, keras.callbacks.Callback):
            raise InvalidParameterError(
                f"callbacks[{i}]={callback!r} is not a keras.callbacks.Callback: "
                "callbacks must be a list of Keras callbacks (EarlyStopping, "
                "ReduceLROnPlateau, your own subclass of keras.callbacks.Callback)."
            )
