"""Display objects: each is drawn, saved, and its artists hold the model's data."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

import skae  # noqa: E402
from skae import AutoencoderOutlierDetector, AutoencoderTransformer  # noqa: E402
from skae._backend import keras  # noqa: E402
from skae.plotting import (  # noqa: E402
    HistoryDisplay,
    LatentSpaceDisplay,
    OutlierScoreDisplay,
    ReconstructionDisplay,
)

TINY = dict(hidden_layer_sizes=(8,), epochs=3, device="cpu", random_state=0)
N_ROWS = 300


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:N_ROWS], y[:N_ROWS]


@pytest.fixture(scope="module")
def transformer(data):
    X, _ = data
    return AutoencoderTransformer(
        n_components=3, metrics=["mae"], validation_fraction=0.2, **TINY
    ).fit(X)


@pytest.fixture(scope="module")
def detector(data):
    X, _ = data
    return AutoencoderOutlierDetector(contamination=0.05, **TINY).fit(X)


def save(display, tmp_path):
    path = tmp_path / "display.png"
    display.figure_.savefig(path)
    assert path.stat().st_size > 0


def test_skae_works_without_matplotlib():
    # Keras imports matplotlib.pyplot itself whenever it is installed, so
    # "not in sys.modules" cannot be asserted; make it unimportable instead.
    code = """if True:
        import sys
        sys.modules["matplotlib"] = None  # as if matplotlib were not installed
        import skae
        from skae.plotting import HistoryDisplay
        try:
            HistoryDisplay({"loss": [1.0]}).plot()
        except ImportError as exc:
            assert "HistoryDisplay.plot requires matplotlib" in str(exc), exc
        else:
            raise AssertionError("plot without matplotlib raised no ImportError")
    """
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_module_level_matplotlib_import():
    """skae's modules import matplotlib only inside functions."""
    for path in Path(skae.__file__).parent.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "matplotlib" for n in names), path


# ------------------------------------------------------------------ history


def test_history_lines_hold_history(transformer, tmp_path):
    display = HistoryDisplay.from_estimator(transformer, metrics=["mae"])
    save(display, tmp_path)
    history = transformer.history_
    assert list(display.lines_) == ["loss", "val_loss", "mae", "val_mae"]
    assert len(display.ax_.get_lines()) == 4
    for name, line in display.lines_.items():
        assert_array_equal(line.get_xdata(), np.arange(1, transformer.n_iter_ + 1))
        assert_allclose(line.get_ydata(), history[name])
    # A validation curve is dashed, in its training curve's colour.
    assert display.lines_["val_loss"].get_linestyle() == "--"
    assert display.lines_["val_loss"].get_color() == display.lines_["loss"].get_color()
    assert display.ax_.get_yscale() == "linear"


def test_history_default_is_loss_and_log_scale(transformer):
    fig, ax = plt.subplots()
    display = HistoryDisplay.from_estimator(transformer, ax=ax, log_scale=True)
    assert list(display.lines_) == ["loss", "val_loss"]
    assert display.ax_ is ax and display.figure_ is fig
    assert ax.get_yscale() == "log"


def test_history_constructor_plots_any_history():
    display = HistoryDisplay({"loss": [3.0, 2.0, 1.0]}).plot()
    assert_allclose(display.lines_["loss"].get_ydata(), [3.0, 2.0, 1.0])


def test_history_unknown_metric(transformer):
    with pytest.raises(ValueError, match=r"\['mape'\] not in the estimator's"):
        HistoryDisplay.from_estimator(transformer, metrics=["mape"])


# ----------------------------------------------------------- reconstruction


def test_reconstruction_images(transformer, data, tmp_path):
    X, _ = data
    display = ReconstructionDisplay.from_estimator(transformer, X, n_images=5)
    save(display, tmp_path)
    assert display.axes_.shape == display.images_.shape == (2, 5)
    assert len(display.figure_.axes) == 10
    expected = transformer.inverse_transform(transformer.transform(X[:5]))
    for i in range(5):
        assert_allclose(display.images_[0, i].get_array(), X[i].reshape(8, 8))
        assert_allclose(display.images_[1, i].get_array(), expected[i].reshape(8, 8))
    # Both rows share the originals' colour scale.
    assert display.images_[1, 0].get_clim() == (X[:5].min(), X[:5].max())


