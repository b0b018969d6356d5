"""Training and inference speed of skae against hand-written torch.

One process, runs alternated, medians; ratios are against torch on the
identical architecture in the same process, so they hold on a noisy machine
where absolute times do not.

Cases:

* small: digits (1,797 x 64), 64-32-8-32-64, batch 256;
* large: 20,000 x 784 float32, 784-256-64-16-64-256-784, batch 256.

Training (per-epoch times; each run's first epoch is warm-up and not counted):
the reference is the faster of two hand-written torch loops, with
``torch.optim.Adam(fused=True)`` and with ``Adam(foreach=True)`` (learning rate
1e-3, epsilon 1e-7, as Keras's Adam); then Keras ``fit`` on the same Keras
model and skae's ``fit``, all run in turn ``--rounds`` times.

Inference latency: each of ``transform``, ``inverse_transform``,
``score_samples``, ``decision_function`` and ``predict`` on 1, 10, 100 and
10,000 float32 rows, against torch ``no_grad`` running the same weights as
``torch.nn.Linear`` layers (the encoder, the decoder, or the default
detector's members and its scoring: scaled absolute errors, KL term,
standardised per member and averaged, the threshold applied in numpy), from
and to numpy. skae's time includes scikit-learn's input validation. Calls are
alternated (skae, torch, skae, ...) and the medians compared.

Threads: both sides run on the same number of torch threads (``--threads``,
default 1; skae never uses more than torch is set to). On a machine whose
cores are shared with other busy processes, several OpenMP threads wait on
each other and every multi-threaded time becomes meaningless (a 64-32-8 epoch
was measured at 5.8 ms quiet and 550 ms beside one busy process), so compare
with ``--threads 2`` only on an otherwise idle machine.

Run: ``python benchmarks/speed.py [--case small|large|both] [--device cpu|cuda]
[--threads N] [--part training|latency|both]``
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

from skae import AutoencoderOutlierDetector, AutoencoderTransformer
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


def torch_loop_epochs(X, spec, epochs, device, *, adam):
    """A plain torch training loop, seconds per epoch; ``adam``: Adam's options."""
    torch.manual_seed(0)
    net, _ = torch_net(X.shape[1], spec["hidden"], spec["n_components"], device)
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, eps=1e-7, **adam)
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


METHODS = (
    "transform",
    "inverse_transform",
    "score_samples",
    "decision_function",
    "predict",
)
LATENCY_ROWS = (1, 10, 100, 10_000)


_TORCH_ACTIVATIONS = {
    keras.activations.relu: torch.nn.ReLU,
    keras.activations.tanh: torch.nn.Tanh,
}


def _linear(kernel, bias, activation):
    """A torch ``Linear`` (and its activation) holding a Keras kernel and bias."""
    kernel = keras.ops.convert_to_numpy(kernel)
    linear = torch.nn.Linear(*kernel.shape)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
        linear.bias.copy_(torch.from_numpy(keras.ops.convert_to_numpy(bias)))
    if activation in _TORCH_ACTIVATIONS:
        return [linear, _TORCH_ACTIVATIONS[activation]()]
    assert activation is keras.activations.linear, activation
    return [linear]


def _linear_copy(model):
    """``model``'s Dense layers as a torch ``Sequential`` of ``Linear`` layers."""
    layers = []
    for layer in _layers(model):
        layers += _linear(layer.kernel, layer.bias, layer.activation)
    return torch.nn.Sequential(*layers)


