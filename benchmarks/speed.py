"""Training and inference speed of skae against a hand-written torch loop.

One process, runs alternated (torch loop, Keras ``fit``, skae ``fit``, in turn,
``--rounds`` times), medians of the timed epochs (each run's first epoch is
warm-up and not counted). Ratios are against the torch loop on the identical
architecture and optimizer settings (Adam, learning rate 1e-3, epsilon 1e-7),
so they hold on a noisy machine where absolute times do not.

Cases:

* small: digits (1,797 x 64), 64-32-8-32-64, batch 256;
* large: 20,000 x 784 float32, 784-256-64-16-64-256-784, batch 256.

Rows: per-epoch training time of the torch loop (reference), Keras ``fit`` on
the same Keras model, skae's ``fit``; then encoding time of skae's
``transform`` against torch ``no_grad`` on the whole array.

Threads: both sides run on the same number of torch threads (``--threads``,
default 1; skae never uses more than torch is set to). On a machine whose
cores are shared with other busy processes, several OpenMP threads wait on
each other and every multi-threaded time becomes meaningless (a 64-32-8 epoch
was measured at 5.8 ms quiet and 550 ms beside one busy process), so compare
with ``--threads 2`` only on an otherwise idle machine.

Run: ``python benchmarks/speed.py [--case small|large|both] [--device cpu|cuda]
[--threads N]``
"""

import argparse
import statistics
import time

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import keras
import numpy as np
import torch
from sklearn.datasets import load_digits

from skae import AutoencoderTransformer
from skae._networks import build_autoencoder, join

CASES = {
    "small": dict(hidden=(32,), n_components=8, n_rows=None, n_features=64),
    "large": dict(hidden=(256, 64), n_components=16, n_rows=20_000, n_features=784),
}
BATCH = 256
LEARNING_RATE = 1e-3


def case_data(case):
    spec = CASES[case]
    if spec["n_rows"] is None:
        return (load_digits().data / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    return rng.random((spec["n_rows"], spec["n_features"]), dtype=np.float32)


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds.append(time.perf_counter() - self._start)


def torch_net(n_features, hidden, n_components, device):
    widths = [n_features, *hidden, n_components, *hidden[::-1], n_features]
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        is_bottleneck = i == len(hidden)
        if i < len(widths) - 2 and not is_bottleneck:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device)
    encoder = net[: 2 * len(hidden) + 1]
    return net, encoder


def torch_loop_epochs(X, spec, epochs, device):
    """The reference: a plain torch training loop, seconds per epoch."""
    torch.manual_seed(0)
    net, _ = torch_net(X.shape[1], spec["hidden"], spec["n_components"], device)
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, eps=1e-7)
    data = torch.from_numpy(X).to(device)
    n = data.shape[0]
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n, device=device)
        for i in range(0, n, BATCH):
            batch = data[order[i : i + BATCH]]
            loss = torch.nn.functional.mse_loss(net(batch), batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds


def keras_fit_epochs(X, spec, epochs, device):
    with keras.device(str(device)):
        model = join(
            *build_autoencoder(
                X.shape[1],
                n_components=spec["n_components"],
                hidden_layer_sizes=spec["hidden"],
                seed=0,
            )
        )
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
        timer = EpochTimer()
        model.fit(X, X, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.seconds


def skae_fit_epochs(X, spec, epochs, device):
    timer = EpochTimer()
    AutoencoderTransformer(
        n_components=spec["n_components"],
        hidden_layer_sizes=spec["hidden"],
        batch_size=BATCH,
        learning_rate=LEARNING_RATE,
        epochs=epochs,
        callbacks=[timer],
        device=str(device),
        random_state=0,
    ).fit(X)
    return timer.seconds


def encoding_times(X, spec, repeats, device):
    """Seconds to encode X: skae transform and torch no_grad, alternated."""
    ae = AutoencoderTransformer(
        n_components=spec["n_components"],
        hidden_layer_sizes=spec["hidden"],
        epochs=1,
        device=str(device),
        random_state=0,
    ).fit(X[:512])
    _, encoder = torch_net(X.shape[1], spec["hidden"], spec["n_components"], device)
    data = torch.from_numpy(X)
    skae_s, torch_s = [], []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        ae.transform(X)
        skae_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.no_grad():
            encoder(data.to(device)).cpu().numpy()
        torch_s.append(time.perf_counter() - start)
    return skae_s[1:], torch_s[1:]


def run_case(case, device, rounds, epochs):
    X = case_data(case)
    spec = CASES[case]
    runners = {
        "torch loop (reference)": torch_loop_epochs,
        "Keras fit": keras_fit_epochs,
        "skae fit": skae_fit_epochs,
    }
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            times[name] += run(X, spec, epochs + 1, device)[1:]  # drop warm-up
    skae_enc, torch_enc = encoding_times(X, spec, 5 * rounds, device)

    reference = statistics.median(times["torch loop (reference)"])
    widths = "-".join(
        str(w)
        for w in [X.shape[1], *spec["hidden"], spec["n_components"]]
        + [*spec["hidden"][::-1], X.shape[1]]
    )
    print(f"\n{case}: {X.shape[0]} x {X.shape[1]}, {widths}, batch {BATCH}, {device}")
    print(f"{'':32}{'median ms':>10}{'ratio':>8}{'n':>5}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name + ' / epoch':32}{1e3 * median:>10.2f}"
            f"{median / reference:>8.2f}{len(values):>5}"
        )
    enc_ref = statistics.median(torch_enc)
    print(f"{'torch no_grad encode (reference)':32}{1e3 * enc_ref:>10.2f}{1.0:>8.2f}")
    enc = statistics.median(skae_enc)
    print(f"{'skae transform':32}{1e3 * enc:>10.2f}{enc / enc_ref:>8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["small", "large", "both"], default="both")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"torch {torch.__version__}, keras {keras.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    cases = ["small", "large"] if args.case == "both" else [args.case]
    for case in cases:
        run_case(case, device, args.rounds, args.epochs)


if __name__ == "__main__":
    main()
