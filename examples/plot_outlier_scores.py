"""
=====================================================
Outlier scores and the threshold, on damaged scans
=====================================================

An :class:`~skae.AutoencoderOutlierDetector` learns to reconstruct the bulk of
its training data; rows it reconstructs badly are outliers. Here 30 of the
1,797 digit scans are damaged (a band of full-ink rows), and the detector is
fitted on all of them without labels. :class:`~skae.plotting.OutlierScoreDisplay`
shows how the scores of the damaged scans separate from the rest, and where
the threshold ``offset_`` falls.
"""

# %%
import skae  # noqa: F401  (import skae before keras: it selects the torch backend)

# isort: split
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderOutlierDetector
from skae.plotting import OutlierScoreDisplay

X = load_digits().data
rng = np.random.default_rng(0)
damaged = rng.choice(len(X), size=30, replace=False)
for i in damaged:
    top = rng.integers(0, 6)
    X[i].reshape(8, 8)[top : top + 2] = 16.0
is_outlier = np.zeros(len(X), dtype=bool)
is_outlier[damaged] = True

detector = make_pipeline(
    MinMaxScaler(),
    AutoencoderOutlierDetector(n_components=8, epochs=60, random_state=0),
).fit(X)
scores = detector.score_samples(X)  # minus the reconstruction error
print(f"ROC-AUC: {roc_auc_score(is_outlier, -scores):.3f}")

# %%
# The score histogram
# -------------------
#
# ``score_samples`` is minus each row's reconstruction error: higher is more
# normal. With the labels, inliers and outliers get their own histograms. The
# dashed line is ``offset_``; rows to its left are predicted -1. With the
# default ``contamination="auto"`` it is Tukey's fence on the training errors,
# the upper quartile plus 1.5 interquartile ranges: no outlier fraction is
# assumed. The counts are on a log scale (``log=True`` goes to ``ax.hist``), so
# that the few outliers show.
display = OutlierScoreDisplay.from_estimator(detector, X, is_outlier, log=True)
display.ax_.set_title('contamination="auto"')
flagged = detector.predict(X) == -1
print(
    f"auto: {flagged.sum()} rows flagged, "
    f"{(flagged & is_outlier).sum()} of the {is_outlier.sum()} damaged scans"
)

# %%
# A known proportion
# ------------------
#
# When the proportion of outliers is known, pass it as ``contamination``: the
# threshold becomes that quantile of the training scores. Only ``offset_``
# changes: with the same ``random_state`` the network, and so every score, is
# the same.
detector.set_params(autoencoderoutlierdetector__contamination=30 / len(X))
detector.fit(X)
assert np.allclose(detector.score_samples(X), scores)
flagged = detector.predict(X) == -1
print(
    f"contamination={30 / len(X):.4f}: {flagged.sum()} rows flagged, "
    f"{(flagged & is_outlier).sum()} of them damaged"
)
display = OutlierScoreDisplay.from_estimator(detector, X, is_outlier, log=True)
display.ax_.set_title(f"contamination={30 / len(X):.4f}")

# %%
# ``decision_function`` is ``score_samples - offset_``, negative for outliers.
# The lowest-scoring scans, the most unusual ones:
decision = detector.decision_function(X)
worst = np.argsort(decision)[:10]
fig, axes = plt.subplots(1, 10, figsize=(8, 1.4))
for ax, i in zip(axes, worst, strict=True):
    ax.imshow(X[i].reshape(8, 8), cmap="gray_r")
    ax.set_title("damaged" if is_outlier[i] else "intact", fontsize=8)
    ax.set_axis_off()
fig.suptitle("The 10 lowest decision_function values")
