"""Peak memory of ``transform`` on 1,000,000 x 784 float32 rows.

skae encodes in fixed-size batches, so the memory a call needs beyond its
input and its output is a few batches' worth, however many rows there are.
The script fits a 784-256-64-16 autoencoder on a small sample, allocates the
input, resets the kernel's peak-RSS counter (Linux ``/proc/self/clear_refs``),
runs ``transform`` and reports::

    overhead = peak RSS during transform - (RSS before the input was allocated
               + input bytes + output bytes)

Target: overhead <= 300 MB.

Run: ``python benchmarks/memory.py [--rows 1000000]`` (Linux only; the input
alone takes 3.1 GB).
"""

import argparse
import re
import time

import skae  # noqa: F401  (selects Keras's torch backend before Keras loads)

# isort: split
import numpy as np

from skae import AutoencoderTransformer

MB = 1024**2


def _status(field):
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


def _reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=784)
    args = parser.parse_args()

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
