"""Parallel search: a 2-way GridSearchCV against a sequential one, and threads.

Runs the same ``GridSearchCV`` over ``AutoencoderTransformer(n_components=...)``
on digits with ``n_jobs=1`` and ``n_jobs=2`` (joblib's default process
backend), alternated ``--rounds`` times, and prints the median wall time of
each and their ratio. A callback records, inside every fit, the process and the
number of threads torch runs on, to show that the workers do not oversubscribe
the cores: joblib limits each worker's thread pools to ``cores // n_jobs``, and
skae runs small networks on one thread anyway (see
``skae._training.FLOPS_PER_THREAD``).

It also reports the thread counts skae chooses for the two networks of
``benchmarks/speed.py`` and, with ``--threads``, times one epoch of each at 1
and at 2 torch threads, which is how that threshold is checked.

With ``--contention`` it fits the large network (784-256-64-16, 5,000 rows)
with and without a competing CPU-bound process (a busy loop at the same
priority), under the thread policy without the free-core cap (the large net
gets every thread torch has) and with it (``skae._training.free_cores``), and
prints the median seconds per epoch of each.

Run: ``python benchmarks/parallel.py [--rounds 3] [--threads] [--contention]``
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import keras
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

import skae._training
from skae import AutoencoderTransformer
from skae._networks import build_autoencoder, join
from skae._training import threads_for


class ThreadProbe(keras.callbacks.Callback):
    """Appends "pid threads" to a file when a fit starts (in any process)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()} {torch.get_num_threads()}\n")


def search(X, n_jobs, probe_path):
    grid = GridSearchCV(
        AutoencoderTransformer(
            hidden_layer_sizes=(64,),
            epochs=40,
            device="cpu",
            random_state=0,
            callbacks=[ThreadProbe(probe_path)],
        ),
        {"n_components": [2, 4, 8, 16]},
        cv=3,
        n_jobs=n_jobs,
    )
    start = time.perf_counter()
    grid.fit(X)
    return time.perf_counter() - start


def thread_timings():
    """Seconds per epoch of the speed benchmark's two networks at 1 and 2 threads."""
    rng = np.random.default_rng(0)
    cases = {
        "64-32-8-32-64, 1,797 rows": (
            (load_digits().data / 16).astype(np.float32),
            (32,),
            8,
        ),
        "784-256-64-16-..., 5,000 rows": (
            rng.random((5_000, 784), dtype=np.float32),
            (256, 64),
            16,
        ),
    }
    chosen = {
        name: threads_for(
            join(*build_autoencoder(X.shape[1], n_components=k, hidden_layer_sizes=h)),
            256,
            training=True,
        )
        for name, (X, h, k) in cases.items()
    }
    previous = torch.get_num_threads()
    policy = skae._training.FLOPS_PER_THREAD
    skae._training.FLOPS_PER_THREAD = 1  # time exactly the threads set below
    for name, (X, hidden, k) in cases.items():
        seconds = {}
        for threads in (1, 2, 1, 2):
            torch.set_num_threads(threads)
            start = time.perf_counter()
            AutoencoderTransformer(
                n_components=k,
                hidden_layer_sizes=hidden,
                batch_size=256,
                epochs=3,
                device="cpu",
                random_state=0,
            ).fit(X)
            seconds.setdefault(threads, []).append((time.perf_counter() - start) / 3)
        one, two = (min(seconds[t]) for t in (1, 2))
        print(
            f"  {name:<32} 1 thread {1e3 * one:8.1f} ms/epoch, 2 threads "
            f"{1e3 * two:8.1f} ms/epoch; skae picks {chosen[name]}"
        )
    skae._training.FLOPS_PER_THREAD = policy
    torch.set_num_threads(previous)


def contention(rounds):
    """Seconds per epoch of the large net, quiet and beside a busy loop."""
    X = np.random.default_rng(0).random((5_000, 784), dtype=np.float32)

    def epoch_seconds():
        start = time.perf_counter()
        AutoencoderTransformer(
            n_components=16,
            hidden_layer_sizes=(256, 64),
            batch_size=256,
            epochs=2,
            device="cpu",
            random_state=0,
        ).fit(X)
        return (time.perf_counter() - start) / 2

    cap = skae._training.free_cores
    policies = {
        "without the cap": lambda: skae._training._usable_cores(),
        "with the cap": cap,
    }
    threads_seen = {}
    results = {}
    print(f"  load average at the start: {os.getloadavg()}")
    for load in ("no busy loop", "busy loop"):
        loop = None
        if load == "busy loop":
            loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            for _ in range(rounds):
                for name, policy in policies.items():
                    skae._training.free_cores = policy
                    model = join(*build_autoencoder(784, n_components=16))
                    threads_seen[load, name] = threads_for(model, 256, training=True)
                    results.setdefault((load, name), []).append(epoch_seconds())
        finally:
            skae._training.free_cores = cap
            if loop is not None:
                loop.kill()
                loop.wait()
    print(f"  load average at the end (other processes included): {os.getloadavg()}")
    print(f"  {'':<13} {'policy':<16} threads  s/epoch (median of {rounds})")
    for (load, name), seconds in results.items():
        print(
            f"  {load:<13} {name:<16} {threads_seen[load, name]:>7}  "
            f"{statistics.median(seconds):7.3f}"
        )
    for load in ("no busy loop", "busy loop"):
        old, new = (
            statistics.median(results[load, name])
            for name in ("without the cap", "with the cap")
        )
        print(f"  {load}: without / with the cap = {old / new:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", action="store_true", help="time 1 vs 2 threads")
    parser.add_argument(
        "--contention", action="store_true", help="large net beside a busy loop"
    )
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    X = load_digits().data / 16.0
    threads = torch.get_num_threads()
    print(f"{os.cpu_count()} cores; torch in this process: {threads} threads")

    if args.contention:
        print(
            f"\nlarge net (784-256-64-16, 5,000 rows), {threads} torch threads at most"
        )
        contention(args.rounds)
    if args.skip_search:
        return
    times = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "threads.txt")
        for _ in range(args.rounds):
            for n_jobs in (1, 2):
                times[n_jobs].append(search(X, n_jobs, probe))
        with open(probe) as f:
            records = [tuple(map(int, line.split())) for line in f]

    sequential, parallel = (statistics.median(times[n]) for n in (1, 2))
    print("\nGridSearchCV, 4 candidates x 3 folds, digits, 40 epochs each")
    print(f"  n_jobs=1: {sequential:6.1f} s (median of {args.rounds})")
    print(f"  n_jobs=2: {parallel:6.1f} s (median of {args.rounds})")
    print(f"  speed-up: {sequential / parallel:.2f}x")
    driver = os.getpid()
    workers = {pid for pid, _ in records if pid != driver}
    print("\ntorch threads inside the fits")
    print(f"  driver process: {sorted({t for pid, t in records if pid == driver})}")
    print(
        f"  {len(workers)} worker processes: "
        f"{sorted({t for pid, t in records if pid != driver})}"
    )
    if args.threads:
        print("\nseconds per epoch at 1 and 2 torch threads")
        thread_timings()


if __name__ == "__main__":
    main()
