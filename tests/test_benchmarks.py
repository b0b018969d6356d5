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


def test_ae_vs_pca_quick(tmp_path):
    """Seeds 0/1/2 (quick, 100 epochs): AE MSE / PCA MSE 0.72/0.71/0.75 at k=2
    and 0.51/0.51/0.51 at k=8; DAE accuracy - PCA's +0.089/+0.074/+0.069 at
    k=2 and +0.069/+0.070/+0.065 at k=8."""
    pytest.importorskip("matplotlib")
    plot = tmp_path / "plot.png"
    out = _run("ae_vs_pca.py", "--quick", "--widths", "2", "8", "--plot", str(plot))
    assert "digits: test MSE, LR accuracy, fit seconds" in out
    # k: MSE PCA, AE, DAE, accuracy PCA, AE, DAE
    rows = _table(out, ["2", "8"], 6)
    # PCA is deterministic: the full run's table (benchmarks/results).
    assert rows["2"][0] == pytest.approx(0.0537, abs=1e-4)
    assert rows["8"][0] == pytest.approx(0.0249, abs=1e-4)
    assert rows["2"][3] == pytest.approx(0.5815, abs=1e-4)
    assert rows["8"][3] == pytest.approx(0.8778, abs=1e-4)
    for k in ("2", "8"):
        mse_pca, mse_ae, mse_dae, acc_pca, _, acc_dae = rows[k]
        assert mse_ae < 0.85 * mse_pca  # narrow codes: the AE reconstructs better
        assert mse_dae < mse_pca
        assert acc_dae > acc_pca + 0.03  # and the denoiser's features classify better
    assert plot.stat().st_size > 10_000


def test_outliers_quick(data_dir):
    """Seeds 0/1/2 (quick, 10 epochs): AE ROC-AUC 0.940/0.924/0.929 on wbc,
    0.965/0.982/0.985 on lympho."""
    out = _run(
        "outliers.py", "--quick", "--data", str(data_dir), "--sets", "wbc", "lympho"
    )
    assert "baselines match the reference table (within 0.002): 2/2" in out
    # set: n, d, PCA, IForest, reference PCA, "/", reference IF, AE
    rows = {}
    for line in out.splitlines():
        cells = line.split()
        if cells[:1] in (["wbc"], ["lympho"]) and len(cells) >= 9:
            rows[cells[0]] = dict(pca=float(cells[3]), ae=float(cells[8]))
    assert set(rows) == {"wbc", "lympho"}, out
    assert rows["wbc"]["ae"] >= 0.90
    assert rows["lympho"]["ae"] >= 0.93
    for figures in rows.values():
        assert figures["ae"] > figures["pca"] + 0.05
    assert "AE mean > PCA mean:              True" in out


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
