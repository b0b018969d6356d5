"""Export a fitted estimator's network to ONNX, to serve it without skae.

:func:`to_onnx` writes one inference method of a fitted estimator (the
encoder of ``transform``, the decoder of ``inverse_transform``, or the whole
network with the per-row score of ``score_samples`` and ``decision_function``)
as an ONNX graph that any ONNX runtime runs: ``onnxruntime`` in Python, C++,
C#, Java or JavaScript, with no Python, Keras, torch or skae on the serving
side. The export goes through ``torch.onnx.export`` (its ``torch.export``
based exporter), which needs the ``onnx`` and ``onnxscript`` packages::

    pip install "skae[serve]"

What is exported is the network and, for scores, the estimator's own scoring
(an outlier detector's ensemble of standardised errors included, with the
constants fitted with it): not the preprocessing in front of the estimator
(a ``StandardScaler`` in a ``Pipeline``), which the serving side applies
itself before calling the graph (or exports with a converter such as
``skl2onnx``), and not the outlier labels, which are
``decision_function < 0``.
"""

import os

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._backend import device_scope, torch
from ._graph import compile_model

__all__ = ["to_onnx"]

#: Methods :func:`to_onnx` exports.
METHODS = ("transform", "inverse_transform", "score_samples", "decision_function")


class _Serving(torch.nn.Module):
    """One inference method of a fitted estimator as a torch module."""

    def __init__(self, estimator, method):
        super().__init__()
        self._per_sample = None
        self._center = self._spread = None
        if method == "transform":
            model = estimator.encoder_
        elif method == "inverse_transform":
            model = estimator.decoder_
        else:
            # The estimator's own scoring hook, so the graph scores as
            # ``score_samples`` does (an outlier detector's scaled errors too).
            scoring = estimator._objective(estimator._model)
            model, self._per_sample = scoring.scorer, scoring.per_sample
            center = getattr(estimator, "_member_center", None)
            if center is not None:  # the detector's standardised members
                spread = estimator._member_spread
                self._center = torch.as_tensor(
                    np.asarray(center, dtype=np.float32), device=estimator.device_
                )
                self._spread = torch.as_tensor(
                    np.asarray(spread, dtype=np.float32), device=estimator.device_
                )
        # Registered, so that the exporter stores the weights as initializers.
        self.weights = torch.nn.ParameterList(
            [v.value for v in model.weights if isinstance(v.value, torch.nn.Parameter)]
        )
        self._program = compile_model(model)
        self._method = method
        self._offset = 0.0
        if method == "decision_function":
            self._offset = float(estimator.offset_)

    def forward(self, x):
        out = self._program(x, training=False)
        if self._method == "transform":
            return out.reshape(out.shape[0], -1)  # image-shaped codes, flattened
        if self._per_sample is None:
            return out.reshape(out.shape[0], -1)
        errors = self._per_sample(x, out)
        if self._center is not None:  # (n, m) member errors, standardised
            errors = torch.mean((errors - self._center) / self._spread, dim=-1)
        score = -errors
        return score - self._offset if self._offset else score


def to_onnx(estimator, path, *, method=None):
    """Write a fitted estimator's inference method as an ONNX model.

    The ONNX graph has one input, ``"X"``: float32 rows of shape
    ``(n_samples, n_features)`` (any number of rows), already preprocessed as
    the estimator's input was; and one output, named after ``method``:

    - ``"transform"``: the codes, float32 ``(n_samples, n_components)``;
    - ``"inverse_transform"``: reconstructions from codes (the input is then
      the codes);
    - ``"score_samples"``: what the estimator's ``score_samples`` returns,
      float32 ``(n_samples,)``: minus each row's reconstruction error (the
      negative ELBO for a variational network); for an
      :class:`~skae.AutoencoderOutlierDetector`, minus the mean of its
      members' errors, each standardised by the training median and
      interquartile range it was fitted with (stored in the graph as
      constants, as are the per-feature scales of ``scale_errors``);
    - ``"decision_function"`` (outlier detectors): ``score_samples - offset_``;
      a row is an outlier where it is negative.

    The outputs equal the estimator's to float32 rounding (the estimator
    returns float64 scores computed in float32).

    Parameters
    ----------
    estimator : fitted skae estimator
        An :class:`~skae.AutoencoderTransformer`,
        :class:`~skae.DenoisingAutoencoder`,
        :class:`~skae.AutoencoderOutlierDetector` or
        :class:`~skae.VariationalAutoencoder`.
    path : str or os.PathLike
        Where to write the ``.onnx`` file.
    method : {"transform", "inverse_transform", "score_samples", \
"decision_function"} or None, default=None
        What to export. None exports ``decision_function`` for an outlier
        detector and ``transform`` otherwise.

    Returns
    -------
    path : str
        The path written.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.export import to_onnx
    >>> X = (load_digits().data / 16.0).astype(np.float32)
    >>> ae = AutoencoderTransformer(n_components=8, epochs=3, random_state=0).fit(X)
    >>> import os, tempfile
    >>> path = to_onnx(ae, os.path.join(tempfile.mkdtemp(), "encoder.onnx"))
    >>> session = onnxruntime.InferenceSession(path)
    >>> (codes,) = session.run(None, {"X": X[:5]})
    >>> bool(np.allclose(codes, ae.transform(X[:5]), atol=1e-5))
    True
    """
    check_is_fitted(estimator)
    if method is None:
        method = "decision_function" if hasattr(estimator, "offset_") else "transform"
    available = [m for m in METHODS if hasattr(estimator, m)]
    if method not in available:
        raise ValueError(
            f"method must be one of {available} for {type(estimator).__name__}; "
            f"got {method!r}."
        )
    path = os.fspath(path)
    module = _Serving(estimator, method).eval()
    width = (
        estimator._n_features_out
        if method == "inverse_transform"
        else estimator.n_features_in_
    )
    example = torch.zeros((2, width), dtype=torch.float32, device=estimator.device_)
    rows = torch.export.Dim("n_samples")
    with torch.no_grad(), device_scope(estimator.device_):
        torch.onnx.export(
            module,
            (example,),
            path,
            input_names=["X"],
            output_names=[method],
            dynamic_shapes=({0: rows},),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    return path
