"""Autoencoder features against PCA features on MNIST (10,000 -> 10,000).

Measures: how well a 16-wide autoencoder bottleneck serves as features for a
linear classifier, how well it reconstructs, and how long it takes to fit,
next to PCA(16).

Protocol:

* data: the first 10,000 MNIST training images (fit) and the 10,000 test
  images (evaluation), pixels / 255 as float32, flattened to 784 features;
* the transformer (or PCA) is fitted on the training images without labels;
  ``LogisticRegression(max_iter=3000)`` is fitted on their 16 features and
  scored on the test images' features; reconstruction MSE is the mean squared
  error of ``inverse_transform(transform(X_test))`` over all test pixels;
* one autoencoder fit per seed (``random_state``), then the mean; fit time is
  the wall-clock time of ``fit`` (CPU unless ``--device`` says otherwise).

Configuration (fixed)::

    AutoencoderTransformer(n_components=16, hidden_layer_sizes=(512, 256),
                           loss="binary_crossentropy", epochs=EPOCHS,
                           batch_size=256)   # everything else at its default

Targets: autoencoder accuracy >= 0.89 (PCA(16): 0.856) and autoencoder MSE
<= 0.6 x PCA(16)'s MSE.

Run: ``python benchmarks/quality_mnist.py [--seeds 0 1 2] [--quick]``
(``--quick``: 2,000 training rows, 5 epochs, one seed).
"""

import argparse

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import numpy as np
from _data import (
    add_common_arguments,
    autoencoder_result,
    describe,
    mnist_subset,
    pca_baseline,
    print_table,
    versions,
)

from skae import AutoencoderTransformer

N_COMPONENTS = 16
EPOCHS = 50
MAX_ITER = 3000
TARGET_ACCURACY = 0.89
TARGET_MSE_RATIO = 0.6


def make_autoencoder(seed, device, epochs=EPOCHS):
    return AutoencoderTransformer(
        n_components=N_COMPONENTS,
        hidden_layer_sizes=(512, 256),
        loss="binary_crossentropy",
        epochs=epochs,
        batch_size=256,
        device=device,
        random_state=seed,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, seeds=(0, 1, 2))
    parser.add_argument(
        "--quick", action="store_true", help="2,000 training rows, 5 epochs, 1 seed"
    )
    args = parser.parse_args()
    n_train, epochs = (2_000, 5) if args.quick else (10_000, EPOCHS)
    seeds = args.seeds[:1] if args.quick else args.seeds

    print(versions())
    print(describe(make_autoencoder(0, args.device, epochs)))
    X_train, X_test, y_train, y_test = mnist_subset(args.data, n_train=n_train)
    print(f"MNIST: {len(X_train)} train / {len(X_test)} test images, /255, float32")

    pca = pca_baseline(
        X_train, X_test, N_COMPONENTS, y_train, y_test, max_iter=MAX_ITER
    )
    rows, results = [], []
    for seed in seeds:
        r = autoencoder_result(
            make_autoencoder(seed, args.device, epochs),
            X_train,
            X_test,
            y_train,
            y_test,
            max_iter=MAX_ITER,
        )
        results.append(r)
        rows.append(
            [
                f"AE seed {seed}",
                r["accuracy"],
                f"{r['mse']:.5f}",
                f"{r['mse'] / pca['mse']:.3f}",
                f"{r['fit_s']:.1f}",
            ]
        )
        print(f"  seed {seed}: fitted in {r['fit_s']:.1f} s", flush=True)
    acc = np.array([r["accuracy"] for r in results])
    err = np.array([r["mse"] for r in results])
    fit_s = np.array([r["fit_s"] for r in results])
    ratio = err.mean() / pca["mse"]
    rows.append(
        [
            "AE mean",
            acc.mean(),
            f"{err.mean():.5f}",
            f"{ratio:.3f}",
            f"{fit_s.mean():.1f}",
        ]
    )
    rows.append(
        [
            f"PCA({N_COMPONENTS})",
            pca["accuracy"],
            f"{pca['mse']:.5f}",
            "1.000",
            f"{pca['fit_s']:.2f}",
        ]
    )
    print_table(
        ["features", "LR accuracy", "test MSE", "MSE / PCA", "fit s"],
        rows,
        title=f"MNIST {len(X_train)} -> {len(X_test)}, n_components={N_COMPONENTS}",
    )
    print(
        f"\nAE accuracy >= {TARGET_ACCURACY}: {acc.mean() >= TARGET_ACCURACY} "
        f"(mean {acc.mean():.4f}, min {acc.min():.4f})"
    )
    print(
        f"AE MSE <= {TARGET_MSE_RATIO} x PCA MSE: {ratio <= TARGET_MSE_RATIO} "
        f"(ratio {ratio:.3f})"
    )


if __name__ == "__main__":
    main()
