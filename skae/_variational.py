"""VariationalAutoencoder: a probabilistic latent space you can sample from."""

from numbers import Integral, Real

from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from ._base import fill_doc
from ._transformer import AutoencoderTransformer

__all__ = ["VariationalAutoencoder"]


@fill_doc(
    n_components_default=2,
    n_components_note="The dimension of the latent space.",
)
class VariationalAutoencoder(AutoencoderTransformer):
    """Variational autoencoder: a probabilistic latent space.

    The encoder maps each row to a Gaussian over the latent space (a mean and
    a log-variance); training samples from it (the reparameterisation trick)
    and minimises the reconstruction loss plus ``beta`` times the KL divergence
    of that Gaussian from the standard normal prior, which keeps the latent
    space smooth and centred, so that decoding draws from the prior gives new
    data (:meth:`sample`).

    ``transform`` returns the posterior mean; ``inverse_transform`` decodes
    latent points. The reconstruction term is the ``loss`` summed over the
    features of a row: with ``loss="binary_crossentropy"`` (data in [0, 1]) it
    is the Bernoulli negative log-likelihood, so ``score_samples`` is the
    evidence lower bound (ELBO) of each row; with ``"mse"`` it is a Gaussian
    log-likelihood up to a scale and a constant.

    Parameters
    ----------
    beta : float, default=1.0
        Weight of the KL term in training. Above 1 gives a more regular,
        disentangled latent space at the cost of reconstructions (a beta-VAE).

    {common_parameters}

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    AutoencoderTransformer : A deterministic bottleneck.

    Notes
    -----
    ``history_`` holds ``loss`` (reconstruction plus ``beta`` times KL, per
    row), ``reconstruction_loss`` and ``kl_loss`` for every epoch (with
    ``val_`` copies when validating). ``score_samples`` evaluates the
    reconstruction term at the posterior mean, which makes it deterministic:
    ``-(reconstruction_loss + kl_loss)`` of each row, with the KL unweighted.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> X = load_digits().data / 16.0
    >>> vae = VariationalAutoencoder(
    ...     n_components=2, loss="binary_crossentropy", epochs=5, random_state=0
    ... ).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 2)
    >>> vae.sample(4, random_state=0).shape
    (4, 64)
    >>> sorted(vae.history_)
    ['kl_loss', 'loss', 'reconstruction_loss']
    """

    _parameter_constraints: dict = {
        **AutoencoderTransformer._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    _ARCHITECTURE = (*AutoencoderTransformer._ARCHITECTURE, "beta")

    def __init__(
        self,
        *,
        beta=1.0,
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
        self.beta = beta

    def _build_networks(self, n_features, seed):
        return self._networks(n_features, seed, beta=self.beta)

    @validate_params(
        {
            "n_samples": [Interval(Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
        },
        prefer_skip_nested_validation=True,
    )
    def sample(self, n_samples=1, random_state=None):
        """Generate new rows: decode draws from the standard normal prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the latent draws.

        Returns
        -------
        X : ndarray of shape (n_samples, `n_features_in_`), dtype float64
            Decoded samples (the decoder's mean).
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)
        z = rng.standard_normal((int(n_samples), self._n_features_out))
        return self._decode(z)
