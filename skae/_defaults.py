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

__all__ = [
    "AUTO",
    "batch_size",
    "epochs",
    "hidden_layer_sizes",
    "pca_epochs",
    "resolve",
]

#: The parameters :func:`resolve` knows how to resolve, in resolution order
#: (later rules may depend on earlier results).
AUTO = (
    "n_components",
    "init",
    "dropout",
    "hidden_layer_sizes",
    "batch_size",
    "epochs",
)

#: Largest batch: scikit-learn's MLP default.
MAX_BATCH = 200

#: Gradient steps a default fit may take (before early stopping ends it).
STEP_BUDGET = 2_000

#: Bounds on the number of epochs, whatever the data's size.
MIN_EPOCHS, MAX_EPOCHS = 10, 200

#: Gradient steps of a default fit started at PCA, where the code is narrow.
PCA_STEP_BUDGET = 600

#: Most passes over the data of a fit started at PCA.
PCA_MAX_EPOCHS = 20

#: A fit started at PCA trains less as the code widens, and not at all from a
#: code this fraction of the features wide.
PCA_KEEP_FRACTION = 0.25

#: Dropout of the hidden layers in a fit started at PCA.
PCA_DROPOUT = 0.1

#: Bounds on the width of the hidden layer.
MIN_WIDTH, MAX_WIDTH = 32, 256


def batch_size(n_samples):
    """Rows per step: scikit-learn's MLP rule, ``min(200, n_samples)``."""
    return max(1, min(MAX_BATCH, n_samples))


def epochs(n_samples, batch, *, budget=None, bounds=None):
    """Epochs: a budget in gradient steps, so small and large data train alike.

    ``budget`` steps (default ``STEP_BUDGET``) of ``batch`` rows, but at least
    ``bounds[0]`` passes (tiny data still sees every row several times) and at
    most ``bounds[1]`` (default ``(MIN_EPOCHS, MAX_EPOCHS)``).
    """
    budget = STEP_BUDGET if budget is None else budget
    low, high = (MIN_EPOCHS, MAX_EPOCHS) if bounds is None else bounds
    steps_per_epoch = math.ceil(max(n_samples, 1) / batch)
    return min(high, max(low, math.ceil(budget / steps_per_epoch)))


def pca_epochs(n_samples, n_features, n_components, batch, *, shrink=True):
    """Epochs from PCA's solution: fewer as the code keeps more of the data.

    A narrow code leaves much for the non-linear layers to learn; a code a
    quarter of the features wide (``PCA_KEEP_FRACTION``) keeps PCA's solution,
    which training then only degraded as features. The budget is
    ``PCA_STEP_BUDGET * (1 - n_components / (n_features * PCA_KEEP_FRACTION))``
    gradient steps, at most ``PCA_MAX_EPOCHS`` passes (small tables overfit),
    and may be 0: the fitted autoencoder is then PCA. ``shrink=False`` keeps
    the whole budget whatever the width (a denoising autoencoder learns to
    undo noise, which PCA's solution does not do).
    """
    share = 1 - n_components / (n_features * PCA_KEEP_FRACTION) if shrink else 1.0
    steps = PCA_STEP_BUDGET * max(0.0, share)
    steps_per_epoch = math.ceil(max(n_samples, 1) / batch)
    return min(PCA_MAX_EPOCHS, math.ceil(steps / steps_per_epoch))


def hidden_layer_sizes(n_features, n_components):
    """One hidden layer twice as wide as the wider of input and code, bounded.

    Wide enough to represent what the code keeps of the input, not so wide
    that small data overfits or wide data trains slowly.
    """
    width = 2 * max(n_features, n_components)
    return (min(MAX_WIDTH, max(MIN_WIDTH, width)),)


def resolve(n_samples, n_features, *, pca_possible=True, shrink=True, **params):
    """Resolve the "auto" values among ``params`` for data of this shape.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the training data (all of it, before any validation split).
    pca_possible : bool, default=True
        Whether the network starts at PCA by default (a dense network that
        skae builds and sizes, without a variational bottleneck): "auto"
        ``init`` is "pca" if so, "random" otherwise.
    shrink : bool, default=True
        Whether the budget from PCA shrinks as the code widens
        (:func:`pca_epochs`).
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
            value = _RULES[name](n_samples, n_features, resolved, shrink)
            if name == "init" and not pca_possible:
                value = "random"
        resolved[name] = value
    return resolved


def _no_rule(name):
    def fail(n_samples, n_features, resolved, shrink):
        raise ValueError(
            f'{name}="auto" has no rule for this estimator; give {name} a value.'
        )

    return fail


_RULES = {
    "n_components": _no_rule("n_components"),
    "init": lambda n, d, r, s: "pca",
    # Regularises the non-linear correction to PCA; a random start keeps none.
    "dropout": lambda n, d, r, s: PCA_DROPOUT if r["init"] == "pca" else 0.0,
    "hidden_layer_sizes": lambda n, d, r, s: hidden_layer_sizes(d, r["n_components"]),
    "batch_size": lambda n, d, r, s: batch_size(n),
    "epochs": lambda n, d, r, s: (
        pca_epochs(n, d, r["n_components"], r["batch_size"], shrink=s)
        if r["init"] == "pca"
        else epochs(n, r["batch_size"])
    ),
}
