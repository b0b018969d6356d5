"""Input corruption for denoising autoencoders.

Pure torch functions of a batch and a :class:`torch.Generator`, so the noise is
drawn on the device the batch lives on, afresh for every batch, and reproducibly
from the estimator's seed without touching torch's global RNG.
"""

from ._backend import torch

__all__ = ["NOISE_KINDS", "corrupt"]

NOISE_KINDS = ("gaussian", "masking", "salt_and_pepper")


def corrupt(x, kind, level, generator, *, low=None, high=None):
    """Return a corrupted copy of the batch ``x``.

    Parameters
    ----------
    x : torch.Tensor of shape (n_samples, n_features)
        Clean batch; it is not modified.
    kind : {"gaussian", "masking", "salt_and_pepper"}
        ``"gaussian"`` adds ``level * N(0, 1)`` noise; ``"masking"`` sets each
        entry to 0 with probability ``level``; ``"salt_and_pepper"`` sets each
        entry with probability ``level`` to ``low`` or ``high`` (half each).
    level : float
        Standard deviation (gaussian) or the fraction of entries corrupted.
    generator : torch.Generator
        On the same device as ``x``.
    low, high : torch.Tensor of shape (n_features,), default=None
        Pepper and salt values for ``"salt_and_pepper"``, usually the per-feature
        minimum and maximum of the training data; 0 and 1 when omitted.

    Returns
    -------
    torch.Tensor of the same shape and dtype as ``x``.
    """
    if kind == "gaussian":
        noise = torch.randn(
            x.shape, generator=generator, device=x.device, dtype=x.dtype
        )
        return x + level * noise
    draw = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    if kind == "masking":
        return x * (draw >= level)
    if kind == "salt_and_pepper":
        low = torch.zeros((), dtype=x.dtype, device=x.device) if low is None else low
        high = torch.ones((), dtype=x.dtype, device=x.device) if high is None else high
        # One uniform draw decides both whether an entry is hit (draw < level)
        # and which way (the lower half of the hit range is pepper).
        salt_or_pepper = torch.where(draw < level / 2, low, high)
        return torch.where(draw < level, salt_or_pepper, x)
    raise ValueError(f"noise must be one of {NOISE_KINDS}; got {kind!r}.")
