"""AutoencoderOutlierDetector: outliers are the rows reconstructed worst."""

from numbers import Real

import numpy as np
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoencoder, fill_doc

__all__ = ["AutoencoderOutlierDetector"]

#: Interquartile ranges above the upper quartile where "auto" draws the line.
TUKEY_FENCE = 1.5


@fill_doc(
    n_components_default=2,
    n_components_note=(
        "Keep it well below the number of features: a bottleneck that does not\n"
        "        compress reconstructs outliers as well as inliers (a warning says\n"
        "        so)."
    ),
)
class AutoencoderOutlierDetector(OutlierMixin, BaseAutoencoder):
    """Unsupervised outlier detection by autoencoder reconstruction error.

    The autoencoder learns to reconstruct the bulk of the training data through
    a narrow bottleneck; rows it reconstructs badly are unlike that bulk. The
    interface is scikit-learn's, as in
    :class:`~sklearn.ensemble.IsolationForest`: ``score_samples`` is minus the
    reconstruction error (higher is more normal), ``decision_function`` is
    ``score_samples(X) - offset_`` (negative for outliers) and ``predict``
    returns +1 for inliers and -1 for outliers.

    Standardise the data first (e.g. with ``StandardScaler`` in a
    ``Pipeline``), so every feature counts in the error.

    Parameters
    ----------
    contamination : "auto" or float in (0, 0.5], default="auto"
        Expected proportion of outliers in the training data; it only sets the
        threshold ``offset_``, never the training.

        - float: ``offset_`` is the ``contamination`` quantile of the training
          scores, so that fraction of the training rows is predicted -1.
        - "auto": no fraction is assumed. ``offset_`` is set by the boxplot
          rule (Tukey's fence) on the training reconstruction errors: a row is
          an outlier when its error exceeds ``Q3 + 1.5 * (Q3 - Q1)``, the
          upper quartile plus 1.5 interquartile ranges. Quartiles are not moved
          by the outliers themselves (up to a quarter of the data), unlike a
          mean and standard deviation, and the rule assumes nothing about the
          errors' distribution or the outlier fraction. On well-behaved data
          it flags a few percent of the rows (0.7 % for normal errors, about
          5 % for exponential ones; 0.5 to 8.1 % on the 20 outlier benchmark
          sets). With more than about a quarter of outliers the quartiles
          move and "auto" flags far fewer rows than there are; set a float
          when the expected proportion is known.

    beta : float or None, default=None
        If set, the bottleneck is variational, as in
        :class:`VariationalAutoencoder` with this weight on the KL term, and
        ``score_samples`` is minus each row's negative ELBO (its reconstruction
        loss summed over features plus its KL term) instead of its mean
        reconstruction error.

    {common_parameters}

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` subtracts it, so
        rows scoring below it are outliers.

    {common_attributes}

    See Also
    --------
    sklearn.ensemble.IsolationForest : Tree-based outlier detection.
    AutoencoderTransformer : The same network used for features.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> inliers = rng.normal(size=(300, 2)) @ [[1.0, 1.0, 0.5, 0.0],
    ...                                        [0.0, 1.0, -1.0, 1.0]]
    >>> outliers = rng.uniform(-4, 4, size=(5, 4))
    >>> X = np.vstack([inliers, outliers])
    >>> detector = AutoencoderOutlierDetector(
    ...     contamination=5 / 305, epochs=50, random_state=0).fit(X)
    >>> detector.predict(X[-5:])
    array([-1, -1, -1, -1, -1])
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "beta": [None, Interval(Real, 0, None, closed="left")],
    }

    _ARCHITECTURE = (*BaseAutoencoder._ARCHITECTURE, "beta")

    def __init__(
        self,
        *,
        contamination="auto",
        beta=None,
        n_components=2,
        hidden_layer_sizes="auto",
        init="auto",
        activation="relu",
        output_activation="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=0.001,
        epochs="auto",
        batch_size="auto",
        dropout="auto",
        l2=0.0,
        clipnorm=None,
        metrics=None,
        callbacks=None,
        early_stopping=False,
        validation_fraction=None,
        patience=10,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        image_shape=None,
        encoder=None,
        decoder=None,
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            init=init,
            activation=activation,
            output_activation=output_activation,
            loss=loss,
            optimizer=optimizer,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            dropout=dropout,
            l2=l2,
            clipnorm=clipnorm,
            metrics=metrics,
            callbacks=callbacks,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            image_shape=image_shape,
            encoder=encoder,
            decoder=decoder,
        )
        self.contamination = contamination
        self.beta = beta

    def _build_networks(self, n_features, seed):
        return self._networks(n_features, seed, beta=self.beta)

    def _after_fit(self, X):
        scores = -self._reconstruction_errors(X)
        if self.contamination == "auto":
            self.offset_ = auto_offset(scores)
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def decision_function(self, X):
        """Signed outlier score: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Predict whether each row is an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int
            +1 where ``decision_function(X) >= 0``, else -1.
        """
        decision = self.decision_function(X)
        labels = np.ones(decision.shape[0], dtype=int)
        labels[decision < 0] = -1
        return labels


def auto_offset(scores):
    """The "auto" threshold: Tukey's upper fence on the errors, as a score.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Training scores, minus the reconstruction errors.

    Returns
    -------
    offset : float
        ``-(Q3 + 1.5 * IQR)`` of the errors ``-scores``.
    """
    q1, q3 = np.percentile(-scores, [25, 75])
    return float(-(q3 + TUKEY_FENCE * (q3 - q1)))
