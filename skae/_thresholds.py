"""Threshold rules: where an outlier detector draws the line on its scores.

A rule turns the training scores (higher = more normal) into ``offset_``, the
score below which a row is an outlier. :class:`AutoencoderOutlierDetector`
takes one through its ``contamination`` parameter:

* ``"auto"``: Tukey's fence on the errors (:func:`tukey_offset`);
* a float in (0, 0.5]: that fraction of the training rows is flagged;
* ``PercentileThreshold(q)``: the ``q``-th percentile of the training scores;
* ``MeanStdThreshold(k)``: mean + ``k`` standard deviations of the training errors;
* ``FixedThreshold(offset)``: a fixed value of the score.
"""

from numbers import Real

import numpy as np

__all__ = [
    "FixedThreshold",
    "MeanStdThreshold",
    "PercentileThreshold",
    "offset_for",
    "tukey_offset",
]

#: Interquartile ranges above the upper quartile where "auto" draws the line.
TUKEY_FENCE = 1.5


class _Rule:
    """A threshold rule: an immutable value with ``offset(scores) -> float``."""

    _field = None

    def _set(self, value):
        if not isinstance(value, Real) or isinstance(value, bool):
            raise TypeError(
                f"{type(self).__name__}({self._field}=...) takes a real number; "
                f"got {value!r}."
            )
        self._check(float(value))
        self._value = float(value)

    def _check(self, value):
        if not np.isfinite(value):
            raise ValueError(
                f"{type(self).__name__}({self._field}=...) must be finite; got "
                f"{value!r}."
            )

    def __repr__(self):
        return f"{type(self).__name__}({self._field}={self._value!r})"

    def __eq__(self, other):
        return type(self) is type(other) and self._value == other._value

    def __hash__(self):
        return hash((type(self).__name__, self._value))

    def offset(self, scores, sample_weight=None):
        """The threshold for these training scores.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Training scores, higher = more normal (``score_samples``).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Row weights: a row of weight 2 counts as two rows.

        Returns
        -------
        offset : float
            The detector's ``offset_``: rows scoring below it are outliers.
        """
        weights = None if sample_weight is None else np.asarray(sample_weight)
        return float(self._offset(np.asarray(scores, dtype=np.float64), weights))


class PercentileThreshold(_Rule):
    """Threshold at the ``q``-th percentile of the training scores.

    ``PercentileThreshold(1.0)`` flags the 1 % of training rows that score
    lowest: the same as ``contamination=0.01``, written as a percentile, and
    usable below ``contamination``'s range (``PercentileThreshold(0.1)``) or
    above it.

    Parameters
    ----------
    q : float in [0, 100]
        Percentile of the training scores (higher scores are more normal).

    See Also
    --------
    MeanStdThreshold, FixedThreshold : The other threshold rules.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import PercentileThreshold
    >>> PercentileThreshold(10).offset(np.arange(11.0) - 10)
    -9.0
    """

    _field = "q"

    def __init__(self, q):
        self._set(q)

    def _check(self, value):
        if not 0 <= value <= 100:
            raise ValueError(
                f"PercentileThreshold(q=...) must be in [0, 100]; got {value!r}."
            )

    @property
    def q(self):
        return self._value

    def _offset(self, scores, weights):
        return percentile(scores, self.q, weights)


class MeanStdThreshold(_Rule):
    """Threshold at the training errors' mean plus ``k`` standard deviations.

    The error is ``-score_samples``: a row is an outlier when its error
    exceeds ``mean + k * std`` of the training errors (the classical
    three-sigma rule for ``k=3``). Outliers in the training data inflate both
    the mean and the standard deviation, so this flags fewer rows than the
    quartile-based ``"auto"`` when they are many.

    Parameters
    ----------
    k : float
        Standard deviations above the mean.

    See Also
    --------
    PercentileThreshold, FixedThreshold : The other threshold rules.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import MeanStdThreshold
    >>> MeanStdThreshold(3).offset(-np.array([1.0, 2.0, 3.0, 2.0]))
    -4.121...
    """

    _field = "k"

    def __init__(self, k):
        self._set(k)

    @property
    def k(self):
        return self._value

    def _offset(self, scores, weights):
        errors = -scores
        mean = np.average(errors, weights=weights)
        std = np.sqrt(np.average((errors - mean) ** 2, weights=weights))
        return -(mean + self.k * std)


class FixedThreshold(_Rule):
    """A fixed threshold on the score: rows scoring below ``offset`` are outliers.

    Parameters
    ----------
    offset : float
        The value ``offset_`` takes, whatever the training data.

    See Also
    --------
    PercentileThreshold, MeanStdThreshold : The other threshold rules.

    Examples
    --------
    >>> from skae import FixedThreshold
    >>> FixedThreshold(-3.0).offset([0.5, -1.0, -8.0])
    -3.0
    """

    _field = "offset"

    def __init__(self, offset):
        self._set(offset)

    @property
    def value(self):
        return self._value

    def _offset(self, scores, weights):
        return self._value


def percentile(values, q, sample_weight=None):
    """``np.percentile``, or the weighted one: rows counted by their weight.

    With weights, the percentile of the values repeated by their weights as
    ``np.percentile(..., method="averaged_inverted_cdf")`` computes it (for
    integer weights exactly that), so that equal weights give the unweighted
    inverted-CDF percentile.
    """
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is None:
        return np.percentile(values, q)
    weights = np.asarray(sample_weight, dtype=np.float64)
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(weights[order])
    target = q / 100.0 * cumulative[-1]
    i = min(int(np.searchsorted(cumulative, target, side="left")), len(values) - 1)
    on_step = abs(cumulative[i] - target) <= 1e-12 * cumulative[-1]
    if on_step and i + 1 < len(values):  # between two rows: their average
        return 0.5 * (values[i] + values[i + 1])
    return values[i]


def tukey_offset(scores, sample_weight=None):
    """The "auto" threshold: Tukey's upper fence on the errors, as a score.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Training scores, minus the errors.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Row weights: the quartiles are weighted ones.

    Returns
    -------
    offset : float
        ``-(Q3 + 1.5 * IQR)`` of the errors ``-scores``.
    """
    errors = -np.asarray(scores)
    q1, q3 = (percentile(errors, q, sample_weight) for q in (25, 75))
    return float(-(q3 + TUKEY_FENCE * (q3 - q1)))


def offset_for(rule, scores, sample_weight=None):
    """``offset_`` for the training ``scores`` under ``rule``.

    Parameters
    ----------
    rule : "auto", float in (0, 0.5] or a threshold rule
        The detector's ``contamination``.
    scores : ndarray of shape (n_samples,)
        Training scores, higher = more normal.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Row weights (a row of weight 2 counts as two rows).

    Returns
    -------
    offset : float
    """
    if isinstance(rule, str):
        return tukey_offset(scores, sample_weight)
    if isinstance(rule, _Rule):
        return rule.offset(scores, sample_weight)
    return float(percentile(scores, 100.0 * rule, sample_weight))
