"""Start a dense autoencoder at PCA's solution.

The code layer of a dense network built with ``linear_path=True`` (see
:func:`skae._networks.build_autoencoder`) reads the input beside the last
hidden layer, and the reconstruction layer reads the code beside the decoder's
last hidden layer. :func:`initialise_linear_path` sets the weights from the
input (from the code) to PCA's components and the weights from the hidden
layers to zero: the untrained autoencoder then *is* PCA (its code is PCA's
``transform``, its reconstruction PCA's ``inverse_transform``, with a linear
output), and training starts at PCA's reconstruction error and learns the
non-linear correction.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA

__all__ = ["initialise_linear_path"]


def initialise_linear_path(encoder, decoder, X, seed=None):
    """Set the code and reconstruction layers to PCA of ``X``.

    With ``k`` code units and ``m = min(k, n_samples, n_features)`` principal
    components (one fewer for sparse ``X``, which ARPACK needs), the code
    layer computes ``(x - mean) @ V`` and the reconstruction layer ``z @ V.T +
    mean`` (before its activation), ``V`` holding the ``m`` components as
    columns followed by ``k - m`` zero columns. Only dense networks built by
    skae have these layers: returns False (and changes nothing) otherwise.
    """
    names = {layer.name for layer in encoder.layers}
    code_name = "z_mean" if "z_mean" in names else "bottleneck"
    if code_name not in names:
        return False
    code = encoder.get_layer(code_name)
    reconstruction = decoder.get_layer("reconstruction")
    n_features = X.shape[1]
    n_components = int(code.kernel.shape[1])
    if code.kernel.shape[0] < n_features or reconstruction.kernel.shape[1] != (
        n_features
    ):
        return False
    n_pca = min(n_components, *X.shape) - int(sp.issparse(X))
    components = np.zeros((n_features, n_components))
    mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    if n_pca >= 1:
        pca = PCA(n_components=n_pca, random_state=seed).fit(X)
        components[:, :n_pca] = pca.components_.T
        mean = pca.mean_
    code_kernel = np.zeros(tuple(code.kernel.shape))
    code_kernel[:n_features] = components
    code.kernel.assign(code_kernel)
    code.bias.assign(-mean @ components)
    out_kernel = np.zeros(tuple(reconstruction.kernel.shape))
    out_kernel[:n_components] = components.T
    reconstruction.kernel.assign(out_kernel)
    reconstruction.bias.assign(mean)
    return True
