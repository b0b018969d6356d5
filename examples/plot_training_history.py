"""
============================================
Training curves: validation loss and metrics
============================================

Every skae estimator keeps Keras's per-epoch history in ``history_``. With part
of the training rows held out (``validation_fraction``) it records
``val_loss`` as well, and ``metrics=["mae"]`` adds the mean absolute error of
the reconstructions (with its ``val_mae`` copy).
:class:`~skae.plotting.HistoryDisplay` draws the curves, validation dashed.
"""

# %%
import skae  # noqa: F401  (import skae before keras: it selects the torch backend)

# isort: split
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skae import AutoencoderTransformer
from skae.plotting import HistoryDisplay

X = load_digits().data / 16.0

autoencoder = AutoencoderTransformer(
    n_components=8,
    epochs=60,
    metrics=["mae"],
    validation_fraction=0.2,
    random_state=0,
)
autoencoder.fit(X)
print(sorted(autoencoder.history_))

# %%
# :meth:`~skae.plotting.HistoryDisplay.from_estimator` always plots the loss
# and adds the metrics asked for. A display can also be built from any history
# dict, here the two ``mae`` curves alone.
fig, (loss_ax, mae_ax) = plt.subplots(1, 2, figsize=(9, 3.5))
HistoryDisplay.from_estimator(autoencoder, ax=loss_ax, log_scale=True)
loss_ax.set_title("loss (mean squared error)")
mae = {key: autoencoder.history_[key] for key in ("mae", "val_mae")}
HistoryDisplay(mae).plot(ax=mae_ax)
mae_ax.set_title("metric: mean absolute error")
fig.tight_layout()

# %%
# Early stopping
# --------------
#
# On a few hundred rows, the network starts to overfit: the validation loss
# stops falling while the training loss goes on. ``early_stopping=True`` holds
# out ``validation_fraction`` of the rows (0.1 by default), stops after
# ``patience`` epochs without improvement of ``val_loss``, and restores the
# weights of the best epoch. ``n_iter_`` counts the epochs actually run.
small = X[:300]
stopped = AutoencoderTransformer(
    n_components=16,
    learning_rate=0.003,
    epochs=300,
    early_stopping=True,
    validation_fraction=0.2,
    patience=10,
    random_state=0,
).fit(small)
best_epoch = 1 + min(
    range(stopped.n_iter_), key=stopped.history_["val_loss"].__getitem__
)
print(f"stopped after {stopped.n_iter_} epochs; best epoch {best_epoch}")

display = HistoryDisplay.from_estimator(stopped, log_scale=True)
display.ax_.axvline(best_epoch, color="gray", linestyle=":", label="best epoch")
display.ax_.legend()
display.ax_.set_title("early_stopping=True, patience=10")
