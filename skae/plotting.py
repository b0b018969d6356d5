"""Display objects for skae's estimators, in scikit-learn's style.

Each display holds the computed data, draws it with ``.plot(ax=None, ...)``
(storing the Matplotlib artists as attributes ending in ``_``) and is built
from a fitted estimator by ``from_estimator``, which computes the data and
plots it:

* :class:`HistoryDisplay`: training loss and metrics per epoch;
* :class:`ReconstructionDisplay`: images next to their reconstructions;
* :class:`LatentSpaceDisplay`: two bottleneck components as a scatter plot;
* :class:`OutlierScoreDisplay`: a histogram of ``score_samples`` with the
  threshold ``offset_``;
* :class:`FeatureErrorDisplay`: the features that drive one row's outlier
  score.

Matplotlib is optional: it is imported only when something is drawn, and
``import skae`` does not import this module.
"""

import math
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_array, check_consistent_length
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d

from ._base import BaseAutoencoder

__all__ = [
    "FeatureErrorDisplay",
    "HistoryDisplay",
    "LatentSpaceDisplay",
    "OutlierScoreDisplay",
    "ReconstructionDisplay",
]

#: Most classes shown with a legend; more, or a continuous ``y``, get a colorbar.
_MAX_LEGEND_CLASSES = 20


# ----------------------------------------------------------------- helpers


def _get_axes(ax, caller):
    """Return ``(ax, figure)``: ``ax``, or the Axes of a new figure if None."""
    check_matplotlib_support(caller)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax, ax.figure


def _check_estimator(estimator, caller):
    """Check Matplotlib and that ``estimator`` is fitted; return its last step.

    For a :class:`~sklearn.pipeline.Pipeline` the last step carries the fitted
    attributes (``history_``, ``offset_``) while the pipeline computes.
    """
    check_matplotlib_support(caller)
    check_is_fitted(estimator)
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _reconstruct(estimator, X):
    """Reconstructions of ``X`` by the whole autoencoder.

    skae estimators reconstruct in one pass (the outlier detector has no
    ``transform``); other estimators need ``transform`` and
    ``inverse_transform``.
    """
    if isinstance(estimator, BaseAutoencoder):
        return estimator._reconstruct(estimator._validate_for_inference(X))
    if hasattr(estimator, "transform") and hasattr(estimator, "inverse_transform"):
        return np.asarray(estimator.inverse_transform(estimator.transform(X)))
    raise TypeError(
        "ReconstructionDisplay needs a skae autoencoder or an estimator with "
        f"transform and inverse_transform; got {estimator!r}."
    )


def _image_shape(n_features, image_shape):
    """``image_shape``, or the square shape of ``n_features`` pixels."""
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"Cannot infer a square image shape from {n_features} features; "
                "pass image_shape=(height, width)."
            )
        return (side, side)
    image_shape = tuple(int(size) for size in image_shape)
    if math.prod(image_shape) != n_features:
        raise ValueError(
            f"image_shape={image_shape} has {math.prod(image_shape)} pixels, but "
            f"the data has {n_features} features."
        )
    return image_shape


def _outlier_mask(y):
    """Boolean mask of the outliers in ``y``.

    ``y`` is boolean or 0/1 (True or 1 marks an outlier), or skae's and
    scikit-learn's labels from ``predict``: -1 for outliers, +1 for inliers.
    Labels that are all 1 are read as ``predict``'s (no outliers).
    """
    y = column_or_1d(y)
    if y.dtype.kind == "b":
        return y
    values = np.unique(y)
    if y.dtype.kind in "iuf":
        if np.isin(values, [-1, 1]).all():
            return y == -1
        if np.isin(values, [0, 1]).all():
            return y == 1
    raise ValueError(
        "y must be boolean or 0/1 with True (1) marking the outliers, or labels "
        f"from predict (-1 for outliers, +1 for inliers); got values {values[:5]}."
    )


