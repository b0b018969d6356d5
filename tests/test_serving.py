"""Serving: batch-invariant scoring, memory-mapped and Dask input, ONNX export."""

import os
import tracemalloc

import numpy as np
import pytest
import torch

import skae._training
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VariationalAutoencoder,
)
from skae._backend import keras, torch_threads
from skae._training import INFERENCE_BATCH_SIZE, MIN_ROWS, _fewest_rows

# Sizes around the row block (32) and the batch (1024), and a few others.
SIZES = [1, 2, 3, 31, 32, 33, 100, 777, 1023, 1024, 1025, 2100]

NETWORKS = {
    "small": dict(n_components=8, hidden_layer_sizes=(32,)),
    "large": dict(n_components=16, hidden_layer_sizes=(256, 64)),
    # Odd widths, and a one-unit layer (a matrix-vector product).
    "odd": dict(n_components=1, hidden_layer_sizes=(3,)),
}
N_FEATURES = {"small": 64, "large": 784, "odd": 5}


def _data(n_features, n_rows=2100, seed=0):
    return np.random.default_rng(seed).random((n_rows, n_features), np.float32)


@pytest.fixture(scope="module", params=list(NETWORKS))
def network(request):
    """(name, X, fitted detector, fitted transformer) on 64 or 784 features."""
    name = request.param
    X = _data(N_FEATURES[name])
    common = dict(**NETWORKS[name], epochs=1, device="cpu", random_state=0)
    detector = AutoencoderOutlierDetector(**common).fit(X[:300])
    # tanh and sigmoid: element-wise kernels whose vectorised and scalar
    # loops round differently, unlike relu.
    transformer = AutoencoderTransformer(
        **common, activation="tanh", output_activation="sigmoid"
    ).fit(X[:300])
    return name, X, detector, transformer


def test_a_row_scores_the_same_alone_and_in_any_batch(network):
    name, X, detector, transformer = network
    scores = detector.score_samples(X)
    codes = transformer.transform(X)
    decoded = transformer.inverse_transform(codes)
    for size in SIZES:
        for start in {0, 7 % (len(X) - size + 1), len(X) - size}:
            rows = slice(start, start + size)
            np.testing.assert_array_equal(detector.score_samples(X[rows]), scores[rows])
            np.testing.assert_array_equal(transformer.transform(X[rows]), codes[rows])
            np.testing.assert_array_equal(
                transformer.inverse_transform(codes[rows]), decoded[rows]
            )
    if name == "odd":  # cheap: every size up to 300
        for size in range(1, 301):
            np.testing.assert_array_equal(
                detector.score_samples(X[:size]), scores[:size]
            )
            np.testing.assert_array_equal(transformer.transform(X[:size]), codes[:size])
    # Each row alone, for a sample of rows.
    for i in range(0, len(X), 97):
        np.testing.assert_array_equal(detector.score_samples(X[i : i + 1]), scores[i])


@pytest.mark.parametrize(
    "shape", [(784, 256), (256, 784), (64, 32), (16, 64), (5, 2), (3, 2)]
)
@pytest.mark.parametrize("bias", [True, False])
def test_fewest_rows_is_what_this_processors_products_need(shape, bias):
    # Checked on other values than the measurement's: from that many rows on,
    # every batch gives each row the bits of a full batch; with one row fewer,
    # some batch does not (unless a single row already agrees).
    n_in, n_out = shape
    fewest = _fewest_rows(n_in, n_out, bias, INFERENCE_BATCH_SIZE)
    assert 1 <= fewest <= MIN_ROWS
    generator = torch.Generator().manual_seed(1)
    kernel = torch.randn((n_out, n_in), generator=generator).t()
    offset = torch.randn(n_out, generator=generator)
    x = torch.randn((INFERENCE_BATCH_SIZE, n_in), generator=generator)

    def product(rows):
        return torch.addmm(offset, rows, kernel) if bias else rows @ kernel

    with torch.no_grad(), torch_threads(1):
        full = product(x)
        agree = {
            n: all(torch.equal(product(x[i : i + n]), full[i : i + n]) for i in (0, 3))
            for n in [*range(1, 70), 100, 333, INFERENCE_BATCH_SIZE - 4]
        }
    assert all(agree[n] for n in agree if n >= fewest)
    assert fewest == 1 or not all(agree[n] for n in range(1, fewest))


