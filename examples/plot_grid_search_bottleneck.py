"""
=====================================================
Choosing the bottleneck with GridSearchCV, no labels
=====================================================

An autoencoder's ``score`` is minus its mean reconstruction error, so
:class:`~sklearn.model_selection.GridSearchCV` can choose ``n_components``
without labels. The search runs its fits in two worker processes
(``n_jobs=2``); each worker's torch uses one thread, so the two do not
compete for the same cores. The best estimator is then used as a transformer.
"""

# %%
import skae  # noqa: F401  (import skae before keras: it selects the torch backend)

# isort: split
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer

X = load_digits().data / 16.0

search = GridSearchCV(
    AutoencoderTransformer(epochs=60, random_state=0),
    {"n_components": [2, 4, 8, 16, 32]},
    cv=3,
    n_jobs=2,
)
search.fit(X)
print("best:", search.best_params_)

# %%
# The reconstruction error falls quickly up to a dozen dimensions, then
# flattens out.
errors = -search.cv_results_["mean_test_score"]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(search.cv_results_["param_n_components"], errors, marker="o")
ax.set(xscale="log", xlabel="n_components", ylabel="validation MSE")
fig.tight_layout()

# %%
# ``best_estimator_`` was refitted on all the data: it encodes new rows.
codes = search.best_estimator_.transform(X[:5])
print(codes.shape)
