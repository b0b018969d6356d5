"""What the outlier detector's "auto" parameters resolve to, from the data's shape.

The detector's own rules, beside the shared ones of :mod:`skae._defaults`
(whose batch size it keeps). Each is a pure function of the training data's
shape, ``n_samples`` rows and ``n_features`` columns, with its reason in the
first line of its docstring. They were chosen on one half of the 20 ODDS
outlier sets and checked on the other half, then the halves swapped
(``benchmarks/outliers.py`` records every configuration tried).
"""

import math

from . import _defaults

__all__ = [
    "AUTO",
    "epochs",
    "hidden_layer_sizes",
    "max_samples",
    "n_components",
    "n_estimators",
    "resolve",
]

#: The parameters the detector resolves.
AUTO = _defaults.AUTO

#: Gradient steps a default fit takes: all members step together. Few enough
#: that the networks learn the bulk of the rows before they learn the
#: outliers among them too (``benchmarks/outliers.py``: 750 steps scored
#: best of 375 to 6,000 on either half of the ODDS sets).
STEP_BUDGET = 750

#: Weight of the KL term of the variational bottleneck skae builds.
BETA = 1.0

#: Most members of a default ensemble.
ENSEMBLE_SIZE = 10

#: Budget of ``members * n_features ** 2`` (the ensemble's weights, up to a
#: constant): data up to 100 features wide gets 10 members, wider data fewer
#: (one from 224 features), so that the 20 benchmark sets fit within minutes.
ENSEMBLE_WEIGHTS = 100_000

#: Expected fraction of the rows each member of an ensemble trains on.
MAX_SAMPLES = 0.5

#: At most this many epochs (small data), at least one (large data).
MIN_EPOCHS, MAX_EPOCHS = 1, 100


def n_components(n_features):
    """A code a quarter of the width: as the PCA baseline that scores well."""
    return max(1, math.ceil(n_features / 4))


def hidden_layer_sizes(n_features):
    """One hidden layer half the width: wider layers reconstruct outliers too."""
    return (max(1, math.ceil(n_features / 2)),)


def epochs(n_samples, batch):
    """A budget of ``STEP_BUDGET`` (750) gradient steps, within 1 to 100 epochs.

    Small data takes 100 passes, as the configuration it was chosen from;
    large data stops after a fixed number of steps, so 600,000 rows cost no
    more than a few passes.
    """
    return _defaults.epochs(
        n_samples, batch, budget=STEP_BUDGET, bounds=(MIN_EPOCHS, MAX_EPOCHS)
    )


def resolve(n_samples, n_features, **params):
    """Resolve the detector's "auto" values among ``params``.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the training data.
    **params
        Values of the parameters named in :data:`AUTO`, "auto" or explicit.

    Returns
    -------
    resolved : dict
        Every parameter of :data:`AUTO` with its value for this fit.
    """
    auto = {name: _is_auto(value) for name, value in params.items()}
    given = dict(params)
    if auto["n_components"]:
        given["n_components"] = n_components(n_features)
    if auto["hidden_layer_sizes"]:
        given["hidden_layer_sizes"] = hidden_layer_sizes(n_features)
    # The detector's networks start at random ("auto" init is "random").
    resolved = _defaults.resolve(n_samples, n_features, pca_possible=False, **given)
    if auto["epochs"]:
        resolved["epochs"] = epochs(n_samples, resolved["batch_size"])
    return resolved


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def n_estimators(n_samples, n_features):
    """Members: 10 on narrow data, fewer on wide data, where each costs more.

    Averaging members steadies the scores from seed to seed; on narrow data
    a member costs little beside the fixed cost of a training step, on wide
    data about ``n_features ** 2``: ``ENSEMBLE_WEIGHTS // n_features ** 2``
    members, between 1 and ``ENSEMBLE_SIZE``.
    """
    return max(1, min(ENSEMBLE_SIZE, ENSEMBLE_WEIGHTS // max(n_features, 1) ** 2))


def max_samples(n_estimators):
    """Half the rows per member of an ensemble, all of them for one network.

    Members that train on different rows differ more than members that differ
    by their initial weights only, and their mean is steadier from seed to
    seed (optdigits: a seed spread of 0.004 against 0.030); one network
    gains nothing from leaving rows out.
    """
    return MAX_SAMPLES if n_estimators > 1 else 1.0
