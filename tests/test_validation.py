"""Bad input gets an error that names the problem."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

import skae
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)

FAST = dict(hidden_layer_sizes=(8,), epochs=2, device="cpu", random_state=0)
ALL = [
    AutoencoderTransformer,
    DenoisingAutoencoder,
    AutoencoderOutlierDetector,
    VariationalAutoencoder,
]
X = np.random.default_rng(0).random((40, 5))


@pytest.fixture(params=ALL, ids=lambda cls: cls.__name__)
def estimator(request):
    return request.param(**FAST)


def test_nan_in_fit(estimator):
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator.fit(X_nan)


def test_inf_in_fit(estimator):
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        estimator.fit(X_inf)


def test_nan_at_inference(estimator):
    estimator.fit(X)
    X_nan = X[:3].copy()
    X_nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator.score_samples(X_nan)


def test_wrong_number_of_features_at_inference(estimator):
    estimator.fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 5"):
        estimator.score_samples(X[:, :4])


def test_one_dimensional_input(estimator):
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        estimator.fit(X[:, 0])


def test_empty_input(estimator):
    with pytest.raises(ValueError, match="0 sample"):
        estimator.fit(X[:0])
    with pytest.raises(ValueError, match="0 feature"):
        estimator.fit(X[:, :0])


def test_strings(estimator):
    with pytest.raises(ValueError, match="could not convert string to float"):
        estimator.fit(np.array([["a", "b"], ["c", "d"]]))


def test_unfitted(estimator):
    with pytest.raises(NotFittedError):
        estimator.score_samples(X)


def test_sparse_input_is_supported(estimator):
    """CSR input is densified batch by batch and gives the dense results."""
    X_sparse = X.copy()
    X_sparse[X_sparse < 0.5] = 0
    dense = estimator.fit(X_sparse).score_samples(X_sparse)
    from_sparse = estimator.fit(sp.csr_matrix(X_sparse)).score_samples(
        sp.csr_matrix(X_sparse)
    )
    np.testing.assert_array_equal(dense, from_sparse)
    if hasattr(estimator, "transform"):
        np.testing.assert_array_equal(
            estimator.transform(X_sparse), estimator.transform(sp.csr_array(X_sparse))
        )


def test_binary_crossentropy_needs_unit_range(estimator):
    estimator.set_params(loss="binary_crossentropy")
    with pytest.raises(
        ValueError, match=r"needs X in \[0, 1\], but X ranges over \[-0.99"
    ):
        estimator.fit(X * 2 - 1)
    estimator.fit(X)  # [0, 1] is fine


def test_binary_crossentropy_checks_sparse_range():
    ae = AutoencoderTransformer(**FAST, loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"needs X in \[0, 1\]"):
        ae.fit(sp.csr_matrix(X * 3))


def test_binary_crossentropy_counts_a_sparse_inputs_implicit_zeros():
    rows = sp.random(40, 6, density=0.5, random_state=0, format="csr")
    rows.data = 0.5 + rows.data / 2  # stored values in [0.5, 1], zeros implicit
    AutoencoderTransformer(**FAST, loss="binary_crossentropy").fit(rows)
    rows.data = rows.data * 3  # in [1.5, 3]: with the zeros, X spans [0, 3]
    with pytest.raises(ValueError, match=r"ranges over \[0, [23]\.\d+\]"):
        AutoencoderTransformer(**FAST, loss="binary_crossentropy").fit(rows)


def _users_code(filename):
    """True for a file outside skae and scikit-learn (this test's, normally)."""
    libraries = (Path(skae.__file__).parent, Path(sklearn.__file__).parent)
    return not any(Path(filename).is_relative_to(library) for library in libraries)


def test_overcomplete_bottleneck_warns():
    with pytest.warns(UserWarning, match="n_components=5 is not smaller than") as w:
        AutoencoderTransformer(**FAST, n_components=5).fit(X)
    assert _users_code(w[0].filename)  # the warning points at the user's fit
    with pytest.warns(UserWarning, match="does not compress") as w:
        AutoencoderOutlierDetector(**FAST, n_components=8).partial_fit(X)
    assert _users_code(w[0].filename)
    with pytest.warns(UserWarning, match="does not compress") as w:
        make_pipeline(AutoencoderTransformer(**FAST, n_components=5)).fit(X)
    assert _users_code(w[0].filename)
    with pytest.warns(UserWarning, match="bottleneck does not compress"):
        AutoencoderOutlierDetector(**FAST, n_components=8).fit(X)


def test_denoiser_may_be_overcomplete(recwarn):
    DenoisingAutoencoder(**FAST, n_components=8).fit(X)
    assert not [w for w in recwarn if "n_components" in str(w.message)]


def test_loss_becoming_nan_raises(estimator):
    huge = X * 1e30  # finite input whose squared error overflows float32
    estimator.set_params(loss="mse")  # the outlier detector's default is "mae"
    with pytest.raises(ValueError, match="loss became NaN or infinite in epoch 1"):
        estimator.fit(huge)
    assert not hasattr(estimator, "encoder_")


def test_loss_nan_under_warm_start_keeps_previous_model():
    ae = AutoencoderTransformer(**FAST, warm_start=True).fit(X)
    before = ae.transform(X)
    with pytest.raises(ValueError, match="loss became NaN"):
        ae.fit(X * 1e30)
    np.testing.assert_array_equal(ae.transform(X), before)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "'n_components' parameter"),
        ({"loss": "cosine"}, "'loss' parameter"),
        ({"optimizer": "no_such_optimizer"}, "'optimizer' parameter"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"device": "gpu"}, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must be a sequence"),
        ({"hidden_layer_sizes": (8.5,)}, "hidden_layer_sizes must be a sequence"),
        ({"activation": "no_such_activation"}, "no_such_activation"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**dict(FAST, **params)).fit(X)


def test_contamination_out_of_range():
    with pytest.raises(ValueError, match="'contamination' parameter"):
        AutoencoderOutlierDetector(**FAST, contamination=0.7).fit(X)


def test_cuda_without_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="asks for a GPU, but torch .* sees none"):
        AutoencoderTransformer(**dict(FAST, device="cuda")).fit(X)


def test_validation_fraction_too_large_for_tiny_data():
    ae = AutoencoderTransformer(**FAST, validation_fraction=0.9)
    with pytest.raises(ValueError, match="leaves no training data"):
        ae.fit(X[:1])


def test_fit_does_not_modify_input():
    X_copy = X.copy()
    DenoisingAutoencoder(**FAST, noise="masking").fit(X_copy).transform(X_copy)
    np.testing.assert_array_equal(X_copy, X)
