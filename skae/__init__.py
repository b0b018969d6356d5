"""skae: autoencoders as scikit-learn estimators, on Keras 3 with the torch backend.

Importing skae selects Keras's torch backend (unless ``KERAS_BACKEND`` is set),
so import skae before Keras.
"""

from . import _backend  # noqa: F401  (sets KERAS_BACKEND before Keras loads)
from ._denoising import DenoisingAutoencoder
from ._export import load_model
from ._outlier import AutoencoderOutlierDetector
from ._thresholds import FixedThreshold, MeanStdThreshold, PercentileThreshold
from ._transformer import AutoencoderTransformer
from ._variational import VariationalAutoencoder
from ._version import __version__

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "DenoisingAutoencoder",
    "FixedThreshold",
    "MeanStdThreshold",
    "PercentileThreshold",
    "VariationalAutoencoder",
    "__version__",
    "load_model",
]
