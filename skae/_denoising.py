"""DenoisingAutoencoder: trained to undo corruption of its input."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions

from ._backend import torch
from ._base import fill_doc
from ._noise import NOISE_KINDS, corrupt
from ._transformer import AutoencoderTransformer

__all__ = ["DenoisingAutoencoder"]


@fill_doc(
    n_components_default=32,
    n_components_note=(
        "Unlike a plain autoencoder, a denoising one may be overcomplete\n"
        "        (``n_components >= n_features``): the noise, not the bottleneck,\n"
        "        stops it from learning the identity."
    ),
)
class DenoisingAutoencoder(AutoencoderTransformer):
    """Autoencoder trained to reconstruct clean data from corrupted input.

    Every training batch is corrupted afresh (``noise`` at ``noise_level``) and
    the network learns to map it back to the clean rows. Apply it to noisy data
    with ``inverse_transform(transform(X_noisy))``; ``transform`` gives features
    that are robust to such noise. Validation rows (see ``validation_fraction``)
    are corrupted once, so ``val_loss`` measures denoising.

    Parameters
    ----------
    noise : {{"gaussian", "masking", "salt_and_pepper"}}, default="gaussian"
        Corruption of the training inputs: "gaussian" adds
        ``noise_level * N(0, 1)``; "masking" zeroes each entry with probability
        ``noise_level``; "salt_and_pepper" sets each entry with probability
        ``noise_level`` to its feature's training minimum or maximum (half
        each).

    noise_level : float, default=0.2
        Standard deviation of the gaussian noise, or the fraction of entries
        masked / salted (then it must be below 1).

    {common_parameters}

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    AutoencoderTransformer : The same model trained on clean inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> X = load_digits().data / 16.0
    >>> noisy = np.clip(X + np.random.default_rng(0).normal(0, 0.3, X.shape), 0, 1)
    >>> dae = DenoisingAutoencoder(noise_level=0.3, epochs=20, random_state=0)
    >>> denoised = dae.fit(X).inverse_transform(dae.transform(noisy))
    >>> bool(((denoised - X) ** 2).mean() < ((noisy - X) ** 2).mean())
    True
    """

    _parameter_constraints: dict = {
        **AutoencoderTransformer._parameter_constraints,
        "noise": [StrOptions(set(NOISE_KINDS))],
        "noise_level": [Interval(Real, 0, None, closed="neither")],
    }

    _warn_if_overcomplete = False

    # Denoising is worth training for at any width: PCA's start does not undo
    # noise.
    _shrink_pca_budget = False

    def __init__(
        self,
        *,
        noise="gaussian",
        noise_level=0.2,
        n_components=32,
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
        self.noise = noise
        self.noise_level = noise_level

    def _corruption(self, X):
        if self.noise != "gaussian" and self.noise_level >= 1:
            raise ValueError(
                f"noise_level is the fraction of entries corrupted by "
                f"noise={self.noise!r} and must be below 1; got {self.noise_level}."
            )
        kind, level, low, high = self.noise, self.noise_level, None, None
        if kind == "salt_and_pepper":
            low, high = _column_extremes(X)

        def corrupt_batch(batch, generator):
            extremes = {}
            if low is not None:
                extremes = {"low": low.to(batch.device), "high": high.to(batch.device)}
            return corrupt(batch, kind, level, generator, **extremes)

        return corrupt_batch


def _column_extremes(X):
    """Per-feature minimum and maximum of ``X`` as float32 torch tensors."""
    low, high = X.min(axis=0), X.max(axis=0)
    if sp.issparse(low):
        low, high = low.toarray(), high.toarray()
    return (torch.as_tensor(np.ravel(v).astype(np.float32)) for v in (low, high))