def _layers(model):
    """``model``'s layers in the order they run (nested models inlined)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def _torch_detector_scores(detector):
    """The default detector's ``score_samples`` as hand-written torch.

    Each member of the ensemble is a ``Sequential`` of ``Linear`` layers on
    its masked input; a variational bottleneck scores with its mean and adds
    its KL term; each feature's absolute error is divided by its training
    scale, summed, standardised by the member's centre and spread; the score
    is minus the members' mean.
    """
    from skae._ensemble import MemberDense, MemberInputs, MemberSampling

    assert detector.loss == "mae"
    encoder, decoder = [m for m in detector._model.layers if isinstance(m, keras.Model)]
    (mask,) = [
        layer.mask for layer in _layers(encoder) if isinstance(layer, MemberInputs)
    ]
    mask = torch.from_numpy(keras.ops.convert_to_numpy(mask))
    n_members = mask.shape[0]
    variational = any(isinstance(lay, MemberSampling) for lay in _layers(encoder))

    def members(model):
        parts = [[] for _ in range(n_members)]
        for layer in _layers(model):
            if isinstance(layer, MemberDense):
                for member in range(n_members):
                    parts[member] += _linear(
                        layer.kernel[member], layer.bias[member], layer.activation
                    )
        return [torch.nn.Sequential(*member) for member in parts]

    encoders, decoders = members(encoder), members(decoder)
    scale = detector._feature_scale
    scale = torch.ones_like(mask) if scale is None else torch.from_numpy(scale)
    center = torch.from_numpy(detector._member_center).float()
    spread = torch.from_numpy(detector._member_spread).float()

    def scores(inputs):
        z = []
        for member in range(n_members):
            seen = inputs * mask[member]
            code = encoders[member](seen)
            kl = 0.0
            if variational:
                mean, log_var = torch.chunk(code, 2, dim=-1)
                kl = -0.5 * torch.sum(1 + log_var - mean * mean - log_var.exp(), -1)
                code = mean
            errors = torch.abs(decoders[member](code) - inputs) * mask[member]
            error = torch.sum(errors / scale[member], -1) + kl
            z.append((error - center[member]) / spread[member])
        return -torch.stack(z, -1).mean(-1)

    return scores


def latency_pairs(X, spec, device):
    """``{method: (skae call, torch no_grad call)}``, each taking the rows.

    The transformer is ``spec``'s network; the detector is the default
    detector on ``spec``'s hidden layers and bottleneck (an ensemble of
    ``n_estimators_`` members, tanh, a variational bottleneck, scaled mae).
    """
    params = dict(
        n_components=spec["n_components"],
        hidden_layer_sizes=spec["hidden"],
        epochs=1,
        device=str(device),
        random_state=0,
    )
    ae = AutoencoderTransformer(**params).fit(X[:512])
    detector = AutoencoderOutlierDetector(**params).fit(X[:512])
    encoder, decoder = _linear_copy(ae.encoder_), _linear_copy(ae.decoder_)
    detector_scores = _torch_detector_scores(detector)
    offset = detector.offset_
    check = np.ascontiguousarray(X[:100])
    assert np.allclose(
        detector.score_samples(check),
        detector_scores(torch.from_numpy(check)).detach().numpy(),
        rtol=1e-4,
        atol=1e-4,
    ), "the torch reference does not compute the detector's scores"
    assert np.allclose(
        ae.transform(check),
        encoder(torch.from_numpy(check)).detach().numpy(),
        rtol=1e-4,
        atol=1e-5,
    ), "the torch reference does not compute the transformer's codes"

    def run(net, x):
        with torch.no_grad():
            return net(torch.from_numpy(x).to(device)).cpu().numpy()

    def score(x):
        with torch.no_grad():
            inputs = torch.from_numpy(x).to(device)
            return detector_scores(inputs).cpu().numpy().astype(np.float64)

    def torch_predict(x):
        return np.where(score(x) - offset < 0, -1, 1)

    return {
        "transform": (ae.transform, lambda x: run(encoder, x)),
        "inverse_transform": (ae.inverse_transform, lambda z: run(decoder, z)),
        "score_samples": (detector.score_samples, score),
        "decision_function": (detector.decision_function, lambda x: score(x) - offset),
        "predict": (detector.predict, torch_predict),
    }


def latency(X, spec, device, repeats):
    """Median seconds ``{(method, rows): (skae, torch)}``, calls alternated."""
    pairs = latency_pairs(X, spec, device)
    codes = pairs["transform"][0](X[: max(LATENCY_ROWS)])
    medians = {}
    for method, (skae_call, torch_call) in pairs.items():
        data = codes if method == "inverse_transform" else X
        for rows in LATENCY_ROWS:
            x = np.ascontiguousarray(data[:rows])
            n = max(15, repeats // max(1, rows // 100))
            skae_s, torch_s = [], []
            for _ in range(n + 2):
                start = time.perf_counter()
                skae_call(x)
                skae_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                torch_call(x)
                torch_s.append(time.perf_counter() - start)
            medians[method, rows] = (
                statistics.median(skae_s[2:]),
                statistics.median(torch_s[2:]),
            )
    return medians


def print_header(case, X, spec, device):
    widths = "-".join(
        str(w)
        for w in [X.shape[1], *spec["hidden"], spec["n_components"]]
        + [*spec["hidden"][::-1], X.shape[1]]
    )
    print(f"\n{case}: {X.shape[0]} x {X.shape[1]}, {widths}, {device}")


def run_training(case, device, rounds, epochs):
    X = case_data(case)
    spec = CASES[case]
    runners = {
        "torch loop, Adam fused": lambda *a: torch_loop_epochs(
            *a, adam={"fused": True}
        ),
        "torch loop, Adam foreach": lambda *a: torch_loop_epochs(
            *a, adam={"foreach": True}
        ),
        "Keras fit": keras_fit_epochs,
        "skae fit": skae_fit_epochs,
    }
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            times[name] += run(X, spec, epochs + 1, device)[1:]  # drop warm-up
    medians = {name: statistics.median(values) for name, values in times.items()}
    reference = min(medians[name] for name in runners if name.startswith("torch"))
    print_header(case, X, spec, device)
    print(f"training, batch {BATCH}; ratio to the faster torch loop")
    print(f"{'':32}{'median ms':>10}{'ratio':>8}{'n':>5}")
    for name, median in medians.items():
        print(
            f"{name + ' / epoch':32}{1e3 * median:>10.2f}"
            f"{median / reference:>8.2f}{len(times[name]):>5}"
        )


def run_latency(case, device, repeats):
    X = case_data(case)
    if X.shape[0] < max(LATENCY_ROWS):  # digits: repeat the rows to 10,000
        X = np.resize(X, (max(LATENCY_ROWS), X.shape[1]))
    spec = CASES[case]
    medians = latency(X, spec, device, repeats)
    print_header(case, X, spec, device)
    print("inference latency: skae / torch no_grad (torch median ms), medians")
    print(f"{'rows':20}" + "".join(f"{rows:>16,}" for rows in LATENCY_ROWS))
    for method in METHODS:
        cells = []
        for rows in LATENCY_ROWS:
            skae_s, torch_s = medians[method, rows]
            cells.append(f"{skae_s / torch_s:>6.2f} ({1e3 * torch_s:>7.3f})")
        print(f"{method:20}" + "".join(f"{cell:>16}" for cell in cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["small", "large", "both"], default="both")
    parser.add_argument(
        "--part", choices=["training", "latency", "both"], default="both"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per run")
    parser.add_argument(
        "--repeats", type=int, default=200, help="calls per latency cell (1 row)"
    )
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
        if args.part in ("training", "both"):
            run_training(case, device, args.rounds, args.epochs)
        if args.part in ("latency", "both"):
            run_latency(case, device, args.repeats)


if __name__ == "__main__":
    main()
