"""Peak memory of ``transform`` on 1,000,000 x 784 float32 rows, and of
``score_samples`` on memory-mapped files of growing size.

skae encodes in fixed-size batches, so the memory a call needs beyond its
input and its output is a few batches' worth, however many rows there are.
The script fits a 784-256-64-16 autoencoder on a small sample, allocates the
input, resets the kernel's peak-RSS counter (Linux ``/proc/self/clear_refs``),
runs ``transform`` and reports::

    overhead = peak RSS during transform - (RSS before the input was allocated
               + input bytes + output bytes)

Target: overhead <= 300 MB.

``--memmap`` scores ``numpy.memmap`` files of 784-wide float32 rows (written
to a temporary folder) with a fitted detector instead, and shows the memory
scoring needs against the file's size: the peak of the process's anonymous
memory (``RssAnon``, sampled every millisecond: what cannot be given back to
the system) above its level before the call, and the peak RSS, which also
counts the file's pages the kernel keeps mapped (page cache, reclaimable).
The anonymous peak stays at a few batches whatever the size; skae reads the
file one batch at a time and never copies it whole.

Run: ``python benchmarks/memory.py [--rows 1000000]`` (Linux only; the input
alone takes 3.1 GB), or ``python benchmarks/memory.py --memmap [--sizes
50000 100000 200000]``.
"""

import argparse
import os
import re
import tempfile
import threading
import time

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import numpy as np

from skae import AutoencoderOutlierDetector, AutoencoderTransformer

MB = 1024**2


def _status(field):
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


def _reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class _AnonPeak:
    """The highest ``RssAnon`` seen while the context runs (sampled each ms)."""

    def __enter__(self):
        self.peak = _status("RssAnon")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, _status("RssAnon"))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status("RssAnon"))


def memmap_sweep(sizes, n_features):
    rng = np.random.default_rng(0)
    detector = AutoencoderOutlierDetector(
        n_components=16,
        hidden_layer_sizes=(256, 64),
        epochs=1,
        device="cpu",
        random_state=0,
    ).fit(rng.random((2_000, n_features), dtype=np.float32))
    detector.score_samples(np.zeros((2_000, n_features), np.float32))  # warm up
    print(f"score_samples of a numpy.memmap, {n_features} float32 columns")
    print(
        f"{'rows':>10}{'file MB':>10}{'anon peak MB':>14}{'RSS peak MB':>13}"
        f"{'seconds':>9}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            path = os.path.join(folder, f"{rows}.dat")
            mapped = np.memmap(path, np.float32, mode="w+", shape=(rows, n_features))
            for start in range(0, rows, 50_000):
                stop = min(start + 50_000, rows)
                mapped[start:stop] = rng.random((stop - start, n_features), np.float32)
            mapped.flush()
            del mapped
            fd = os.open(path, os.O_RDONLY)  # start from a cold page cache
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
            X = np.memmap(path, np.float32, mode="r", shape=(rows, n_features))
            before = _status("VmRSS")
            _reset_peak()
            start = time.perf_counter()
            with _AnonPeak() as anon:
                anon_before = anon.peak
                detector.score_samples(X)
            seconds = time.perf_counter() - start
            peak = _status("VmHWM")
            print(
                f"{rows:>10,}{X.nbytes / MB:>10.0f}"
                f"{(anon.peak - anon_before) / MB:>14.1f}"
                f"{(peak - before) / MB:>13.0f}{seconds:>9.1f}"
            )
            del X


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--memmap", action="store_true")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[50_000, 100_000, 200_000]
    )
    args = parser.parse_args()
    if args.memmap:
        memmap_sweep(args.sizes, args.features)
        return

    rng = np.random.default_rng(0)
    sample = rng.random((2_000, args.features), dtype=np.float32)
    ae = AutoencoderTransformer(
        n_components=16,
        hidden_layer_sizes=(256, 64),
        epochs=1,
        device="cpu",
        random_state=0,
    ).fit(sample)
    ae.transform(sample)  # warm up allocators and kernels

    before_input = _status("VmRSS")
    X = np.empty((args.rows, args.features), dtype=np.float32)
    for start in range(0, args.rows, 100_000):  # fill without a float64 copy
        stop = min(start + 100_000, args.rows)
        X[start:stop] = rng.random((stop - start, args.features), dtype=np.float32)

    _reset_peak()
    start = time.perf_counter()
    Z = ae.transform(X)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")

    overhead = peak - before_input - X.nbytes - Z.nbytes
    print(f"transform {args.rows:,} x {args.features} float32 in {seconds:.1f} s")
    print(f"{'RSS before the input':<28}{before_input / MB:>10.0f} MB")
    print(f"{'input':<28}{X.nbytes / MB:>10.0f} MB")
    print(f"{'output':<28}{Z.nbytes / MB:>10.0f} MB")
    print(f"{'peak RSS during transform':<28}{peak / MB:>10.0f} MB")
    print(f"{'overhead (target <= 300)':<28}{overhead / MB:>10.0f} MB")


if __name__ == "__main__":
    main()
