"""PCA against autoencoders across bottleneck widths, on digits and MNIST.

Measures, for n_components in 2, 4, 8, 16, 32 and three methods (PCA,
AutoencoderTransformer, DenoisingAutoencoder): test reconstruction MSE,
downstream LogisticRegression accuracy on the components, and fit time.

Protocol:

* digits: ``load_digits`` / 16 as float32, ``train_test_split(test_size=0.3,
  random_state=0)`` (1,257 train / 540 test rows);
* MNIST: the first 10,000 training images -> the 10,000 test images,
  pixels / 255 as float32, flattened to 784 features;
* each method is fitted on the training rows (no labels); MSE is that of
  ``inverse_transform(transform(X_test))`` against ``X_test``; accuracy is that
  of ``LogisticRegression(max_iter=5000)`` fitted on the training rows'
  components, scored on the test rows' (no feature scaling, as for PCA);
* fit time is the wall-clock time of ``fit`` alone (CPU unless ``--device``).

Configuration (one for both data sets and every width; ``random_state`` from
``--seed``)::

    common = dict(hidden_layer_sizes=(512, 256), loss="binary_crossentropy",
                  batch_size=256, epochs=ceil(STEPS / ceil(n_train / 256)))
    AutoencoderTransformer(n_components=k, **common)
    DenoisingAutoencoder(n_components=k, noise="gaussian", noise_level=0.3,
                         **common)

The training length is a fixed budget of about STEPS = 2,000 gradient steps,
which is 400 epochs on digits and 50 on MNIST. Both data sets lie in [0, 1],
which binary cross-entropy needs.

No targets; the issue asks for the table and the figure. Writes the figure to
``benchmarks/results/ae_vs_pca.png`` (``--plot`` to change it, ``--no-plot``
to skip it).

Run: ``python benchmarks/ae_vs_pca.py [--quick] [--datasets digits mnist]
[--widths 2 8]``
(``--quick``: digits only, 100 epochs, well under a minute).
"""

import argparse
import math
from pathlib import Path

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
from _data import (
    DEFAULT_DATA,
    autoencoder_result,
    digits_split,
    mnist_subset,
    pca_baseline,
    print_table,
    versions,
)

from skae import AutoencoderTransformer, DenoisingAutoencoder

WIDTHS = (2, 4, 8, 16, 32)
STEPS = 2_000
BATCH = 256
MAX_ITER = 5000
METHODS = ("PCA", "AE", "DAE")
DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "ae_vs_pca.png"


def epochs_for(n_train):
    """Epochs giving about STEPS gradient steps at batch size BATCH."""
    return math.ceil(STEPS / math.ceil(n_train / BATCH))


def make_model(method, n_components, epochs, seed, device):
    common = dict(
        n_components=n_components,
        hidden_layer_sizes=(512, 256),
        loss="binary_crossentropy",
        batch_size=BATCH,
        epochs=epochs,
        device=device,
        random_state=seed,
    )
    if method == "AE":
        return AutoencoderTransformer(**common)
    return DenoisingAutoencoder(noise="gaussian", noise_level=0.3, **common)


def run_dataset(name, data, epochs, seed, device):
    X_train, X_test, y_train, y_test = data
    print(
        f"\n{name}: {len(X_train)} train / {len(X_test)} test rows x "
        f"{X_train.shape[1]} features; autoencoders: {epochs} epochs",
        flush=True,
    )
    results = {}
    for k in WIDTHS:
        results["PCA", k] = pca_baseline(
            X_train, X_test, k, y_train, y_test, max_iter=MAX_ITER
        )
        for method in ("AE", "DAE"):
            results[method, k] = autoencoder_result(
                make_model(method, k, epochs, seed, device),
                X_train,
                X_test,
                y_train,
                y_test,
                max_iter=MAX_ITER,
            )
            print(f"  {method} k={k}: {results[method, k]['fit_s']:.1f} s", flush=True)
    rows = []
    for k in WIDTHS:
        row = [k]
        for key in ("mse", "accuracy", "fit_s"):
            row += [
                f"{results[m, k][key]:.2f}" if key == "fit_s" else results[m, k][key]
                for m in METHODS
            ]
        rows.append(row)
    headers = ["k"] + [
        f"{what} {m}" for what in ("MSE", "acc", "fit s") for m in METHODS
    ]
    print_table(headers, rows, title=f"{name}: test MSE, LR accuracy, fit seconds")
    return results


def plot(all_results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    names = list(all_results)
    fig, axes = plt.subplots(
        len(names), 2, figsize=(10, 3.6 * len(names)), squeeze=False
    )
    for row, name in zip(axes, names, strict=True):
        results = all_results[name]
        for method, marker in zip(METHODS, "osd", strict=True):
            for ax, key in zip(row, ("mse", "accuracy"), strict=True):
                ax.plot(
                    WIDTHS,
                    [results[method, k][key] for k in WIDTHS],
                    marker=marker,
                    label=method,
                )
        row[0].set(
            yscale="log",
            ylabel="test reconstruction MSE (log)",
            title=f"{name}: reconstruction error",
        )
        row[1].set(
            ylabel="LogisticRegression accuracy", title=f"{name}: downstream accuracy"
        )
        for ax in row:
            ax.set(xscale="log", xlabel="n_components")
            ax.xaxis.set_major_locator(FixedLocator(WIDTHS))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_locator(NullLocator())
            ax.grid(alpha=0.3)
            ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nfigure: {path}")


def main():
    global WIDTHS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="random_state of fits")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--datasets", nargs="+", choices=["digits", "mnist"], default=None
    )
    parser.add_argument(
        "--quick", action="store_true", help="digits only, 100 epochs (under a minute)"
    )
    parser.add_argument(
        "--widths",
        type=int,
        nargs="+",
        help="n_components values (default 2 4 8 16 32)",
    )
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    if args.widths:
        WIDTHS = tuple(args.widths)
    datasets = args.datasets or (["digits"] if args.quick else ["digits", "mnist"])

    print(versions())
    print(
        "AE / DAE: hidden_layer_sizes=(512, 256), loss='binary_crossentropy', "
        f"batch_size={BATCH}, ~{STEPS} steps; DAE noise='gaussian', "
        f"noise_level=0.3; seed {args.seed}"
    )
    all_results = {}
    for name in datasets:
        data = digits_split() if name == "digits" else mnist_subset(args.data)
        epochs = 100 if args.quick else epochs_for(len(data[0]))
        all_results[name] = run_dataset(name, data, epochs, args.seed, args.device)
    if not args.no_plot:
        plot(all_results, args.plot)


if __name__ == "__main__":
    main()
