"""The documentation builds, and the code it shows runs.

* ``test_sphinx_build``: the Sphinx site builds with warnings as errors,
  running every gallery example, in a copy of ``docs/`` and ``examples/``
  (nothing is written into the repository, and no stale gallery output is
  reused).
* ``test_user_guide_code_runs``: the ``>>>`` examples of the user guide pages
  run as doctests.
* ``test_notebook_runs``: ``docs/notebooks/outlier_scoring.ipynb`` runs from
  top to bottom in a Jupyter kernel on this interpreter.
"""

import doctest
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOK = DOCS / "notebooks" / "outlier_scoring.ipynb"

#: Build outputs that the copy of docs/ leaves behind.
_BUILD_OUTPUTS = ("_build", "auto_examples", "gen_modules")


def _missing(*modules):
    from importlib.util import find_spec

    return [name for name in modules if find_spec(name) is None]


@pytest.mark.slow
def test_sphinx_build(tmp_path):
    missing = _missing("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme")
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed: pip install -e '.[docs]' to "
            "build the documentation"
        )
    shutil.copytree(
        DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns(*_BUILD_OUTPUTS)
    )
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("SKAE_DOCS_NO_GALLERY", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-E",
            "-q",
            "-b",
            "html",
            str(tmp_path / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-10000:]
    html = tmp_path / "html"
    for page in [
        "index.html",
        "api.html",
        "user_guide/outliers.html",
        "auto_examples/index.html",
        "auto_examples/plot_vae_latent_space.html",
        "gen_modules/skae.AutoencoderTransformer.html",
        "gen_modules/skae.plotting.OutlierScoreDisplay.html",
        "gen_modules/skae.parallel.dask_backend.html",
    ]:
        assert (html / page).is_file(), page
    # Every example has its page; a failing example fails the build.
    for example in sorted((ROOT / "examples").glob("plot_*.py")):
        assert (html / "auto_examples" / f"{example.stem}.html").is_file(), example
    assert (html / "_images" / "sphx_glr_plot_vae_latent_space_001.png").is_file()
    # Parameter types render as plain names, not unresolved intersphinx targets.
    api_page = (html / "gen_modules" / "skae.AutoencoderTransformer.html").read_text()
    assert "python:" not in api_page


def test_api_reference_lists_every_public_name():
    import skae
    import skae.parallel
    import skae.plotting

    listed = {line.strip() for line in (DOCS / "api.rst").read_text().splitlines()}
    public = [
        *(name for name in skae.__all__ if not name.startswith("_")),
        *skae.plotting.__all__,
        *skae.parallel.__all__,
    ]
    assert [name for name in public if name not in listed] == []


USER_GUIDE = sorted((DOCS / "user_guide").glob("*.rst"))


@pytest.mark.parametrize("page", USER_GUIDE, ids=lambda p: p.name)
def test_user_guide_code_runs(page, monkeypatch):
    pytest.importorskip("matplotlib").use("Agg")
    monkeypatch.chdir(page.parent)
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name}"


def test_notebook_is_stored_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.slow
def test_notebook_runs(data_dir, tmp_path, monkeypatch):
    missing = _missing("nbclient", "nbformat", "ipykernel")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: pip install -e '.[docs]'")
    import nbformat
    from nbclient import NotebookClient

    # A kernel spec for exactly this interpreter, found before any other.
    spec = tmp_path / "kernels" / "skae-tests"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f"]
                + ["{connection_file}"],
                "display_name": "skae tests",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="skae-tests",
        timeout=None,  # a busy machine makes a cell slower, never wrong
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
