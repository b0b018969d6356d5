"""What "auto" parameters resolve to: pure functions of the data's shape.

Each rule takes the shape of the training data (``n_samples`` rows,
``n_features`` columns) and the bottleneck width ``n_components``, and returns
a size or a training budget, with the reason for the rule in its docstring's
first line. :func:`resolve` applies them to the parameters a user left at
"auto"; the estimators call it once per ``fit`` (through
``BaseAutoencoder._resolve_params``) and store the results as fitted
attributes (``hidden_layer_sizes_``, ``epochs_``, ...).

The rules were chosen by measurement (``benchmarks/ae_vs_pca.py``), choosing
on one half of the data sets and reporting on the other.
"""

import math

__all__ = ["AUTO", "batch_size", "epochs", "hidden_layer_sizes", "resolve"]

#: The parameters :func:`resolve` knows how to resolve, in resolution order
#: (later rules may depend on earlier results).
AUTO = ("n_components", "hidden_layer_sizes", "batch_size", "epochs")

#: Largest batch: scikit-learn's MLP default.
MAX_BATCH = 200

#: Gradient steps a default fit may take (before early stopping ends it).
STEP_BUDGET = 2_000

#: Bounds on the number of epochs, whatever the data's size.
MIN_EPOCHS, MAX_EPOCHS = 10, 200

#: Bounds on the width of the hidden layer.
MIN_WIDTH, MAX_WIDTH = 32, 256


def batch_size(n_samples):
    """Rows per step: scikit-learn's MLP rule, ``min(200, n_samples)``."""
    return max(1, min(MAX_BATCH, n_samples))


def epochs(n_samples, batch):
    """Epochs: a budget in gradient steps, so small and large data train alike.

    ``STEP_BUDGET`` steps of ``batch`` rows, but at least ``MIN_EPOCHS`` passes
    (tiny data still sees every row several times) and at most ``MAX_EPOCHS``.
    """
    steps_per_epoch = math.ceil(max(n_samples, 1) / batch)
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(STEP_BUDGET / steps_per_epoch)))


def hidden_layer_sizes(n_features, n_components):
    """One hidden layer twice as wide as the wider of input and code, bounded.

    Wide enough to represent what the code keeps of the input, not so wide
    that small data overfits or wide data trains slowly.
    """
    width = 2 * max(n_features, n_components)
    return (min(MAX_WIDTH, max(MIN_WIDTH, width)),)


def resolve(n_samples, n_features, **params):
    """Resolve the "auto" values among ``params`` for data of this shape.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the training data (all of it, before any validation split).
    **params
        Values of the parameters named in :data:`AUTO`, "auto" or explicit;
        all of them must be given.

    Returns
    -------
    resolved : dict
        Every parameter of :data:`AUTO` with its value for this fit: the given
        value where it is explicit, the rule's otherwise.
    """
    missing = set(AUTO) - set(params)
    if missing:
        raise TypeError(f"resolve() needs values for {sorted(missing)}.")
    resolved = {}
    for name in AUTO:
        value = params[name]
        if isinstance(value, str) and value == "auto":
            value = _RULES[name](n_samples, n_features, resolved)
        resolved[name] = value
    return resolved


def _no_rule(name):
    def fail(n_samples, n_features, resolved):
        raise ValueError(
            f'{name}="auto" has no rule for this estimator; give {name} a value.'
        )

    return fail


_RULES = {
    "n_components": _no_rule("n_components"),
    "hidden_layer_sizes": lambda n, d, r: hidden_layer_sizes(d, r["n_components"]),
    "batch_size": lambda n, d, r: batch_size(n),
    "epochs": lambda n, d, r: epochs(n, r["batch_size"]),
}
