"""Training data as the network sees it: float32 rows, a held-out split.

The network computes in float32. Values a float32 cannot hold are refused here
with a clear message rather than becoming ``inf`` and then NaN scores, and the
validation split is taken after the float32 cast, by index, so that a float64
input is never copied whole in float64.
"""

import math

import numpy as np
import scipy.sparse as sp

__all__ = ["check_float32_range", "holdout", "plain_rows"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(X, name="X"):
    """Raise a ValueError if a value of ``X`` overflows float32.

    ``X`` is validated already (finite, float32 or float64, dense or CSR).
    """
    if X.dtype == np.float32:
        return
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return
    largest = max(abs(float(values.max())), abs(float(values.min())))
    if largest > _FLOAT32_MAX:
        raise ValueError(
            f"{name} has values of magnitude up to {largest:.3g}, beyond float32's "
            f"range (±{_FLOAT32_MAX:.3g}), in which the network computes. Rescale "
            f"{name} (e.g. with StandardScaler) before fitting or scoring."
        )


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def plain_rows(X, n_features):
    """True for a 2-D float32 or float64 ndarray of ``n_features`` finite
    columns and at least one row, within float32's range: input that
    ``validate_data(..., reset=False)`` returns unchanged and
    :func:`check_float32_range` accepts.
    """
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _FLOATS
        and X.shape[0] > 0
        and X.shape[1] == n_features
    ):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        if not math.isfinite(X.sum()):  # NaN, inf, or a sum beyond the range
            return False
    return X.dtype == np.float32 or max(X.max(), -X.min()) <= _FLOAT32_MAX


def holdout(X, sample_weight, n_val, seed):
    """Split off ``n_val`` random rows: ``(x_train, x_val, w_train, w_val)``.

    Dense ``X`` is cast to one float32 copy, the held-out rows are copied out
    of it, and the training rows are moved up in place (by index, in order), so
    the extra memory is one float32 copy of ``X``: half a float64 input. Rows
    keep their order in both parts. ``w_*`` are None without ``sample_weight``.
    """
    n_samples = X.shape[0]
    order = np.random.default_rng(seed).permutation(n_samples)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    weights = (None, None)
    if sample_weight is not None:
        weights = (sample_weight[train], sample_weight[val])
    if sp.issparse(X):
        return (X[train], X[val], *weights)
    rows = np.array(X, dtype=np.float32, order="C")  # the one copy
    x_val = rows[val]
    # train is increasing and train[i] >= i: each destination row is read before
    # it is written, chunk by chunk (a fancy read copies its chunk first).
    chunk = max(1, (1 << 18) // max(1, rows.shape[1] * rows.itemsize))  # 256 kB
    for start in range(0, train.size, chunk):
        stop = min(start + chunk, train.size)
        rows[start:stop] = rows[train[start:stop]]
    return (rows[: train.size], x_val, *weights)
