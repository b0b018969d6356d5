"""AutoencoderTransformer: an autoencoder's bottleneck as features."""

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import BaseAutoencoder, fill_doc

__all__ = ["AutoencoderTransformer"]


@fill_doc(
    n_components_default=2,
    n_components_note=(
        "2 gives a plottable embedding; for features feeding a model, tune it\n"
        "        (e.g. with ``GridSearchCV``). A value not smaller than the number of\n"
        "        features triggers a warning: such a bottleneck does not compress."
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
    >>> ae = AutoencoderTransformer(n_components=8, epochs=5, random_state=0)
    >>> Z = ae.fit_transform(X)
    >>> Z.shape
    (1797, 8)
    >>> ae.inverse_transform(Z).shape
    (1797, 64)
    >>> ae.get_feature_names_out()[:3]
    array(['autoencodertransformer0', 'autoencodertransformer1',
           'autoencodertransformer2'], dtype=object)
    """

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
        return int(self.encoder_.output_shape[-1])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