def test_reconstruction_of_outlier_detector(detector, data):
    X, _ = data
    display = ReconstructionDisplay.from_estimator(
        detector, X, n_images=3, image_shape=(8, 8)
    )
    reconstructions = np.stack([image.get_array() for image in display.images_[1]])
    # The drawn images are the ensemble's reconstruction: its members' mean,
    # computed here by Keras's own call of the model. The two sum in float32 in
    # different orders: an absolute tolerance far below the images' scale
    # (~0.3) covers pixels near zero, where rtol alone is float32's rounding.
    members = keras.ops.convert_to_numpy(detector._model(X[:3], training=False))
    assert members.shape[1] > 1  # an ensemble, whose mean is being checked
    assert_allclose(
        reconstructions, members.mean(axis=1).reshape(3, 8, 8), rtol=1e-5, atol=1e-6
    )


def test_reconstruction_image_shape_and_fewer_rows(transformer, data):
    X, _ = data
    display = ReconstructionDisplay.from_estimator(
        transformer, X[:2], n_images=8, image_shape=(4, 16)
    )
    assert display.images_.shape == (2, 2)
    assert display.images_[0, 1].get_array().shape == (4, 16)


def test_reconstruction_onto_given_axes(transformer, data):
    X, _ = data
    fig, axes = plt.subplots(2, 3)
    display = ReconstructionDisplay.from_estimator(transformer, X, n_images=3, ax=axes)
    assert display.axes_[1, 2] is axes[1, 2] and display.figure_ is fig
    with pytest.raises(ValueError, match="ax must hold 2 x 4 axes"):
        ReconstructionDisplay.from_estimator(transformer, X, n_images=4, ax=axes)


def test_reconstruction_bad_image_shape():
    X = np.zeros((4, 10))
    display = ReconstructionDisplay(X, X)
    with pytest.raises(ValueError, match="square image shape from 10 features"):
        display.plot()
    with pytest.raises(ValueError, match=r"has 9 pixels, but the data has 10"):
        ReconstructionDisplay(X, X, image_shape=(3, 3)).plot()
    ReconstructionDisplay(X, X, image_shape=(2, 5)).plot()


# ------------------------------------------------------------- latent space


def test_latent_space_scatter(transformer, data, tmp_path):
    X, y = data
    display = LatentSpaceDisplay.from_estimator(transformer, X, y, components=(2, 0))
    save(display, tmp_path)
    assert_allclose(display.scatter_.get_offsets(), transformer.transform(X)[:, [2, 0]])
    texts = [text.get_text() for text in display.legend_.get_texts()]
    assert texts == [str(label) for label in np.unique(y)]
    assert display.colorbar_ is None
    assert display.ax_.get_xlabel() == "component 2"
    # Each class gets its own colour.
    colors = display.scatter_.get_facecolors()
    assert len(np.unique(colors[:, :3], axis=0)) == len(np.unique(y))


def test_latent_space_continuous_y_gets_colorbar():
    embedding = np.arange(20.0).reshape(10, 2)
    display = LatentSpaceDisplay(embedding, y=np.linspace(0, 1, 10)).plot()
    assert display.legend_ is None and display.colorbar_ is not None
    display = LatentSpaceDisplay(embedding).plot(s=3)
    assert display.legend_ is None and display.colorbar_ is None


def test_latent_space_needs_two_components(data):
    X, _ = data
    narrow = AutoencoderTransformer(n_components=1, **{**TINY, "epochs": 1}).fit(X)
    with pytest.raises(ValueError, match="at least 2 components"):
        LatentSpaceDisplay.from_estimator(narrow, X)


