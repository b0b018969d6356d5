"""
=======================================================
Encoding only some columns with a ColumnTransformer
=======================================================

Tables often mix a block of raw measurements, worth compressing, with a few
summary columns that should pass as they are. A
:class:`~sklearn.compose.ColumnTransformer` applies an
:class:`~skae.AutoencoderTransformer` to the pixel columns of the digits and
standardises two hand-made columns beside them.
"""

# %%
import skae  # noqa: F401  (import skae before keras: it selects the torch backend)

# isort: split
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skae import AutoencoderTransformer

digits = load_digits()
pixels = [f"pixel_{i}" for i in range(64)]
table = pd.DataFrame(digits.data, columns=pixels)
images = digits.data.reshape(-1, 8, 8)
table["ink"] = images.sum(axis=(1, 2))
table["height"] = (images.sum(axis=2) > 0).sum(axis=1)
X_train, X_test, y_train, y_test = train_test_split(
    table, digits.target, test_size=0.3, random_state=0
)

# %%
columns = ColumnTransformer(
    [
        (
            "pixels",
            make_pipeline(
                MinMaxScaler(),
                AutoencoderTransformer(n_components=8, epochs=100, random_state=0),
            ),
            pixels,
        ),
        ("summary", StandardScaler(), ["ink", "height"]),
    ]
)
model = make_pipeline(columns, LogisticRegression(max_iter=5000))
model.fit(X_train, y_train)
print(f"accuracy: {model.score(X_test, y_test):.3f}")

# %%
# Ten columns come out: eight from the bottleneck, two summaries.
names = model[0].get_feature_names_out()
print(np.asarray(names))