def test_padding_keeps_whole_row_blocks_whatever_the_products_need(monkeypatch):
    # Had a processor's products needed 9 rows, a batch padded to exactly 9
    # would leave a tensor's last values to torch's scalar remainder loop,
    # which rounds sigmoid differently; in an ensemble's member-major layers
    # those are a member's real rows. Padding rounds up to whole row blocks.
    monkeypatch.setattr(skae._training, "_fewest_rows", lambda *shape: 9)
    X = _data(8, n_rows=400)
    detector = AutoencoderOutlierDetector(
        n_estimators=12,
        n_components=1,
        hidden_layer_sizes=(2,),
        activation="sigmoid",
        epochs=1,
        random_state=0,
    ).fit(X)
    plan = skae._training._inference(detector._model)
    assert plan.min_rows == 9 and plan.rows(1) % plan.row_multiple == 0
    scores = detector.score_samples(X)
    errors = detector.feature_errors(X)
    for size in (1, 8, 9, 13):
        for start in range(0, len(X) - size, 37):
            rows = slice(start, start + size)
            np.testing.assert_array_equal(detector.score_samples(X[rows]), scores[rows])
            np.testing.assert_array_equal(
                detector.feature_errors(X[rows]), errors[rows]
            )


def test_an_ensembles_outputs_are_c_ordered_in_every_batch():
    # The ensemble's layers are member-major in memory; what leaves predict is
    # C-ordered, so numpy's reductions over it (the reconstruction's mean over
    # members) give a row the same bits alone and in a batch.
    X = _data(3, n_rows=300)
    detector = AutoencoderOutlierDetector(
        n_estimators=8,
        n_components=1,
        hidden_layer_sizes=(4,),
        epochs=1,
        random_state=0,
    ).fit(X)
    members = skae._training.predict(detector._model, X[:5], device="cpu")
    assert members.shape == (5, 8, 3) and members.flags.c_contiguous
    full = detector._reconstruct(X)
    for size in (1, 2, 5, 33):
        np.testing.assert_array_equal(detector._reconstruct(X[:size]), full[:size])


def _detector_scores_by_hand(detector, x):
    """``score_samples`` of a dense ``loss="mae"`` detector (an ensemble,
    variational or not) from Keras's own predictions and its fitted constants."""
    assert detector.loss == "mae" and detector.max_features == 1.0
    reconstruction = detector._model.predict(x, verbose=0)  # (n, m, d)
    assert reconstruction.shape == (len(x), detector.n_estimators_, x.shape[1])
    # Each member's error: the features' absolute errors, each divided by its
    # typical training error, summed ...
    elementwise = np.abs(x[:, None, :] - reconstruction)
    if detector.scale_errors:
        elementwise = elementwise / detector._feature_scale
    errors = elementwise.sum(axis=-1)
    if detector.beta_ is not None:  # ... plus its KL term at the posterior
        stats = keras.Model(
            detector.encoder_.inputs,
            detector.encoder_.get_layer("z_mean_log_var").output,
        ).predict(x, verbose=0)
        mean, log_var = np.split(stats, 2, axis=-1)
        errors += -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), -1)
    # Standardised per member by its training median and IQR, averaged.
    z = (errors - detector._member_center) / detector._member_spread
    return -z.mean(axis=1)


