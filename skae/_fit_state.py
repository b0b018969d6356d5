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

from ._backend import variables_to_numpy

__all__ = ["FitSnapshot"]


class FitSnapshot:
    """The state of ``estimator`` before a fit (see the module docstring)."""

    def __init__(self, estimator):
        self._estimator = estimator
        self._attributes = dict(vars(estimator))
        model = self._attributes.get("_model")
        optimizer = self._attributes.get("_optimizer")
        self._weights = None if model is None else variables_to_numpy(model.weights)
        self._optimizer_state = None
        if optimizer is not None:
            if optimizer.built:
                self._optimizer_state = variables_to_numpy(optimizer.variables)

    def restore(self):
        """Put the estimator, its network and its optimizer back in place."""
        estimator = self._estimator
        vars(estimator).clear()
        vars(estimator).update(self._attributes)
        model = self._attributes.get("_model")
        if model is not None:
            model.set_weights(self._weights)  # copied into the same tensors
        optimizer = self._attributes.get("_optimizer")
        if optimizer is None:
            return
        if self._optimizer_state is None:
            if optimizer.built:  # built by the failed fit: start it afresh
                estimator._optimizer = estimator._make_optimizer()
            return
        for variable, value in zip(
            optimizer.variables, self._optimizer_state, strict=True
        ):
            variable.assign(value)
