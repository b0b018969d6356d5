"""scikit-learn's own estimator checks, run on every skae estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)

# Small networks and few epochs: the checks test the contract, not the fit.
FAST = dict(hidden_layer_sizes=(8,), n_components=2, epochs=2, device="cpu")

ESTIMATORS = [
    AutoencoderTransformer(**FAST),
    DenoisingAutoencoder(**FAST),
    # "auto" (Tukey's fence) may flag no row of the checks' blobs, which have no
    # outliers; check_outliers_fit_predict needs some -1: a float sets them.
    AutoencoderOutlierDetector(**FAST, contamination=0.1),
    VariationalAutoencoder(**FAST),
]

# {check name: reason}, per estimator class.
_MINIBATCH_WEIGHTS = (
    "sample_weight weights each row's loss within a minibatch (the weighted "
    "mean): integer weights equal repeated rows only for one full batch, since "
    "repeating or removing rows changes the batches, their number and order "
    "(tested with a full batch in test_hardening.py)"
)
EXPECTED_FAILED_CHECKS = {
    type(estimator).__name__: {
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": _MINIBATCH_WEIGHTS,
    }
    for estimator in ESTIMATORS
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


# The checks fit on data with as few as one feature, where n_components=2 does
# not compress: skae warns about that (tested in test_validation.py).
@pytest.mark.filterwarnings("ignore:n_components=2 is not smaller:UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
