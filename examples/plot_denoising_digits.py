"""
================
Denoising digits
================

A :class:`~skae.DenoisingAutoencoder` is trained on clean images, each
training batch corrupted afresh, to give back the clean image. Applied to noisy
images (``inverse_transform(transform(X_noisy))``), it removes most of the
noise. :class:`~skae.plotting.ReconstructionDisplay` shows noisy test images
above their denoised versions.
"""

# %%
import skae  # noqa: F401  (import skae before keras: it selects the torch backend)

# isort: split
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae.plotting import ReconstructionDisplay

X = load_digits().data / 16.0  # pixels in [0, 1]
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)

rng = np.random.default_rng(0)
X_noisy = np.clip(X_test + rng.normal(scale=0.3, size=X_test.shape), 0, 1)

denoiser = DenoisingAutoencoder(
    noise="gaussian",
    noise_level=0.3,
    loss="binary_crossentropy",  # data in [0, 1]: a sigmoid output layer
    epochs=100,
    random_state=0,
).fit(X_train)
denoised = denoiser.inverse_transform(denoiser.transform(X_noisy))

# %%
# Top row: the noisy inputs; bottom row: what the denoiser makes of them. The
# colour scale is the noisy images' own, for both rows.
display = ReconstructionDisplay.from_estimator(denoiser, X_noisy, n_images=8)
display.axes_[0, 0].set_ylabel("noisy")
display.axes_[1, 0].set_ylabel("denoised")

# %%
# The same originals, clean, above the denoised images:
display = ReconstructionDisplay(X_test[:8], denoised[:8]).plot()
display.axes_[0, 0].set_ylabel("clean")
display.axes_[1, 0].set_ylabel("denoised")

# %%
# How close to the clean test images? A plain
# :class:`~skae.AutoencoderTransformer` of the same shape, trained on clean
# data only, reconstructs the noisy inputs less well: it never learnt to
# ignore noise.
plain = AutoencoderTransformer(
    n_components=32, loss="binary_crossentropy", epochs=100, random_state=0
).fit(X_train)
print(f"{'':>28}mean squared error to the clean images")
for name, images in [
    ("noisy input", X_noisy),
    ("plain autoencoder", plain.inverse_transform(plain.transform(X_noisy))),
    ("denoising autoencoder", denoised),
]:
    print(f"{name:>28}: {np.mean((images - X_test) ** 2):.4f}")

# %%
# Other kinds of noise
# --------------------
#
# ``noise="masking"`` zeroes a fraction ``noise_level`` of the pixels and
# ``noise="salt_and_pepper"`` sets them to their feature's training minimum or
# maximum. Train with the kind of corruption the data will have: here, a
# denoiser trained with masking fills in images with 40 % of their pixels
# missing.
masked = X_test * (rng.random(X_test.shape) >= 0.4)
inpainter = DenoisingAutoencoder(
    noise="masking",
    noise_level=0.4,
    loss="binary_crossentropy",
    epochs=100,
    random_state=0,
).fit(X_train)
display = ReconstructionDisplay.from_estimator(inpainter, masked, n_images=8)
display.axes_[0, 0].set_ylabel("40 % masked")
display.axes_[1, 0].set_ylabel("filled in")
filled = inpainter.inverse_transform(inpainter.transform(masked))
print(f"masked input: {np.mean((masked - X_test) ** 2):.4f}")
print(f"filled in:    {np.mean((filled - X_test) ** 2):.4f}")