def test_batch_invariant_scores_are_the_networks_scores(network):
    # The padded, blocked computation is the network's: compare with Keras.
    _, X, detector, transformer = network
    x = X[:50]
    expected = _detector_scores_by_hand(detector, x)
    np.testing.assert_allclose(
        detector.score_samples(x), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        transformer.transform(x),
        transformer.encoder_.predict(x, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_batch_invariance_holds_on_several_torch_threads(network):
    _, X, detector, _ = network
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        scores = detector.score_samples(X)  # two batches side by side
        for size in [1, 33, INFERENCE_BATCH_SIZE + 37]:
            np.testing.assert_array_equal(
                detector.score_samples(X[-size:]), scores[-size:]
            )
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(detector.score_samples(X), scores)


def test_variational_scores_are_batch_invariant():
    X = _data(20, n_rows=1100)
    vae = VariationalAutoencoder(
        n_components=3, hidden_layer_sizes=(16,), epochs=2, random_state=0
    ).fit(X)
    scores = vae.score_samples(X)
    for size in [1, 5, 64, 1100]:
        np.testing.assert_array_equal(vae.score_samples(X[:size]), scores[:size])


def test_quick_validation_returns_what_validate_data_returns(network):
    # Plain float arrays skip scikit-learn's validate_data (its cost on a few
    # rows is the network's); every other input takes it: results and errors
    # are the same either way.
    _, X, detector, transformer = network
    x = X[:40]
    codes = transformer.transform(x)
    scores = detector.score_samples(x)
    variants = [
        x.astype(np.float64),
        np.asfortranarray(x),
        X[:80:2],  # a strided view
        x.tolist(),
    ]
    for variant in variants:
        expected = x if isinstance(variant, list) else variant
        np.testing.assert_array_equal(
            transformer.transform(variant),
            transformer.transform(np.ascontiguousarray(expected)),
        )
        np.testing.assert_array_equal(
            detector.score_samples(variant),
            detector.score_samples(np.ascontiguousarray(expected)),
        )
    np.testing.assert_array_equal(transformer.transform(x.astype(np.float64)), codes)
    np.testing.assert_array_equal(detector.score_samples(x.astype(np.float64)), scores)
    decoded = transformer.inverse_transform(codes)
    np.testing.assert_array_equal(
        transformer.inverse_transform(codes.astype(np.float64)), decoded
    )
    bad = x.copy()
    bad[3, 0] = np.nan
    for method in (transformer.transform, detector.score_samples, detector.predict):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            method(bad)
    with pytest.raises(ValueError, match="Input contains infinity"):
        transformer.inverse_transform(np.full_like(codes, np.inf))
    huge = x.astype(np.float64)
    huge[0, 0] = 1e300  # finite, beyond float32: refused, not scored as inf
    with pytest.raises(ValueError, match="beyond float32"):
        detector.score_samples(huge)
    with pytest.raises(ValueError, match="features"):
        transformer.transform(x[:, :-1])


def test_quick_validation_keeps_the_feature_name_warning():
    pd = pytest.importorskip("pandas")
    X = _data(6, n_rows=60)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    transformer = AutoencoderTransformer(n_components=2, epochs=1, random_state=0)
    transformer.fit(frame)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        transformer.transform(X)


# ------------------------------------------------------------------- memmap


def test_memmap_scores_in_bounded_memory_equal_in_memory(tmp_path):
    n_features = 64
    X = _data(n_features, n_rows=3 * INFERENCE_BATCH_SIZE + 100)
    detector = AutoencoderOutlierDetector(
        n_components=4, hidden_layer_sizes=(16,), epochs=1, random_state=0
    ).fit(X[:500])
    path = tmp_path / "rows.dat"
    mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mapped[:] = X
    mapped.flush()
    del mapped
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)

    expected = detector.score_samples(X)
    tracemalloc.start()
    try:
        scores = detector.score_samples(mapped)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(scores, expected)
    # Never a copy of the whole input: about one batch and the scores.
    assert peak < X.nbytes / 2
    np.testing.assert_array_equal(detector.predict(mapped), detector.predict(X))


# --------------------------------------------------------------------- dask


def test_dask_array_scores_equal_in_memory_on_a_cluster():
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    from skae.parallel import map_method

    X = _data(12, n_rows=1000)
    detector = AutoencoderOutlierDetector(
        n_components=3, hidden_layer_sizes=(8,), epochs=2, random_state=0
    ).fit(X)
    transformer = AutoencoderTransformer(
        n_components=3, hidden_layer_sizes=(8,), epochs=2, random_state=0
    ).fit(X)
    chunked = da.from_array(X, chunks=(300, 5))  # columns are merged
    environ = dict(os.environ)
    try:
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            scores = map_method(detector, "score_samples", chunked)
            labels = map_method(detector, "predict", chunked)
            codes = map_method(transformer, "transform", chunked)
            assert scores.chunks == ((300, 300, 300, 100),)
            assert codes.chunks == ((300, 300, 300, 100), (3,))
            scores, labels, codes = client.compute([scores, labels, codes], sync=True)
            ran_on = client.run(lambda: "skae" in __import__("sys").modules)
    finally:  # the nannies set OMP_NUM_THREADS and more here
        os.environ.clear()
        os.environ.update(environ)
    assert any(ran_on.values())
    np.testing.assert_array_equal(scores, detector.score_samples(X))
    np.testing.assert_array_equal(labels, detector.predict(X))
    np.testing.assert_array_equal(codes, transformer.transform(X))


def test_map_method_rejects_a_method_the_estimator_lacks():
    da = pytest.importorskip("dask.array")
    from skae.parallel import map_method

    X = _data(6, n_rows=50)
    ae = AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(4,), epochs=1, random_state=0
    ).fit(X)
    with pytest.raises(ValueError, match="method must be one of"):
        map_method(ae, "predict", da.from_array(X))


