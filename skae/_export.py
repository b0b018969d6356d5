"""Whole-model export: one ``.keras`` file that Keras and skae both load.

:func:`save_model` writes the trained autoencoder with Keras's own
``Model.save`` (architecture, weights) and adds one entry, ``skae.json``, to
the archive: the estimator's class, its parameters and its fitted attributes.
Keras ignores that entry, so ``keras.saving.load_model`` gives the network;
:func:`load_model` reads it as well and gives the estimator back.
"""

import importlib
import json
import os
import zipfile

import numpy as np

from ._backend import device_scope, keras, quiet_numpy_copy_warning
from ._version import __version__

__all__ = ["load_model", "save_model"]

_ENTRY = "skae.json"

#: Fitted attributes that are views on the network or machine-specific.
_NETWORK_ATTRIBUTES = ("encoder_", "decoder_", "device_")

#: Parameters that only matter while training and hold live objects.
_TRAINING_ONLY = ("callbacks",)


def _keras_path(path):
    path = os.fspath(path)
    if not str(path).endswith(".keras"):
        raise ValueError(f"path must end in '.keras'; got {path!r}.")
    return path


def _encode(value, what):
    """``value`` as JSON, numpy arrays and Keras objects tagged."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, what) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, what) for k, v in value.items()}}
    try:
        config = keras.saving.serialize_keras_object(value)
        keras.saving.deserialize_keras_object(config)
    except Exception as exc:
        raise ValueError(
            f"{what}={value!r} cannot be stored in a Keras file: it is neither "
            "plain data nor a Keras object Keras can serialise. Register it with "
            "keras.saving.register_keras_serializable, or pickle the estimator "
            f"instead ({exc})."
        ) from None
    return {"__keras__": config}


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v) for k, v in value["__dict__"].items()}
    return keras.saving.deserialize_keras_object(value["__keras__"])


def save_model(estimator, path):
    """Write ``estimator``'s network and its skae metadata to ``path``."""
    path = _keras_path(path)
    params, not_stored = {}, []
    for name, value in estimator.get_params(deep=False).items():
        if (
            name in _TRAINING_ONLY
            or isinstance(value, keras.Model)
            or (name in ("encoder", "decoder") and value is not None)
        ):
            not_stored.append(name)  # the trained networks are in the file
            continue
        if isinstance(value, np.random.RandomState):
            not_stored.append(name)
            continue
        params[name] = _encode(value, name)
    attributes = {
        name: _encode(value, name)
        for name, value in vars(estimator).items()
        if (
            name.endswith("_")
            and not name.startswith("_")
            and name not in _NETWORK_ATTRIBUTES
        )
        or (name in estimator._SCORING_STATE and value is not None)
    }
    cls = type(estimator)
    metadata = {
        "skae_version": __version__,
        "class": [cls.__module__, cls.__qualname__],
        "params": params,
        "not_stored": not_stored,
        "attributes": attributes,
    }
    model = estimator._model
    # An uncompiled model on the same layers: the file holds no training loss,
    # which may be a function only the estimator knows.
    with quiet_numpy_copy_warning():
        keras.Model(model.inputs, model.outputs, name=model.name).save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(_ENTRY, json.dumps(metadata))


def load_model(path, *, safe_mode=True):
    """Build a fitted skae estimator back from a file written by ``save_model``.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.keras`` file written by an estimator's ``save_model``.
    safe_mode : bool, default=True
        Passed to ``keras.saving.load_model``: with True, Keras refuses to load
        the Python code of ``Lambda`` layers (bytecode that runs on loading).
        Set it to False only for a file you trust.

    Returns
    -------
    estimator : BaseAutoencoder
        The fitted estimator: same parameters (except ``callbacks``, a
        ``RandomState`` ``random_state`` and your own ``encoder`` and
        ``decoder``, which are left at their defaults), same fitted attributes
        and network, on the device its ``device`` parameter names here. Its
        optimizer starts afresh.

    See Also
    --------
    AutoencoderTransformer.save_model : Writes the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skae
    >>> X = np.random.default_rng(0).normal(size=(100, 6))
    >>> ae = skae.AutoencoderTransformer(epochs=2, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "ae.keras")
    >>> ae.save_model(path)
    >>> loaded = skae.load_model(path)
    >>> np.array_equal(loaded.transform(X), ae.transform(X))
    True
    """
    path = _keras_path(path)
    with zipfile.ZipFile(path) as archive:
        if _ENTRY not in archive.namelist():
            raise ValueError(
                f"{path!r} holds no skae estimator (it was not written by "
                "save_model); load it with keras.saving.load_model."
            )
        metadata = json.loads(archive.read(_ENTRY))
    module, qualname = metadata["class"]
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    estimator = cls(**{k: _decode(v) for k, v in metadata["params"].items()})
    device = estimator._loading_device(stacklevel=3)
    with device_scope(device), quiet_numpy_copy_warning():
        model = keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    for name, value in metadata["attributes"].items():
        setattr(estimator, name, _decode(value))
    estimator._attach_network(model, estimator._make_optimizer(), device)
    estimator._fitted_architecture = estimator._architecture_params()
    return estimator