def _class_colors(n_classes):
    """A colormap with one distinct colour per class, code ``k`` to colour ``k``."""
    import matplotlib as mpl

    palette = "tab10" if n_classes <= 10 else "tab20"
    return mpl.colors.ListedColormap(mpl.colormaps[palette].colors[:n_classes])


# ---------------------------------------------------------------- displays


class HistoryDisplay:
    """Training curves: loss and metrics per epoch.

    Build it with :meth:`from_estimator`, or from any history dict (such as
    an estimator's ``history_`` or Keras's ``History.history``) and call
    :meth:`plot`. Validation curves (``val_`` keys) are drawn dashed, in the
    colour of their training curve.

    Parameters
    ----------
    history : dict of str to list of float
        Per-epoch values to plot, one line per key.

    Attributes
    ----------
    lines_ : dict of str to matplotlib.lines.Line2D
        The line of each key of ``history``.

    ax_ : matplotlib.axes.Axes
        Axes with the curves.

    figure_ : matplotlib.figure.Figure
        Figure containing the curves.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Score against training size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import HistoryDisplay
    >>> X = load_digits().data[:200] / 16
    >>> ae = AutoencoderTransformer(
    ...     hidden_layer_sizes=(8,), epochs=2, metrics=["mae"],
    ...     validation_fraction=0.2, device="cpu", random_state=0).fit(X)
    >>> display = HistoryDisplay.from_estimator(ae, metrics=["mae"])
    >>> list(display.lines_)
    ['loss', 'val_loss', 'mae', 'val_mae']
    """

    def __init__(self, history):
        self.history = history

    def plot(self, ax=None, *, log_scale=False, **kwargs):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        log_scale : bool, default=False
            Use a logarithmic y axis.

        **kwargs : dict
            Keyword arguments passed to ``ax.plot`` for every line.

        Returns
        -------
        display : HistoryDisplay
            The display, with its artists stored.
        """
        ax, self.figure_ = _get_axes(ax, "HistoryDisplay.plot")
        from matplotlib.ticker import MaxNLocator

        colors, self.lines_ = {}, {}
        for name, values in self.history.items():
            validation = name.startswith("val_")
            color = colors.setdefault(name.removeprefix("val_"), f"C{len(colors)}")
            line_kwargs = {
                "color": color,
                "linestyle": "--" if validation else "-",
                "label": name,
                **kwargs,
            }
            epochs = np.arange(1, len(values) + 1)
            (self.lines_[name],) = ax.plot(epochs, values, **line_kwargs)
        if log_scale:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel="value")
        ax.legend()
        self.ax_ = ax
        return self

    @classmethod
    def from_estimator(cls, estimator, *, metrics=None, ax=None, log_scale=False):
        """Plot the training history of a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            Fitted skae estimator (or a Pipeline ending in one) with a
            ``history_``.

        metrics : list of str, default=None
            Metrics of ``history_`` to plot besides the loss, by their names
            there (e.g. ``["mae"]``). Their ``val_`` copies are plotted too
            when present, as ``val_loss`` is.

        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        log_scale : bool, default=False
            Use a logarithmic y axis.

        Returns
        -------
        display : HistoryDisplay
            The display, with its artists stored.
        """
        history = getattr(
            _check_estimator(estimator, f"{cls.__name__}.from_estimator"),
            "history_",
            None,
        )
        if history is None:
            raise TypeError(f"{estimator!r} has no history_ to plot.")
        names = ["loss", *([metrics] if isinstance(metrics, str) else metrics or [])]
        unknown = [name for name in names if name not in history]
        if unknown:
            raise ValueError(
                f"{unknown} not in the estimator's history_, which has "
                f"{sorted(history)}."
            )
        selected = {
            key: list(history[key])
            for name in names
            for key in (name, f"val_{name}")
            if key in history
        }
        return cls(selected).plot(ax=ax, log_scale=log_scale)


class ReconstructionDisplay:
    """Images (top row) above their reconstructions (bottom row).

    Both rows are drawn with the same colour scale, from the originals' range,
    so that a blurred or faded reconstruction looks so.

    Parameters
    ----------
    originals : ndarray of shape (n_images, n_features)
        Input rows, one flattened image each.

    reconstructions : ndarray of shape (n_images, n_features)
        Their reconstructions.

    image_shape : tuple of int, default=None
        Shape of one image: ``(height, width)``, or ``(height, width, 3)``
        for RGB. If None, the images are square with ``sqrt(n_features)``
        pixels a side.

    Attributes
    ----------
    axes_ : ndarray of matplotlib.axes.Axes of shape (2, n_images)
        The axes: originals in row 0, reconstructions in row 1.

    images_ : ndarray of matplotlib.image.AxesImage of shape (2, n_images)
        The images, laid out as ``axes_``.

    figure_ : matplotlib.figure.Figure
        Figure containing the images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import ReconstructionDisplay
    >>> X = load_digits().data[:200] / 16
    >>> ae = AutoencoderTransformer(
    ...     hidden_layer_sizes=(8,), epochs=2, device="cpu", random_state=0).fit(X)
    >>> display = ReconstructionDisplay.from_estimator(ae, X, n_images=5)
    >>> display.images_.shape
    (2, 5)
    >>> display.images_[0, 0].get_array().shape
    (8, 8)
    """

    def __init__(self, originals, reconstructions, *, image_shape=None):
        self.originals = originals
        self.reconstructions = reconstructions
        self.image_shape = image_shape

    def plot(self, ax=None, *, cmap="gray", **imshow_kwargs):
        """Plot the images.

        Parameters
        ----------
        ax : array of matplotlib.axes.Axes of shape (2, n_images), default=None
            Axes to draw on, originals in the first row. If None, a new figure
            with these axes is created.

        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap of single-channel images.

        **imshow_kwargs : dict
            Keyword arguments passed to ``ax.imshow`` (e.g. ``vmin``,
            ``vmax``).

        Returns
        -------
        display : ReconstructionDisplay
            The display, with its artists stored.
        """
        check_matplotlib_support("ReconstructionDisplay.plot")
        import matplotlib.pyplot as plt

        rows = np.stack([np.asarray(self.originals), np.asarray(self.reconstructions)])
        n_images = rows.shape[1]
        shape = _image_shape(rows.shape[2], self.image_shape)
        if ax is None:
            _, ax = plt.subplots(
                2, n_images, figsize=(1.2 * n_images, 2.6), squeeze=False
            )
        axes = np.asarray(ax, dtype=object)
        if axes.shape != (2, n_images):
            raise ValueError(
                f"ax must hold 2 x {n_images} axes (one column per image); got "
                f"shape {axes.shape}."
            )
        imshow_kwargs = {
            "cmap": cmap,
            "vmin": float(rows[0].min()),
            "vmax": float(rows[0].max()),
            **imshow_kwargs,
        }
        self.images_ = np.empty((2, n_images), dtype=object)
        for (row, column), image_ax in np.ndenumerate(axes):
            image = rows[row, column].reshape(shape)
            self.images_[row, column] = image_ax.imshow(image, **imshow_kwargs)
            image_ax.set(xticks=[], yticks=[])
        axes[0, 0].set_ylabel("original")
        axes[1, 0].set_ylabel("reconstruction")
        self.axes_, self.figure_ = axes, axes[0, 0].figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, *, n_images=8, image_shape=None, ax=None, **imshow_kwargs
    ):
        """Plot the first rows of ``X`` and their reconstructions.

        Parameters
        ----------
        estimator : estimator instance
            Fitted estimator with ``transform`` and ``inverse_transform`` (a
            skae transformer, a Pipeline of transformers, PCA ...) or a skae
            ``AutoencoderOutlierDetector``.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Images, one flattened image per row. The first ``n_images`` rows
            are shown; pass ``X[indices]`` to choose others.

        n_images : int, default=8
            Number of images (fewer if ``X`` has fewer rows).

        image_shape : tuple of int, default=None
            Shape of one image: ``(height, width)`` (e.g. ``(8, 8)`` for
            digits, ``(28, 28)`` for MNIST), or ``(height, width, 3)`` for
            RGB. If None, the images must be square.

        ax : array of matplotlib.axes.Axes of shape (2, n_images), default=None
            Axes to draw on. If None, a new figure is created.

        **imshow_kwargs : dict
            Keyword arguments passed to :meth:`plot`.

        Returns
        -------
        display : ReconstructionDisplay
            The display, with its artists stored.
        """
        _check_estimator(estimator, f"{cls.__name__}.from_estimator")
        if not isinstance(n_images, Integral) or n_images < 1:
            raise ValueError(f"n_images must be a positive integer; got {n_images!r}.")
        X = _safe_indexing(X, np.arange(min(n_images, _num_samples(X))))
        originals = check_array(X, accept_sparse="csr", dtype=np.float64)
        if sp.issparse(originals):
            originals = originals.toarray()
        image_shape = _image_shape(originals.shape[1], image_shape)
        display = cls(originals, _reconstruct(estimator, X), image_shape=image_shape)
        return display.plot(ax=ax, **imshow_kwargs)


class LatentSpaceDisplay:
    """Two components of the bottleneck as a scatter plot, coloured by ``y``.

    Class labels get one colour each and a legend; a continuous ``y`` (or one
    with more than 20 values) gets a colormap and a colorbar.

    Parameters
    ----------
    embedding : ndarray of shape (n_samples, n_components)
        Encoded data, e.g. ``transform(X)``. ``n_components`` must be at
        least 2.

    y : array-like of shape (n_samples,), default=None
        Labels or values to colour the points by.

    Attributes
    ----------
    scatter_ : matplotlib.collections.PathCollection
        The points.

    legend_ : matplotlib.legend.Legend or None
        The class legend, when ``y`` holds classes.

    colorbar_ : matplotlib.colorbar.Colorbar or None
        The colorbar, when ``y`` is continuous.

    ax_ : matplotlib.axes.Axes
        Axes with the scatter plot.

    figure_ : matplotlib.figure.Figure
        Figure containing the scatter plot.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import LatentSpaceDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:200] / 16, y[:200]
    >>> ae = AutoencoderTransformer(
    ...     hidden_layer_sizes=(8,), epochs=2, device="cpu", random_state=0).fit(X)
    >>> display = LatentSpaceDisplay.from_estimator(ae, X, y)
    >>> display.scatter_.get_offsets().shape
    (200, 2)
    >>> len(display.legend_.get_texts())
    10
    """

    def __init__(self, embedding, y=None):
        self.embedding = embedding
        self.y = y

    def plot(self, ax=None, *, components=(0, 1), **scatter_kwargs):
        """Plot the embedding.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        components : tuple of (int, int), default=(0, 1)
            Indices of the components on the x and y axes.

        **scatter_kwargs : dict
            Keyword arguments passed to ``ax.scatter`` (e.g. ``s``, ``alpha``,
            ``cmap``).

        Returns
        -------
        display : LatentSpaceDisplay
            The display, with its artists stored.
        """
        embedding = np.asarray(self.embedding)
        n_components = embedding.shape[1]
        if n_components < 2:
            raise ValueError(
                "LatentSpaceDisplay needs at least 2 components, but the "
                f"embedding has {n_components}: fit the estimator with "
                "n_components >= 2."
            )
        components = tuple(components)
        if (
            len(components) != 2
            or components[0] == components[1]
            or not all(0 <= c < n_components for c in components)
        ):
            raise ValueError(
                "components must be two different indices in "
                f"[0, {n_components - 1}]; got {components}."
            )
        ax, self.figure_ = _get_axes(ax, "LatentSpaceDisplay.plot")
        self.legend_ = self.colorbar_ = None
        classes = None
        if self.y is not None:
            y = column_or_1d(self.y)
            check_consistent_length(embedding, y)
            classes, codes = np.unique(y, return_inverse=True)
            if y.dtype.kind in "iufb" and (
                type_of_target(y) == "continuous" or len(classes) > _MAX_LEGEND_CLASSES
            ):
                classes = None
                scatter_kwargs.setdefault("c", y)
            else:
                scatter_kwargs = {
                    "c": codes,
                    "vmin": 0,
                    "vmax": max(len(classes) - 1, 1),
                    **scatter_kwargs,
                }
                if "cmap" not in scatter_kwargs:
                    scatter_kwargs["cmap"] = _class_colors(len(classes))
        first, second = components
        self.scatter_ = ax.scatter(
            embedding[:, first], embedding[:, second], **scatter_kwargs
        )
        if classes is not None:
            handles, _ = self.scatter_.legend_elements(num=None)
            self.legend_ = ax.legend(handles, [str(c) for c in classes], title="y")
        elif self.y is not None:
            self.colorbar_ = self.figure_.colorbar(self.scatter_, ax=ax, label="y")
        ax.set(xlabel=f"component {first}", ylabel=f"component {second}")
        self.ax_ = ax
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, components=(0, 1), ax=None, **scatter_kwargs
    ):
        """Plot two components of ``estimator.transform(X)``.

        Parameters
        ----------
        estimator : estimator instance
            Fitted transformer with at least 2 output features, e.g. a skae
            ``AutoencoderTransformer`` with ``n_components >= 2``.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        y : array-like of shape (n_samples,), default=None
            Labels or values to colour the points by.

        components : tuple of (int, int), default=(0, 1)
            Indices of the components on the x and y axes.

        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        **scatter_kwargs : dict
            Keyword arguments passed to ``ax.scatter``.

        Returns
        -------
        display : LatentSpaceDisplay
            The display, with its artists stored.
        """
        _check_estimator(estimator, f"{cls.__name__}.from_estimator")
        if not hasattr(estimator, "transform"):
            raise TypeError(
                f"LatentSpaceDisplay needs an estimator with transform; "
                f"{type(estimator).__name__} has none."
            )
        display = cls(np.asarray(estimator.transform(X)), y)
        return display.plot(ax=ax, components=components, **scatter_kwargs)


class OutlierScoreDisplay:
    """Histogram of outlier scores with the detector's threshold.

    With known labels ``y``, inliers and outliers get overlaid histograms on
    the same bins.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Scores from ``score_samples`` (higher is more normal).

    offset : float, default=None
        Threshold on the scores (the detector's ``offset_``), drawn as a
        vertical line; rows scoring below it are predicted outliers. None
        draws no line.

    y : array-like of shape (n_samples,), default=None
        Labels to split the histogram by: boolean or 0/1 with True (1) for the
        outliers (e.g. known ground truth), or the labels ``predict`` returns,
        -1 for outliers and +1 for inliers.

    log : bool, default=False
        Count axis on a log scale, so that a few outliers stay visible beside
        thousands of inliers.

    Attributes
    ----------
    hist_ : dict of str to matplotlib.container.BarContainer
        The bars: ``"all"`` without ``y``; ``"inliers"`` and ``"outliers"``
        with it.

    threshold_line_ : matplotlib.lines.Line2D or None
        The vertical line at ``offset``.

    ax_ : matplotlib.axes.Axes
        Axes with the histogram.

    figure_ : matplotlib.figure.Figure
        Figure containing the histogram.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae.plotting import OutlierScoreDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(200, 4)), rng.uniform(-6, 6, size=(5, 4))])
    >>> y = np.r_[np.zeros(200), np.ones(5)]
    >>> detector = AutoencoderOutlierDetector(
    ...     hidden_layer_sizes=(8,), epochs=2, device="cpu", random_state=0).fit(X)
    >>> display = OutlierScoreDisplay.from_estimator(detector, X, y)
    >>> sorted(display.hist_)
    ['inliers', 'outliers']
    >>> float(display.threshold_line_.get_xdata()[0]) == detector.offset_
    True
    """

    def __init__(self, scores, *, offset=None, y=None, log=False):
        self.scores = scores
        self.offset = offset
        self.y = y
        self.log = log

    def plot(self, ax=None, *, bins=50, **hist_kwargs):
        """Plot the histogram.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        bins : int, default=50
            Number of bins, shared by inliers and outliers; they span the
            scores and the threshold.

        **hist_kwargs : dict
            Keyword arguments passed to ``ax.hist`` (e.g. ``density=True``).

        Returns
        -------
        display : OutlierScoreDisplay
            The display, with its artists stored.
        """
        scores = column_or_1d(self.scores)
        groups = {"all": scores}
        if self.y is not None:
            check_consistent_length(scores, self.y)
            outlier = _outlier_mask(self.y)
            groups = {"inliers": scores[~outlier], "outliers": scores[outlier]}
        ax, self.figure_ = _get_axes(ax, "OutlierScoreDisplay.plot")
        limits = [scores.min(), scores.max()]
        if self.offset is not None:
            limits += [self.offset]
        edges = np.histogram_bin_edges(scores, bins, range=(min(limits), max(limits)))
        self.hist_ = {}
        for color, (name, values) in enumerate(groups.items()):
            kwargs = {
                "alpha": 0.6,
                "color": f"C{color}",
                "label": name,
                "log": self.log,
            }
            _, _, self.hist_[name] = ax.hist(
                values, bins=edges, **{**kwargs, **hist_kwargs}
            )
        self.threshold_line_ = None
        if self.offset is not None:
            self.threshold_line_ = ax.axvline(
                self.offset, color="k", linestyle="--", label="threshold (offset_)"
            )
        ax.set(
            xlabel="score_samples (higher is more normal)",
            ylabel=("density" if hist_kwargs.get("density") else "count")
            + (" (log scale)" if self.log else ""),
        )
        ax.legend()
        self.ax_ = ax
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, log=False, bins=50, ax=None, **hist_kwargs
    ):
        """Plot the histogram of ``estimator.score_samples(X)``.

        Parameters
        ----------
        estimator : estimator instance
            Fitted estimator with ``score_samples``: a skae
            ``AutoencoderOutlierDetector`` (or a Pipeline ending in one), whose
            ``offset_`` is drawn as the threshold. Estimators without
            ``offset_`` (skae's transformers) get no threshold line.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        y : array-like of shape (n_samples,), default=None
            Labels to split the histogram by: boolean or 0/1 with True (1) for
            the outliers, or ``predict``'s labels (-1 outlier, +1 inlier).

        log : bool, default=False
            Count axis on a log scale (rare outliers stay visible).

        bins : int, default=50
            Number of bins.

        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        **hist_kwargs : dict
            Keyword arguments passed to ``ax.hist``.

        Returns
        -------
        display : OutlierScoreDisplay
            The display, with its artists stored.
        """
        last_step = _check_estimator(estimator, f"{cls.__name__}.from_estimator")
        if y is not None:
            check_consistent_length(X, y)
            _outlier_mask(y)  # fail before scoring
        display = cls(
            estimator.score_samples(X),
            offset=getattr(last_step, "offset_", None),
            y=y,
            log=log,
        )
        return display.plot(ax=ax, bins=bins, **hist_kwargs)


class FeatureErrorDisplay:
    """Which features make one row an outlier: its per-feature errors as bars.

    The bars are the row's part of the outlier score per feature (from the
    detector's ``feature_errors``), largest on top: the features the
    autoencoder could not reconstruct. They sum to minus the row's
    ``score_samples``.

    Parameters
    ----------
    errors : ndarray of shape (n_features,)
        One row's per-feature errors.

    feature_names : array-like of str of shape (n_features,), default=None
        Names of the features; None labels them ``x0, x1, ...``.

    row : int or str, default=None
        Label of the row, shown in the title.

    Attributes
    ----------
    bars_ : matplotlib.container.BarContainer
        The bars, largest error first (on top).

    features_ : ndarray of str
        The names of the features shown, in the order of ``bars_``.

    ax_ : matplotlib.axes.Axes
        Axes with the bars.

    figure_ : matplotlib.figure.Figure
        Figure containing the bars.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae.plotting import FeatureErrorDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 5))
    >>> X[0, 3] = 8.0  # row 0 is an outlier through feature x3
    >>> detector = AutoencoderOutlierDetector(
    ...     epochs=20, device="cpu", random_state=0).fit(X)
    >>> display = FeatureErrorDisplay.from_estimator(detector, X, row=0)
    >>> str(display.features_[0])
    'x3'
    """

    def __init__(self, errors, *, feature_names=None, row=None):
        self.errors = errors
        self.feature_names = feature_names
        self.row = row

    def plot(self, ax=None, *, max_features=20, **barh_kwargs):
        """Plot the bars.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        max_features : int, default=20
            Show the features with the largest errors, at most this many.

        **barh_kwargs : dict
            Keyword arguments passed to ``ax.barh``.

        Returns
        -------
        display : FeatureErrorDisplay
            The display, with its artists stored.
        """
        errors = column_or_1d(self.errors)
        names = self.feature_names
        if names is None:
            names = [f"x{j}" for j in range(errors.shape[0])]
        names = np.asarray(names, dtype=object).astype(str)
        check_consistent_length(errors, names)
        if not (isinstance(max_features, Integral) and max_features >= 1):
            raise ValueError(
                f"max_features must be a positive integer; got {max_features!r}."
            )
        order = np.argsort(-errors, kind="stable")[:max_features]
        ax, self.figure_ = _get_axes(ax, "FeatureErrorDisplay.plot")
        positions = np.arange(order.size)[::-1]
        self.bars_ = ax.barh(positions, errors[order], **barh_kwargs)
        ax.set_yticks(positions, names[order])
        ax.axvline(0.0, color="k", linewidth=0.8)
        title = "per-feature error"
        if self.row is not None:
            title += f" of row {self.row}"
        ax.set(xlabel="share of the outlier score (-score_samples)", title=title)
        self.features_ = names[order]
        self.ax_ = ax
        return self

    @classmethod
    def from_estimator(cls, estimator, X, *, row=0, max_features=20, ax=None, **kw):
        """Plot the per-feature errors of row ``row`` of ``X``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~skae.AutoencoderOutlierDetector`, or a Pipeline
            ending in one: its first steps transform ``X`` and the bars are
            the detector's features (named by the steps'
            ``get_feature_names_out`` where they have it, as after a
            ``StandardScaler``).

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data holding the row; a DataFrame's column names label the bars.

        row : int, default=0
            Position of the row in ``X``.

        max_features : int, default=20
            Show the features with the largest errors, at most this many.

        ax : matplotlib.axes.Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        **kw : dict
            Keyword arguments passed to ``ax.barh``.

        Returns
        -------
        display : FeatureErrorDisplay
            The display, with its artists stored.
        """
        detector = _check_estimator(estimator, f"{cls.__name__}.from_estimator")
        if not hasattr(detector, "feature_errors"):
            raise TypeError(
                f"{cls.__name__} needs an estimator with feature_errors (an "
                f"AutoencoderOutlierDetector); got {detector!r}."
            )
        n_rows = _num_samples(X)
        if not (isinstance(row, Integral) and -n_rows <= row < n_rows):
            raise ValueError(f"row must be an integer position in X; got {row!r}.")
        rows = _safe_indexing(X, [int(row)])
        names = getattr(X, "columns", None)
        if isinstance(estimator, Pipeline) and len(estimator) > 1:
            head = estimator[:-1]
            rows = head.transform(rows)
            names = (
                head.get_feature_names_out()
                if hasattr(head, "get_feature_names_out")
                else None
            )
        else:
            names = getattr(detector, "feature_names_in_", None)
        display = cls(
            detector.feature_errors(rows)[0],
            feature_names=None if names is None else np.asarray(names),
            row=row,
        )
        return display.plot(ax=ax, max_features=max_features, **kw)