# --------------------------------------------------------------------- ONNX


@pytest.fixture(scope="module")
def onnxruntime():
    pytest.importorskip("onnxscript")
    return pytest.importorskip("onnxruntime")


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize(
    "make",
    [
        lambda: AutoencoderTransformer(loss="mae"),
        lambda: AutoencoderOutlierDetector(contamination=0.1),
        lambda: AutoencoderOutlierDetector(
            contamination=0.1, n_estimators=1, beta=None, scale_errors=False
        ),
        lambda: VariationalAutoencoder(),
    ],
    ids=["transformer", "detector", "plain-detector", "variational"],
)
def test_onnx_export_matches_the_estimator(make, onnxruntime, tmp_path):
    from skae.export import to_onnx

    X = _data(20, n_rows=300)
    estimator = make().set_params(
        n_components=4, hidden_layer_sizes=(16,), epochs=3, random_state=0
    )
    estimator.fit(X)
    from skae.export import METHODS

    methods = [m for m in METHODS if hasattr(estimator, m)]
    for method in methods:
        path = to_onnx(estimator, tmp_path / f"{method}.onnx", method=method)
        session = onnxruntime.InferenceSession(path)
        assert [i.name for i in session.get_inputs()] == ["X"]
        assert [o.name for o in session.get_outputs()] == [method]
        data = estimator.transform(X) if method == "inverse_transform" else X
        for rows in [1, 7, 300]:  # any number of rows
            (got,) = session.run(None, {"X": data[:rows]})
            expected = getattr(estimator, method)(data[:rows])
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_onnx_score_is_the_reconstruction_error_by_hand(onnxruntime, tmp_path):
    # Independent of skae's scoring code: the exported graph's decision is the
    # ensemble's standardised error computed from Keras's own predictions.
    from skae.export import to_onnx

    X = _data(10, n_rows=200)
    detector = AutoencoderOutlierDetector(
        n_components=3, hidden_layer_sizes=(8,), epochs=3, random_state=0
    ).fit(X)
    assert detector.n_estimators_ > 1 and detector.beta_ is not None
    session = onnxruntime.InferenceSession(to_onnx(detector, tmp_path / "d.onnx"))
    (decision,) = session.run(None, {"X": X})
    expected = _detector_scores_by_hand(detector, X) - detector.offset_
    np.testing.assert_allclose(decision, expected, rtol=1e-5, atol=1e-5)


def test_onnx_export_rejects_an_unknown_method(tmp_path):
    from skae.export import to_onnx

    X = _data(6, n_rows=50)
    ae = AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(4,), epochs=1, random_state=0
    ).fit(X)
    with pytest.raises(ValueError, match="method must be one of"):
        to_onnx(ae, tmp_path / "x.onnx", method="decision_function")
