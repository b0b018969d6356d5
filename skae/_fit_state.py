"""A fit that raises leaves the estimator as it was.

:class:`FitSnapshot` records, before a fit changes anything, the estimator's
attributes (the fitted ones included) and the values of its network's weights
and of its optimizer's state (iteration count, moments, learning rate).
:meth:`FitSnapshot.restore` puts them all back, whatever was raised: bad data,
a non-finite loss, a callback's exception or a ``KeyboardInterrupt``. A first
fit that fails thus leaves an unfitted estimator (``NotFittedError``, no
``n_features_in_``), and a continued fit (``warm_start``, ``partial_fit``)
that fails keeps the previous fit intact.
"""

import torch

__all__ = ["FitSnapshot"]


class FitSnapshot:
    """The state of ``estimator`` before a fit (see the module docstring)."""

    def __init__(self, estimator, *, continuing):
        self._estimator = estimator
        self._attributes = dict(vars(estimator))
        # A new fit builds a new network and optimizer: the old ones are kept
        # untouched with the attributes. A continued fit trains them in place.
        model = self._attributes.get("_model") if continuing else None
        optimizer = self._attributes.get("_optimizer") if continuing else None
        self._model, self._optimizer = model, optimizer
        self._weights = None if model is None else _copy(model.weights)
        self._optimizer_state = None
        if optimizer is not None:
            if optimizer.built:
                self._optimizer_state = _copy(optimizer.variables)

    def restore(self):
        """Put the estimator, its network and its optimizer back in place."""
        estimator = self._estimator
        vars(estimator).clear()
        vars(estimator).update(self._attributes)
        model, optimizer = self._model, self._optimizer
        if model is not None:
            _put_back(model.weights, self._weights)
        if optimizer is None:
            return
        if self._optimizer_state is None:
            if optimizer.built:  # built by the failed fit: start it afresh
                estimator._optimizer = estimator._make_optimizer()
            return
        _put_back(optimizer.variables, self._optimizer_state)


def _copy(variables):
    """Copies of the variables' tensors, on their own device."""
    return [v.value.detach().clone() for v in variables]


def _put_back(variables, copies):
    """Copy ``copies`` into the variables' own tensors (programs keep them)."""
    with torch.no_grad():
        for variable, copy in zip(variables, copies, strict=True):
            variable.value.copy_(copy)
