"""
=================================================
Autoencoder features beside PCA in a FeatureUnion
=================================================

An :class:`~skae.AutoencoderTransformer` is a transformer like any other, so
its bottleneck can sit beside :class:`~sklearn.decomposition.PCA` in a
:class:`~sklearn.pipeline.FeatureUnion`, and the concatenated features feed a
:class:`~sklearn.linear_model.LogisticRegression`.
"""

# %%
import skae  # noqa: F401  (import skae before keras: it selects the torch backend)

# isort: split
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# %%
# Three feature sets of eight dimensions each, and their union.
features = {
    "PCA(8)": PCA(n_components=8, random_state=0),
    "autoencoder(8)": AutoencoderTransformer(
        n_components=8, epochs=100, random_state=0
    ),
    "union": FeatureUnion(
        [
            ("pca", PCA(n_components=8, random_state=0)),
            ("ae", AutoencoderTransformer(n_components=8, epochs=100, random_state=0)),
        ]
    ),
}
scores = {}
for name, reducer in features.items():
    pipe = make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=5000))
    scores[name] = pipe.fit(X_train, y_train).score(X_test, y_test)
    print(f"{name:>15}: accuracy {scores[name]:.3f}")

# %%
# The union's output names say where each column comes from.
union = features["union"]
print(union.get_feature_names_out()[[0, 8]])

fig, ax = plt.subplots(figsize=(5, 3))
ax.barh(list(scores), list(scores.values()))
ax.set(
    xlim=(0.8, 1.0), xlabel="test accuracy", title="LogisticRegression on 8 features"
)
fig.tight_layout()