@pytest.mark.parametrize("components", [(0, 0), (0, 3), (0, 1, 2)])
def test_latent_space_bad_components(components):
    with pytest.raises(ValueError, match="components must be two different"):
        LatentSpaceDisplay(np.zeros((5, 3))).plot(components=components)


def test_latent_space_needs_transform(detector, data):
    X, _ = data
    with pytest.raises(TypeError, match="needs an estimator with transform"):
        LatentSpaceDisplay.from_estimator(detector, X)


# ------------------------------------------------------------ outlier score


def test_outlier_score_histogram(detector, data, tmp_path):
    X, _ = data
    display = OutlierScoreDisplay.from_estimator(detector, X, bins=20)
    save(display, tmp_path)
    assert display.threshold_line_.get_xdata()[0] == detector.offset_
    assert list(display.hist_) == ["all"]
    heights = [bar.get_height() for bar in display.hist_["all"]]
    assert len(heights) == 20 and sum(heights) == X.shape[0]


@pytest.mark.parametrize("labels", ["bool", "int", "predict"])
def test_outlier_score_split_by_labels(detector, data, labels):
    X, _ = data
    predicted = detector.predict(X)
    outlier = predicted == -1
    assert 0 < outlier.sum() < len(X)
    y = {"bool": outlier, "int": outlier.astype(int), "predict": predicted}[labels]
    display = OutlierScoreDisplay.from_estimator(detector, X, y)
    counts = {
        name: sum(bar.get_height() for bar in bars)
        for name, bars in display.hist_.items()
    }
    assert counts == {"inliers": (~outlier).sum(), "outliers": outlier.sum()}
    # Predicted outliers all lie left of the threshold line.
    threshold = display.threshold_line_.get_xdata()[0]
    for bar in display.hist_["outliers"]:
        if bar.get_height():
            assert bar.get_x() < threshold


def test_outlier_score_of_pipeline_uses_last_offset(data):
    X, _ = data
    pipe = make_pipeline(MinMaxScaler(), AutoencoderOutlierDetector(**TINY)).fit(X)
    display = OutlierScoreDisplay.from_estimator(pipe, X)
    assert display.threshold_line_.get_xdata()[0] == pipe[-1].offset_


def test_outlier_score_without_offset(transformer, data):
    X, _ = data
    display = OutlierScoreDisplay.from_estimator(transformer, X)
    assert display.threshold_line_ is None


def test_outlier_score_reads_predict_labels_and_rejects_others():
    display = OutlierScoreDisplay(np.arange(4.0), y=[-1, 1, 1, 1]).plot()
    assert sum(bar.get_height() for bar in display.hist_["outliers"]) == 1
    display = OutlierScoreDisplay(np.arange(3.0), y=[1, 1, 1]).plot()  # predict's
    assert sum(bar.get_height() for bar in display.hist_["outliers"]) == 0
    with pytest.raises(ValueError, match="labels from predict"):
        OutlierScoreDisplay(np.zeros(3), offset=0.0, y=[0, -1, 1]).plot()


def test_outlier_score_log_axis(detector, data):
    X, _ = data
    display = OutlierScoreDisplay.from_estimator(detector, X, log=True)
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_ylabel() == "count (log scale)"
    linear = OutlierScoreDisplay.from_estimator(detector, X)
    assert linear.ax_.get_yscale() == "linear"


# ------------------------------------------------------------------ shared


@pytest.mark.parametrize(
    "plot",
    [
        lambda est, X: HistoryDisplay.from_estimator(est),
        lambda est, X: ReconstructionDisplay.from_estimator(est, X),
        lambda est, X: LatentSpaceDisplay.from_estimator(est, X),
        lambda est, X: OutlierScoreDisplay.from_estimator(est, X),
    ],
    ids=["history", "reconstruction", "latent", "outlier"],
)
def test_unfitted_estimator(plot, data):
    X, _ = data
    with pytest.raises(NotFittedError):
        plot(AutoencoderTransformer(), X)
