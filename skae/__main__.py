"""``python -m skae``: a two-part demo on scikit-learn's digits.

1. Features: PCA vs AutoencoderTransformer (all defaults) with 4 and 8
   components in front of a LogisticRegression, with reconstruction errors.
   The autoencoder starts at PCA's solution and learns what PCA misses; from
   16 components on (a quarter of the 64 pixels) its defaults keep PCA's.
2. Outliers: AutoencoderOutlierDetector vs IsolationForest on digits where a
   few scans were fed upside down.
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import skae  # noqa: F401  (selects Keras's torch backend first)
from skae import AutoencoderOutlierDetector, AutoencoderTransformer


def features_demo(X, y):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0
    )
    print("1. Digits (1,797 8x8 images): k features -> LogisticRegression")
    print(f"   {'features':<28}{'accuracy':>9}{'recon. MSE':>12}{'fit s':>8}")
    for k in (4, 8):
        for name, reducer in [
            (f"PCA({k})", PCA(n_components=k, random_state=0)),
            (
                f"AutoencoderTransformer({k})",
                AutoencoderTransformer(n_components=k, random_state=0),
            ),
        ]:
            start = time.perf_counter()
            pipe = make_pipeline(
                MinMaxScaler(), reducer, LogisticRegression(max_iter=5000)
            ).fit(X_train, y_train)
            seconds = time.perf_counter() - start
            scaled = pipe[0].transform(X_test)
            reconstruction = pipe[1].inverse_transform(pipe[1].transform(scaled))
            mse = float(((reconstruction - scaled) ** 2).mean())
            print(
                f"   {name:<28}{pipe.score(X_test, y_test):>9.3f}{mse:>12.4f}"
                f"{seconds:>8.1f}"
            )


def outliers_demo(X, y):
    rng = np.random.default_rng(0)
    n_flipped = 40
    # Scans fed upside down: digits that do not look alike that way round.
    flipped = rng.choice(
        np.flatnonzero(~np.isin(y, [0, 1, 8])), n_flipped, replace=False
    )
    X = X.copy()
    X[flipped] = X[flipped].reshape(-1, 8, 8)[:, ::-1, :].reshape(-1, 64)
    is_outlier = np.zeros(len(X), dtype=bool)
    is_outlier[flipped] = True

    print(f"\n2. Outliers: {n_flipped} of {len(X)} digit scans fed upside down")
    print(
        f"   {'detector':<28}{'ROC-AUC':>8}{'flagged':>9}{'upside down among them':>24}"
    )
    detectors = [
        ("IsolationForest", IsolationForest(random_state=0)),
        (
            "AutoencoderOutlierDetector",
            AutoencoderOutlierDetector(n_components=8, epochs=100, random_state=0),
        ),
    ]
    for name, detector in detectors:
        pipe = make_pipeline(MinMaxScaler(), detector).fit(X)
        flagged = pipe.predict(X) == -1
        auc = roc_auc_score(is_outlier, -pipe.score_samples(X))
        print(
            f"   {name:<28}{auc:>8.3f}{flagged.sum():>9d}"
            f"{(flagged & is_outlier).sum():>24d}"
        )
    print(
        "   (flagged: predict() == -1 with contamination='auto'; for the autoencoder "
        "that is\n    Tukey's fence on the training reconstruction errors)"
    )


def main():
    X, y = load_digits(return_X_y=True)
    start = time.perf_counter()
    features_demo(X, y)
    outliers_demo(X, y)
    print(f"\nDone in {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
