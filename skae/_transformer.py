"""AutoencoderTransformer: an autoencoder's bottleneck as features."""

import weakref

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._backend import keras
from ._base import BaseAutoencoder, fill_doc
from ._data import plain_rows
from ._training import predict

__all__ = ["AutoencoderTransformer"]


@fill_doc(
    n_components_default=2,
    n_components_note=(
        "2 gives a plottable embedding; for features feeding a model, choose it\n"
        "        from ``explained_variance_fraction_`` over a range of widths or\n"
        "        search it on the model's accuracy (see the user guide). A value\n"
        "        not smaller than the number of features triggers a warning: such\n"
        "        a bottleneck does not compress."
    ),
)
class AutoencoderTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseAutoencoder
):
    """Autoencoder whose bottleneck is used as features, like a non-linear PCA.

    A Keras encoder maps each row to ``n_components`` features; a mirrored
    decoder maps them back. Both are trained to minimise the reconstruction
    ``loss``. ``transform`` returns the encoder's output and
    ``inverse_transform`` the decoder's, so the transformer can stand wherever
    :class:`~sklearn.decomposition.PCA` does: in a
    :class:`~sklearn.pipeline.Pipeline`, a
    :class:`~sklearn.pipeline.FeatureUnion`, or tuned by
    :class:`~sklearn.model_selection.GridSearchCV` (``score`` is minus the mean
    reconstruction error, so no labels are needed).

    Neural networks train best on standardised inputs: put a
    :class:`~sklearn.preprocessing.StandardScaler` (or ``MinMaxScaler`` with
    ``loss="binary_crossentropy"``) in front.

    Parameters
    ----------
    {common_parameters}

    Attributes
    ----------
    explained_variance_fraction_ : float
        Fraction of the training data's variance the reconstruction keeps:
        ``1 - SSE / SST``, the squared reconstruction error summed over rows
        and features over the squared deviations from the feature means. For
        PCA with ``k`` components this is
        ``explained_variance_ratio_.cumsum()[k - 1]``; fitting a range of
        ``n_components`` gives the same curve for the autoencoder.

    {common_attributes}

    See Also
    --------
    DenoisingAutoencoder : Trained to reconstruct clean data from corrupted input.
    AutoencoderOutlierDetector : Flags rows the autoencoder reconstructs badly.
    sklearn.decomposition.PCA : The linear counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import AutoencoderTransformer
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> ae = AutoencoderTransformer(n_components=8, random_state=0)
    >>> Z = ae.fit_transform(X)
    >>> Z.shape
    (1797, 8)
    >>> ae.init_, ae.hidden_layer_sizes_, ae.epochs_
    ('pca', (128,), 20)
    >>> bool(ae.explained_variance_fraction_ > 0.75)
    True
    >>> ae.inverse_transform(Z).shape
    (1797, 64)
    >>> ae.get_feature_names_out()[:3]
    array(['autoencodertransformer0', 'autoencodertransformer1',
           'autoencodertransformer2'], dtype=object)
    """

    def _after_fit(self, X, sample_weight=None):
        self.explained_variance_fraction_ = _explained_variance_fraction(
            X, predict(self._model, X, device=self.device_, reduce=_squared_error)
        )

    def transform(self, X):
        """Encode ``X``: the bottleneck activations.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Encoded data, float32 for float32 input and float64 otherwise.
        """
        X = self._validate_for_inference(X)
        return self._encode(X)

    def inverse_transform(self, X):
        """Decode bottleneck features back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Encoded data, e.g. from ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            Reconstructions, float32 for float32 input and float64 otherwise.
        """
        if "encoder_" in vars(self) and plain_rows(X, self._n_features_out):
            return self._decode(X)  # what check_array would return: X
        check_is_fitted(self)
        X = check_array(X, dtype=[np.float64, np.float32])
        if X.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {X.shape[1]} features, but inverse_transform expects "
                f"{self._n_features_out} (the bottleneck width)."
            )
        return self._decode(X)

    @property
    def _n_features_out(self):
        """Number of features ``transform`` returns (for feature names)."""
        return _code_width(self.encoder_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _code_width(encoder):
    """The width of ``encoder``'s output, cached per model: Keras works a
    functional model's ``output_shape`` out anew on every read, which costs as
    much as decoding one row."""
    width = _CODE_WIDTHS.get(encoder)
    if width is None:
        width = _CODE_WIDTHS[encoder] = int(encoder.output_shape[-1])
    return width


_CODE_WIDTHS = weakref.WeakKeyDictionary()


def _squared_error(x, reconstruction):
    """Squared reconstruction error of each row, summed over the features."""
    return keras.ops.sum(keras.ops.square(x - reconstruction), axis=-1)


def _explained_variance_fraction(X, row_errors):
    """``1 - SSE / SST`` of ``X`` given the squared error of each row."""
    n_samples = X.shape[0]
    mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    if sp.issparse(X):
        total = float(X.multiply(X).sum())
    else:  # by blocks of rows: no copy of X
        total = sum(
            float(np.square(X[i : i + 4096], dtype=np.float64).sum())
            for i in range(0, n_samples, 4096)
        )
    sst = total - n_samples * float(mean @ mean)
    sse = float(np.sum(row_errors, dtype=np.float64))
    return 1.0 - sse / sst if sst > 0 else 0.0
