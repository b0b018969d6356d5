"""Shared pieces of the quality benchmarks: data, baselines, evaluation, tables.

The data live in ``../shared/data`` relative to the repository root (see
``shared/data/README.md``); every script takes ``--data`` to point elsewhere.
Importing this module does not import Keras (only ``versions()`` does, when
called), so the scripts import it after ``import skae`` like everything else.
"""

import math
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

#: ``<repo>/../shared/data``.
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: Seeds the ``--seeds`` option of every script defaults to.
DEFAULT_SEEDS = (0, 1, 2, 3, 4)


# ----------------------------------------------------------------- arguments


def add_common_arguments(parser, *, seeds=DEFAULT_SEEDS, data=True):
    """Add ``--seeds``, ``--device`` (and ``--data``) to an argparse parser."""
    default = " ".join(map(str, seeds))
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(seeds),
        help=f"random_state of each autoencoder fit (default: {default})",
    )
    parser.add_argument(
        "--device", default="auto", help='"auto", "cpu", "cuda" or "cuda:N"'
    )
    if data:
        parser.add_argument(
            "--data",
            type=Path,
            default=DEFAULT_DATA,
            help=f"folder holding mnist.npz and outliers/ (default: {DEFAULT_DATA})",
        )
    return parser


def _require(path):
    path = Path(path)
    if not path.exists():
        raise SystemExit(
            f"error: {path} not found. The benchmarks read the shared data set "
            "folder (../shared/data relative to the repository root); pass "
            "--data DIR if it lives elsewhere."
        )
    return path


# ---------------------------------------------------------------------- data


def digits_split():
    """sklearn digits / 16 as float32, split 70/30 with ``random_state=0``.

    Returns ``X_train, X_test, y_train, y_test``.
    """
    X, y = digits_all()
    return train_test_split(X, y, test_size=0.3, random_state=0)


def digits_all():
    """All of sklearn digits (1797 x 64), pixels / 16 as float32, and labels."""
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def mnist_subset(data_dir, n_train=10_000, n_test=10_000):
    """The first ``n_train`` training and ``n_test`` test images of MNIST.

    Flattened to 784 features, pixels / 255 as float32. Returns
    ``X_train, X_test, y_train, y_test``.
    """
    with np.load(_require(Path(data_dir) / "mnist.npz")) as f:
        x_train, y_train = f["x_train"][:n_train], f["y_train"][:n_train]
        x_test, y_test = f["x_test"][:n_test], f["y_test"][:n_test]

    def flat(x):
        return (x.reshape(len(x), -1) / 255.0).astype(np.float32)

    return flat(x_train), flat(x_test), y_train.astype(int), y_test.astype(int)


def outlier_names(data_dir):
    """Names of the outlier sets, in ``outliers/INDEX.tsv`` order."""
    lines = _require(Path(data_dir) / "outliers" / "INDEX.tsv").read_text()
    return [line.split("\t")[0] for line in lines.splitlines()[1:] if line.strip()]


def load_outliers(data_dir, name):
    """One ODDS outlier set: ``X`` float64 and ``y`` (1 = outlier, 0 = inlier)."""
    with np.load(_require(Path(data_dir) / "outliers" / f"{name}.npz")) as f:
        return f["X"].astype(np.float64), f["y"].astype(int)


def add_gaussian_noise(X, sigma, seed):
    """``X`` plus N(0, sigma^2) noise, clipped to [0, 1], in ``X``'s dtype."""
    rng = np.random.default_rng(seed)
    noisy = X + sigma * rng.standard_normal(X.shape)
    return np.clip(noisy, 0.0, 1.0).astype(X.dtype)


# ---------------------------------------------------------------- evaluation


def mse(a, b):
    """Mean squared error over all entries, as a float."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.mean((a - b) ** 2))


def lr_accuracy(Z_train, y_train, Z_test, y_test, *, max_iter=5000):
    """Test accuracy of ``LogisticRegression(max_iter)`` fitted on ``Z_train``.

    The features go in as they are (no scaling), for PCA and autoencoders alike.
    """
    clf = LogisticRegression(max_iter=max_iter)
    clf.fit(np.asarray(Z_train, dtype=np.float64), y_train)
    return float(clf.score(np.asarray(Z_test, dtype=np.float64), y_test))


def pca_baseline(X_train, X_test, n_components, y_train=None, y_test=None, **lr):
    """PCA fitted on ``X_train``: a dict of its test MSE, fit time and accuracy.

    ``accuracy`` (LogisticRegression on the components) is there when labels are
    given; ``model`` is the fitted PCA.
    """
    pca = PCA(n_components=n_components, random_state=0)
    return autoencoder_result(pca, X_train, X_test, y_train, y_test, **lr)


def autoencoder_result(model, X_train, X_test, y_train=None, y_test=None, **lr):
    """Fit ``model`` (a skae transformer, or PCA) on ``X_train``: a dict of the
    fitted ``model``, its fit time ``fit_s``, test ``mse`` and, with labels,
    ``accuracy``."""
    with timer() as t:
        model.fit(X_train)
    Z_test = model.transform(X_test)
    out = {
        "model": model,
        "fit_s": t.seconds,
        "mse": mse(X_test, model.inverse_transform(Z_test)),
    }
    if y_train is not None:
        out["accuracy"] = lr_accuracy(
            model.transform(X_train), y_train, Z_test, y_test, **lr
        )
    return out


def pca_outlier_scores(X, n_components=None):
    """PCA reconstruction error per row (higher = more outlying).

    ``n_components`` defaults to ``ceil(d / 4)``, the reference baseline.
    """
    k = n_components or math.ceil(X.shape[1] / 4)
    pca = PCA(n_components=k, random_state=0).fit(X)
    return np.mean((X - pca.inverse_transform(pca.transform(X))) ** 2, axis=1)


def iforest_outlier_scores(X):
    """``-score_samples`` of ``IsolationForest(random_state=0)`` fitted on X."""
    return -IsolationForest(random_state=0).fit(X).score_samples(X)


# -------------------------------------------------------------------- output


class _Timer:
    seconds = math.nan


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t.seconds``."""
    t = _Timer()
    start = time.perf_counter()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - start


def print_table(headers, rows, *, title=None):
    """Print rows as an aligned text table (first column left, others right).

    Floats print with 4 decimals unless pre-formatted as strings.
    """

    def cell(v):
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.4f}"
        return str(v)

    body = [[cell(v) for v in row] for row in rows]
    widths = [
        max(len(str(h)), *(len(r[i]) for r in body)) if body else len(str(h))
        for i, h in enumerate(headers)
    ]
    if title:
        print(f"\n{title}")

    def line(values):
        first, *rest = values
        return "  ".join(
            [f"{first:<{widths[0]}}"]
            + [f"{v:>{w}}" for v, w in zip(rest, widths[1:], strict=True)]
        )

    print(line([str(h) for h in headers]))
    print("  ".join("-" * w for w in widths))
    for row in body:
        print(line(row))


def describe(model):
    """A one-line description of a skae estimator's non-default parameters."""
    defaults = type(model)().get_params(deep=False)
    changed = {
        k: v
        for k, v in model.get_params(deep=False).items()
        if k not in ("random_state", "device") and v != defaults.get(k)
    }
    args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
    return f"{type(model).__name__}({args})"


def versions():
    """A one-line summary of the library versions and thread count."""
    import keras
    import sklearn
    import torch

    return (
        f"torch {torch.__version__}, keras {keras.__version__}, scikit-learn "
        f"{sklearn.__version__}, {torch.get_num_threads()} torch threads"
    )
