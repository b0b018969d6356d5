"""The benchmark scripts, at quick settings, still show what they exist to show.

Each test runs a script in a subprocess on one torch thread (small data, no
wall-clock limit: a busy machine makes it slower, never wrong) and asserts its
figures. Deterministic baselines (PCA, IsolationForest, the noisy input) must
reproduce their reference values; the autoencoders' figures must clear floors
set below the quick runs of seeds 0, 1 and 2 by about three times their spread
(measured on this machine, quoted at each test).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert ", 1 torch threads" in result.stdout or script == "mnist_images.py"
    return result.stdout


def _table(out, first_column, n_columns):
    """Rows of a printed table whose first cell is in ``first_column``."""
    rows = {}
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] in first_column:
            rows[cells[0]] = [float(v) for v in cells[1 : 1 + n_columns]]
    assert set(rows) == set(first_column), out
    return rows


def test_ae_vs_pca_quick():
    """Quick (digits, seed 0, k = 2 and 16, every parameter at its default):
    AE 0.6204 / 0.9500 against PCA 0.5796 / 0.9500 (at k = 16 >= d / 4 the
    defaults keep PCA's solution)."""
    out = _run("ae_vs_pca.py", "--quick")
    assert "digits: LR accuracy, fit seconds" in out
    rows = {}
    for line in out.splitlines():
        cells = line.split()
        if cells[:1] == ["digits"] and len(cells) >= 5:
            rows[cells[1]] = [float(v) for v in cells[2:5]]  # PCA, AE, DAE
    assert set(rows) == {"2", "16"}, out
    assert rows["2"][0] == pytest.approx(0.5796, abs=1e-4)  # PCA: deterministic
    assert rows["16"][0] == pytest.approx(0.9500, abs=1e-4)
    assert rows["2"][1] >= rows["2"][0] + 0.02  # a narrow code: the AE is ahead
    assert rows["16"][1] >= rows["16"][0]  # never below PCA
    assert "AE: mean gain over PCA" in out
    assert out.count("cells more than 0.005 below PCA: 0") >= 1


def test_outliers_quick(data_dir):
    """Quick (seed 0, 10 epochs): the defaults' ROC-AUC 0.934 on wbc and 0.982
    on lympho; IsolationForest 0.940 / 0.999 and PCA 0.808 / 0.838 are the
    shared data README's reference figures."""
    out = _run(
        "outliers.py", "--quick", "--data", str(data_dir), "--sets", "wbc", "lympho"
    )
    assert "baselines match the reference table (within 0.002): 2/2" in out
    lines = out.splitlines()
    top = lines.index(next(line for line in lines if line.startswith("ROC-AUC")))
    header = lines[top + 1].split()
    assert header[:6] == ["set", "n", "d", "skae", "skae", "single"], header
    rows = {}
    for line in lines[top + 3 : top + 5]:
        cells = line.split()
        rows[cells[0]] = dict(
            skae=float(cells[3]), forest=float(cells[5]), pca=float(cells[6])
        )
    assert set(rows) == {"wbc", "lympho"}, out
    assert rows["wbc"]["forest"] == pytest.approx(0.940, abs=2e-3)
    assert rows["lympho"]["forest"] == pytest.approx(0.999, abs=2e-3)
    assert rows["wbc"]["skae"] >= 0.90
    assert rows["lympho"]["skae"] >= 0.95
    for figures in rows.values():
        assert figures["skae"] > figures["pca"] + 0.05


def test_denoising_quick(data_dir):
    """Seeds 0/1/2 (quick: 2,000 images, 3 epochs): MSE to the clean images
    dense 0.0640/0.0640/0.0637, conv 0.0672/0.0668/0.0669, against 0.1155 for
    the noisy input."""
    out = _run("denoising.py", "--quick", "--data", str(data_dir))
    figures = {}
    for line in out.splitlines():
        match = re.match(
            r"(noisy input|PCA\(32\) of the noisy|dense denoiser mean|"
            r"conv denoiser mean)\D*([0-9.]+)",
            line,
        )
        if match:
            figures[match.group(1)] = float(match.group(2))
    assert len(figures) == 4, out
    noisy = figures["noisy input"]
    assert noisy == pytest.approx(0.1155, abs=5e-4)  # deterministic
    assert figures["PCA(32) of the noisy"] == pytest.approx(0.0332, abs=5e-4)
    # The denoisers remove about 45 % of the noise's error already at 3 epochs.
    assert figures["dense denoiser mean"] < 0.6 * noisy
    assert figures["conv denoiser mean"] < 0.65 * noisy


def test_mnist_images_quick(data_dir):
    """Seeds 0/1/2 (quick: 2,000 images, digit 0 as outliers): ROC-AUC conv
    AE 0.909/0.914/0.924, conv VAE 0.922/0.897/0.925, dense AE
    0.884/0.886/0.860, against PCA(16) 0.732."""
    pytest.importorskip("matplotlib")
    out = _run(
        "mnist_images.py",
        "--quick",
        "--skip-vae",
        "--classes",
        "0",
        "--data",
        str(data_dir),
    )
    # digit: conv AE, conv VAE, dense AE, IsolationForest, PCA(16)
    conv, conv_vae, dense, forest, pca = _table(out, ["0"], 5)["0"]
    assert pca == pytest.approx(0.732, abs=2e-3)  # deterministic
    assert forest == pytest.approx(0.897, abs=2e-3)
    for auc in (conv, conv_vae, dense):
        assert auc >= 0.80
        assert auc > pca + 0.05
