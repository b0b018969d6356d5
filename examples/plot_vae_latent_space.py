"""
=======================================================
A variational autoencoder's 2-D latent space of digits
=======================================================

A :class:`~skae.VariationalAutoencoder` with ``n_components=2`` maps each
digit to a Gaussian in the plane, kept close to the standard normal prior by
the KL term of its loss. :class:`~skae.plotting.LatentSpaceDisplay` draws the
posterior means (``transform``) coloured by the digit, which the network was
never told. Decoding points of the plane (``inverse_transform``) or draws from
the prior (``sample``) gives new images.
"""

# %%
import skae  # noqa: F401  (import skae before keras: it selects the torch backend)

# isort: split
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.datasets import load_digits

from skae import VariationalAutoencoder
from skae.plotting import LatentSpaceDisplay

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1], for the Bernoulli likelihood

vae = VariationalAutoencoder(
    n_components=2,
    beta=1.0,
    loss="binary_crossentropy",
    epochs=60,
    random_state=0,
).fit(X)

# %%
# The latent space
# ----------------
#
# Digits of one class gather in one region, and the regions fill a disc around
# the origin: the prior is a standard normal.
display = LatentSpaceDisplay.from_estimator(vae, X, y, s=10, alpha=0.8)
display.ax_.set_title("VariationalAutoencoder(n_components=2) on digits")
display.figure_.set_size_inches(6, 5)
display.figure_.tight_layout()

# %%
# New digits
# ----------
#
# :meth:`~skae.VariationalAutoencoder.sample` decodes draws from the prior.
samples = vae.sample(32, random_state=0)
fig, axes = plt.subplots(4, 8, figsize=(6, 3.2))
for image, ax in zip(samples, axes.ravel(), strict=True):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
fig.suptitle("vae.sample(32)")

# %%
# Decoding a grid of the plane, at evenly spaced quantiles of the prior, shows
# how one digit turns into another across the latent space.
quantiles = norm.ppf(np.linspace(0.05, 0.95, 10))
grid = np.array([[a, b] for b in quantiles[::-1] for a in quantiles])
images = vae.inverse_transform(grid)
fig, axes = plt.subplots(10, 10, figsize=(5, 5))
for image, ax in zip(images, axes.ravel(), strict=True):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
fig.suptitle("inverse_transform of a 10 x 10 grid of the latent plane")

# %%
# The score
# ---------
#
# With ``loss="binary_crossentropy"``, ``score_samples`` is each row's evidence
# lower bound (ELBO, in nats), and ``score`` its mean: a higher score means a
# better model of the data. ``history_`` has both terms of the training loss.
print(f"mean ELBO: {vae.score(X):.1f} nats per image")
print(
    f"last epoch: reconstruction {vae.history_['reconstruction_loss'][-1]:.1f}"
    f" + KL {vae.history_['kl_loss'][-1]:.2f}"
)
