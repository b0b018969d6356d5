"""``python -m skae``: a two-part demo on scikit-learn's digits.

1. Features: PCA(16) vs AutoencoderTransformer(16) in front of a
   LogisticRegression, with reconstruction errors.
2. Outliers: AutoencoderOutlierDetector vs IsolationForest on digits where a
   few images are damaged scans.
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
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import skae  # noqa: F401  (selects Keras's torch backend first)
from skae import AutoencoderOutlierDetector, AutoencoderTransformer


def features_demo(X, y):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0
    )
    print("1. Digits (1,797 8x8 images): 16 features -> LogisticRegression")
    print(f"   {'features':<26}{'accuracy':>9}{'recon. MSE':>12}{'fit s':>8}")
    for name, reducer in [
        ("PCA(16)", PCA(n_components=16, random_state=0)),
        (
            "AutoencoderTransformer(16)",
            AutoencoderTransformer(n_components=16, epochs=300, random_state=0),
        ),
    ]:
        start = time.perf_counter()
        pipe = make_pipeline(
            MinMaxScaler(), reducer, LogisticRegression(max_iter=2000)
        ).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        scaled = pipe[0].transform(X_test)
        reconstruction = pipe[1].inverse_transform(pipe[1].transform(scaled))
        mse = float(((reconstruction - scaled) ** 2).mean())
        print(
            f"   {name:<26}{pipe.score(X_test, y_test):>9.3f}{mse:>12.4f}"
            f"{seconds:>8.1f}"
        )


def outliers_demo(X):
    rng = np.random.default_rng(0)
    n_damaged = 40
    damaged = rng.choice(len(X), n_damaged, replace=False)
    X = X.copy()
    # A damaged scan: a random block of rows smeared to full ink.
    for i in damaged:
        top = rng.integers(0, 5)
        X[i].reshape(8, 8)[top : top + 3] = 16.0
    is_outlier = np.zeros(len(X), dtype=bool)
    is_outlier[damaged] = True

    print(f"\n2. Outliers: {n_damaged} of {len(X)} digit scans damaged")
    print(f"   {'detector':<28}{'ROC-AUC':>8}{'flagged':>9}{'damaged among them':>20}")
    detectors = [
        ("IsolationForest", IsolationForest(random_state=0)),
        (
            "AutoencoderOutlierDetector",
            AutoencoderOutlierDetector(n_components=8, epochs=100, random_state=0),
        ),
    ]
    for name, detector in detectors:
        pipe = make_pipeline(StandardScaler(), detector).fit(X)
        scores = pipe.score_samples(X)
        flagged = pipe.predict(X) == -1
        auc = roc_auc_score(is_outlier, -scores)
        print(
            f"   {name:<28}{auc:>8.3f}{flagged.sum():>9d}"
            f"{(flagged & is_outlier).sum():>20d}"
        )
    print(
        "   (AutoencoderOutlierDetector: contamination='auto' flags errors above "
        "Tukey's fence)"
    )


def main():
    X, y = load_digits(return_X_y=True)
    start = time.perf_counter()
    features_demo(X, y)
    outliers_demo(X)
    print(f"\nDone in {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
