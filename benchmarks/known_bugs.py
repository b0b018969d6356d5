"""Re-apply nine known one-line bugs, one at a time, and run the tests on each.

Each bug is a realistic slip that the test suite once let through. For each,
this script copies skae and its tests to a temporary folder, applies the
one-line change there (never to the working tree), runs the given tests and
reports which fail. Every bug must make at least one test fail.

    python benchmarks/known_bugs.py                      # tests/test_behaviour.py
    python benchmarks/known_bugs.py tests/test_estimators.py tests/test_training.py
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name -> (file, exact text, replacement)
BUGS = {
    "1 early stopping keeps the last weights": (
        "skae/_base.py",
        "restore_best_weights=True",
        "restore_best_weights=False",
    ),
    "2 validation rows trained on": (
        "skae/_data.py",
        "train, val = np.sort(order[n_val:]), np.sort(order[:n_val])",
        "train, val = np.arange(n_samples), np.sort(order[:n_val])",
    ),
    "3 mae scored as huber": (
        "skae/_training.py",
        '"mae": lambda y, p: F.l1_loss(p, y, reduction="none").mean(-1),',
        '"mae": lambda y, p: F.huber_loss(p, y, reduction="none").mean(-1),',
    ),
    "4 VAE samples with the variance": (
        "skae/_networks.py",
        "keras.ops.exp(0.5 * log_var) * noise",
        "keras.ops.exp(log_var) * noise",
    ),
    "5 Adam step count restarts": (
        "skae/_optim.py",
        "self._t = int(to_float(self._iterations))",
        "self._t = 0",
    ),
    "6 same noise every epoch": (
        "skae/_training.py",
        "(seed * 1_000_003 + epoch + 1)",
        "(seed * 1_000_003 + 1)",
    ),
    "7 same batch order every epoch": (
        "skae/_training.py",
        "np.random.default_rng([seed, epoch + 1])",
        "np.random.default_rng([seed, 1])",
    ),
    "8 ELBO score weights the KL by beta": (
        "skae/_objective.py",
        "reconstruction_loss(x, output[:, :-1]) + output[:, -1]",
        "reconstruction_loss(x, output[:, :-1]) + sampling.beta * output[:, -1]",
    ),
    "9 rows on the threshold are outliers": (
        "skae/_outlier.py",
        "labels[decision >= 0] = 1",
        "labels[decision > 0] = 1",
    ),
}


def main(tests):
    caught = 0
    for name, (path, old, new) in BUGS.items():
        with tempfile.TemporaryDirectory() as tmp:
            for part in ("skae", "tests", "pyproject.toml"):
                source = ROOT / part
                if source.is_dir():
                    shutil.copytree(source, Path(tmp) / part)
                else:
                    shutil.copy(source, Path(tmp) / part)
            target = Path(tmp) / path
            text = target.read_text()
            if text.count(old) != 1:
                print(f"{name}: the line to change is not in {path} (code moved?)")
                continue
            target.write_text(text.replace(old, new))
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
                + ["-o", "addopts=", "--tb=no", "-rf", *tests],
                cwd=tmp,
                capture_output=True,
                text=True,
            )
        failed = re.findall(r"^FAILED (\S+)", result.stdout, flags=re.M)
        caught += bool(failed)
        print(f"{name}: {len(failed)} failing", flush=True)
        for test in failed:
            print(f"    {test}")
    print(f"caught {caught}/{len(BUGS)}")
    return 0 if caught == len(BUGS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["tests/test_behaviour.py"]))
