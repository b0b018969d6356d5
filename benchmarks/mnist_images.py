"""Images on MNIST: a variational latent space, samples, and a convolutional
outlier detector.

1. ``VariationalAutoencoder(n_components=2)`` on the first 10,000 training
   images (pixels / 255, ``loss="binary_crossentropy"``): the 10,000 test
   images' posterior means as a scatter coloured by digit
   (``results/vae_latent_space.png``) and a grid of ``sample()`` images
   (``results/vae_samples.png``). The digits should form visibly separate
   regions and the samples should look like digits.
2. One digit class as the outlier class: the inliers are the first 10,000
   training images of the other nine classes, the outliers the first 1 % as
   many images of that class; an ``AutoencoderOutlierDetector`` is fitted on all
   of them, unsupervised, with a convolutional network (``image_shape=(28, 28)``,
   scored by reconstruction error), the same with a variational bottleneck
   (``beta=1.0``, scored by the evidence lower bound) and with a dense
   network, beside IsolationForest and PCA reconstruction error, and each is
   scored by ROC-AUC.

Run: ``python benchmarks/mnist_images.py [--classes 0 1 ... 9] [--quick]``
"""

import argparse
from pathlib import Path

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import matplotlib
import numpy as np
from _data import (
    add_common_arguments,
    iforest_outlier_scores,
    mnist_subset,
    pca_outlier_scores,
    timer,
)
from sklearn.metrics import roc_auc_score

from skae import AutoencoderOutlierDetector, VariationalAutoencoder
from skae.plotting import LatentSpaceDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def variational(X_train, X_test, y_test, args):
    vae = VariationalAutoencoder(
        n_components=2,
        hidden_layer_sizes=(512, 256),
        loss="binary_crossentropy",
        epochs=5 if args.quick else 50,
        batch_size=128,
        device=args.device,
        random_state=args.seeds[0],
    )
    with timer() as t:
        vae.fit(X_train)
    h = vae.history_
    print(
        f"VAE, 2-D latent space: fitted in {t.seconds:.0f} s; last epoch "
        f"reconstruction {h['reconstruction_loss'][-1]:.1f}, KL {h['kl_loss'][-1]:.2f} "
        f"(per image); test ELBO {vae.score(X_test):.1f}"
    )
    fig, ax = plt.subplots(figsize=(7, 6))
    LatentSpaceDisplay.from_estimator(vae, X_test, y_test, ax=ax, s=3, alpha=0.6)
    ax.set_title("VAE posterior means of the 10,000 MNIST test images")
    fig.savefig(RESULTS / "vae_latent_space.png", dpi=100, bbox_inches="tight")

    # 100 random draws from the standard normal prior, decoded.
    samples = vae.sample(100, random_state=0).reshape(-1, 28, 28)
    fig, axes = plt.subplots(10, 10, figsize=(6, 6))
    for ax, image in zip(axes.ravel(), samples, strict=True):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle("VariationalAutoencoder.sample(100)")
    fig.savefig(RESULTS / "vae_samples.png", dpi=100, bbox_inches="tight")
    plt.close("all")
    print(
        f"  wrote {RESULTS / 'vae_latent_space.png'} and {RESULTS / 'vae_samples.png'}"
    )


def one_class_outliers(X, y, digit, seed=0):
    """Inliers: the other nine digits; outliers: 1 % as many images of ``digit``."""
    inliers = np.flatnonzero(y != digit)
    n_outliers = round(0.01 * len(inliers))
    outliers = np.flatnonzero(y == digit)[:n_outliers]
    rows = np.random.default_rng(seed).permutation(np.concatenate([inliers, outliers]))
    return X[rows], np.isin(rows, outliers)


def detectors(args):
    # One plain relu network each, its score the mean reconstruction loss (the
    # detector's tabular defaults, an ensemble of tanh variational networks
    # with per-feature error scaling, are not what this benchmark compares).
    common = dict(
        n_estimators=1,
        scale_errors=False,
        activation="relu",
        n_components=16,
        loss="binary_crossentropy",
        epochs=2 if args.quick else 20,
        batch_size=128,
        device=args.device,
        random_state=args.seeds[0],
    )
    return {
        "conv AE": lambda: AutoencoderOutlierDetector(
            image_shape=(28, 28), hidden_layer_sizes=(16, 32), **common
        ),
        "conv VAE": lambda: AutoencoderOutlierDetector(
            image_shape=(28, 28), hidden_layer_sizes=(16, 32), beta=1.0, **common
        ),
        "dense AE": lambda: AutoencoderOutlierDetector(
            hidden_layer_sizes=(256, 64), beta=None, **common
        ),
    }


def outlier_classes(X, y, args):
    names = [*detectors(args), "IsolationForest", "PCA(16)"]
    print("\nOne digit as the outlier class (1 % of the data), ROC-AUC")
    print(f"{'digit':>5}  " + "  ".join(f"{n:>15}" for n in names) + "   fit s (conv)")
    table = []
    for digit in args.classes:
        Xd, is_outlier = one_class_outliers(X, y, digit)
        row, seconds = [], 0.0
        for name, make in detectors(args).items():
            with timer() as t:
                scores = -make().fit(Xd).score_samples(Xd)
            seconds = t.seconds if name == "conv AE" else seconds
            row.append(roc_auc_score(is_outlier, scores))
        row.append(roc_auc_score(is_outlier, iforest_outlier_scores(Xd)))
        row.append(roc_auc_score(is_outlier, pca_outlier_scores(Xd, 16)))
        table.append(row)
        print(
            f"{digit:>5}  "
            + "  ".join(f"{v:>15.3f}" for v in row)
            + f"   {seconds:>8.0f}"
        )
    print(f"{'mean':>5}  " + "  ".join(f"{v:>15.3f}" for v in np.mean(table, axis=0)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, seeds=(0,))
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--quick", action="store_true", help="few epochs, 2,000 images")
    parser.add_argument("--skip-vae", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    n = 2_000 if args.quick else 10_000
    X_train, X_test, y_train, y_test = mnist_subset(args.data, n_train=n, n_test=n)
    if not args.skip_vae:
        variational(X_train, X_test, y_test, args)
    outlier_classes(X_train, y_train, args)


if __name__ == "__main__":
    main()
