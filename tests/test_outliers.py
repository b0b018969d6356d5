"""AutoencoderOutlierDetector: ensembles, scores, explanations, thresholds."""

import math

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoencoderOutlierDetector,
    FixedThreshold,
    MeanStdThreshold,
    PercentileThreshold,
    _detector_defaults,
)
from skae._backend import keras
from skae._ensemble import MemberDense, MemberInputs, MemberSampling, TrimmedLoss
from skae._outlier import _update_reservoir

FAST = dict(epochs=5, device="cpu", random_state=0)


def _data(n=400, d=6, n_outliers=8, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(3, d))
    inliers = rng.normal(size=(n, 3)) @ mix + 0.1 * rng.normal(size=(n, d))
    outliers = rng.uniform(-6, 6, size=(n_outliers, d))
    return np.vstack([inliers, outliers]).astype(np.float32)


def _by_hand(detector, X):
    """score_samples from the Keras model's own call (not the compiled program)."""
    model = detector._model
    out = keras.ops.convert_to_numpy(model(X, training=False))
    out = out.reshape(X.shape[0], -1, X.shape[1])
    mask = None
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, MemberInputs):
            mask = keras.ops.convert_to_numpy(layer.mask)
    mask = np.ones((1, X.shape[1])) if mask is None else mask
    errors = (np.abs(out - X[:, None, :]) * mask).sum(-1)
    sampling = [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, MemberSampling)
    ]
    if sampling:
        errors = errors + keras.ops.convert_to_numpy(sampling[0].last_kl)
    return errors


def _normalise(errors, reference):
    median = np.median(reference, axis=0)
    q1, q3 = np.percentile(reference, [25, 75], axis=0)
    return -((errors - median) / (q3 - q1)).mean(axis=1)


@pytest.mark.parametrize(
    "params",
    [
        dict(n_estimators=1, beta=None),
        dict(n_estimators=3, beta=1.0, max_features=0.5),
    ],
)
def test_score_samples_match_a_computation_by_hand(params):
    params = dict(params, scale_errors=False)  # scaling: tested below
    X = _data()
    detector = AutoencoderOutlierDetector(**FAST, **params).fit(X)
    errors = _by_hand(detector, X)  # training rows are all in the reservoir
    np.testing.assert_allclose(
        detector.score_samples(X), _normalise(errors, errors), rtol=1e-4, atol=1e-5
    )


def test_feature_errors_sum_to_minus_score_samples_and_name_the_feature():
    X = _data()
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    probe = X[:20].copy()
    probe[0, 4] += 12.0
    parts = detector.feature_errors(probe)
    assert parts.shape == (20, X.shape[1]) and parts.dtype == np.float64
    np.testing.assert_allclose(
        parts.sum(axis=1), -detector.score_samples(probe), rtol=1e-5, atol=1e-5
    )
    assert np.argmax(parts[0]) == 4


def test_scale_errors_divides_each_feature_by_its_training_error():
    X = _data()
    X[:, 0] *= 10.0  # a feature with large errors would dominate unscaled ones
    plain = AutoencoderOutlierDetector(
        **FAST, n_estimators=1, beta=None, scale_errors=False
    ).fit(X)
    scaled = AutoencoderOutlierDetector(
        **FAST, n_estimators=1, beta=None, scale_errors=True
    ).fit(X)
    # The same network (same seed); only the scoring differs.
    out = keras.ops.convert_to_numpy(scaled._model(X, training=False))[:, 0]
    elementwise = np.abs(out - X)
    scale = np.maximum(elementwise.mean(0), 1e-3 * elementwise.mean())
    errors = (elementwise / scale).sum(1, keepdims=True)
    np.testing.assert_allclose(
        scaled.score_samples(X), _normalise(errors, errors), rtol=1e-4, atol=1e-5
    )
    assert not np.allclose(plain.score_samples(X), scaled.score_samples(X))


@pytest.mark.parametrize(
    "rule, by_hand",
    [
        (
            "auto",
            lambda s: (
                -(
                    np.percentile(-s, 75)
                    + 1.5 * np.subtract(*np.percentile(-s, [75, 25]))
                )
            ),
        ),
        (0.05, lambda s: np.percentile(s, 5)),
        (PercentileThreshold(1.5), lambda s: np.percentile(s, 1.5)),
        (MeanStdThreshold(3), lambda s: -((-s).mean() + 3 * (-s).std())),
        (FixedThreshold(-2.5), lambda s: -2.5),
    ],
    ids=["auto", "contamination", "percentile", "mean_std", "fixed"],
)
def test_threshold_rules(rule, by_hand):
    X = _data()
    detector = AutoencoderOutlierDetector(**FAST, contamination=rule).fit(X)
    scores = detector.score_samples(X)
    assert detector.offset_ == pytest.approx(by_hand(scores), rel=1e-6, abs=1e-9)
    np.testing.assert_array_equal(
        detector.predict(X), np.where(scores - detector.offset_ >= 0, 1, -1)
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: PercentileThreshold(120),
            r"PercentileThreshold\(q=...\) must be in \[0, 100\]",
        ),
        (
            lambda: MeanStdThreshold(float("nan")),
            r"MeanStdThreshold\(k=...\) must be finite",
        ),
        (
            lambda: FixedThreshold("low"),
            r"FixedThreshold\(offset=...\) takes a real number",
        ),
    ],
)
def test_threshold_rules_reject_bad_values(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_contamination_rejects_other_values():
    with pytest.raises(ValueError, match="contamination"):
        AutoencoderOutlierDetector(**FAST, contamination="percentile").fit(_data())


def test_partial_fit_keeps_a_sound_threshold():
    X = _data()
    detector = AutoencoderOutlierDetector(**dict(FAST, epochs=30)).fit(X)
    flagged = detector.predict(X[-8:]) == -1
    assert flagged.sum() >= 6
    noise = np.random.default_rng(1).uniform(-6, 6, size=(40, X.shape[1]))
    noise_flagged = detector.predict(noise) == -1
    assert noise_flagged.mean() >= 0.6
    detector.partial_fit(noise.astype(np.float32))
    # offset_ reflects every row trained on: all 448 are in the reservoir.
    everything = np.vstack([X, noise]).astype(np.float32)
    errors = -detector.score_samples(everything)
    q1, q3 = np.percentile(errors, [25, 75])
    assert detector.offset_ == pytest.approx(-(q3 + 1.5 * (q3 - q1)), rel=1e-5)
    # ... so the detector still flags the noise and the outliers it flagged.
    assert np.mean(detector.predict(noise)[noise_flagged] == -1) >= 0.75
    assert np.all(detector.predict(X[-8:])[flagged] == -1)


def test_reservoir_is_a_uniform_sample_of_every_row(monkeypatch):
    monkeypatch.setattr("skae._outlier.RESERVOIR_ROWS", 500)
    chunks = [np.full((1000, 1), i, dtype=np.float32) for i in range(4)]
    reservoir, n_seen = None, 0
    for chunk in chunks:
        reservoir, n_seen = _update_reservoir(reservoir, n_seen, chunk)
    assert reservoir.shape == (500, 1) and n_seen == 4000
    counts = np.bincount(reservoir[:, 0].astype(int), minlength=4)
    # 125 expected from each chunk; binomial sd about 10.
    assert np.all(np.abs(counts - 125) < 45), counts


def test_a_nan_score_is_never_an_inlier(monkeypatch):
    X = _data()
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    # Values that overflow float32 inside the network: never an inlier.
    huge = np.full((2, X.shape[1]), 1e30)
    huge[:, ::2] *= -1
    with np.errstate(over="ignore", invalid="ignore"):
        np.testing.assert_array_equal(detector.predict(huge), [-1, -1])
    # Whatever makes a score NaN, predict says -1 for it.
    errors = np.array([np.nan, 0.0, np.nan])
    monkeypatch.setattr(
        type(detector), "_reconstruction_errors", lambda self, X: errors
    )
    assert np.isnan(detector.score_samples(X[:3])).sum() == 2
    np.testing.assert_array_equal(detector.predict(X[:3]), [-1, 1, -1])


def test_ensembles_are_reproducible_and_members_differ():
    X = _data()
    params = dict(FAST, n_estimators=4, max_features=0.5)
    a = AutoencoderOutlierDetector(**params).fit(X)
    b = AutoencoderOutlierDetector(**params).fit(X)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    other = AutoencoderOutlierDetector(**dict(params, random_state=1)).fit(X)
    assert not np.allclose(a.score_samples(X), other.score_samples(X))
    out = keras.ops.convert_to_numpy(a._model(X, training=False))
    assert out.shape == (X.shape[0], 4, X.shape[1])
    for i in range(4):
        for j in range(i):
            assert not np.allclose(out[:, i], out[:, j], atol=1e-3)
    mask = keras.ops.convert_to_numpy(a._model.get_layer("encoder").layers[1].mask)
    np.testing.assert_array_equal(mask.sum(1), [3, 3, 3, 3])
    assert len({tuple(row) for row in mask}) > 1


def test_member_dense_computes_a_dense_layer_per_member():
    layer = MemberDense(3, activation="tanh", seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2, 4)).astype(np.float32)
    keras_out = keras.ops.convert_to_numpy(layer(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    bias = keras.ops.convert_to_numpy(layer.bias)
    expected = np.stack([np.tanh(x[:, m] @ kernel[m] + bias[m]) for m in range(2)], 1)
    np.testing.assert_allclose(keras_out, expected, rtol=1e-5, atol=1e-6)
    direct = layer.direct_call(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(direct, expected, rtol=1e-5, atol=1e-6)
    limit = math.sqrt(6 / (4 + 3))  # Glorot uniform for a 4 -> 3 kernel
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.5 * limit


def test_trimmed_loss_ignores_the_worst_rows_after_warmup():
    errors = torch.tensor(
        [[1.0, 8.0], [2.0, 1.0], [3.0, 2.0], [100.0, 3.0]], requires_grad=True
    )
    loss = TrimmedLoss(
        lambda y_true, y_pred: y_pred, trim_fraction=0.25, warmup_steps=1
    )
    first = loss(None, errors)  # the warm-up step: every row counts
    assert first.item() == pytest.approx(errors.detach().mean().item())
    second = loss(None, errors)
    # Member 0 drops 100, member 1 drops 8.
    assert second.item() == pytest.approx(np.mean([1, 2, 3, 1, 2, 3]))
    with torch.no_grad():  # validation calls do not count as steps
        loss(None, errors)
    assert loss.steps == 2


def test_trimming_keeps_outliers_out_of_the_reconstruction():
    X = _data(n_outliers=40)
    params = dict(FAST, epochs=40, n_estimators=1, beta=None)
    plain = AutoencoderOutlierDetector(**params).fit(X)
    trimmed = AutoencoderOutlierDetector(**params, trim_fraction=0.1).fit(X)
    # Raw training error of the inliers, by hand: lower when outliers are trimmed.
    plain_error = _by_hand(plain, X[:400]).mean()
    trimmed_error = _by_hand(trimmed, X[:400]).mean()
    assert trimmed_error < plain_error


def test_auto_parameters_follow_the_data_shape():
    X = _data(n=150, d=10, n_outliers=0)
    detector = AutoencoderOutlierDetector(device="cpu", random_state=0).fit(X)
    assert detector.n_components_ == 3 == _detector_defaults.n_components(10)
    assert detector.hidden_layer_sizes_ == (5,)
    assert detector.epochs_ == 100 and detector.n_iter_ == 100
    assert detector.n_components == "auto" and detector.epochs == "auto"
    assert detector.n_estimators_ == 10 and detector.beta_ == 1.0
    assert detector.max_samples == "auto" and detector.max_samples_ == 0.5
    widths = (6, 31, 100, 101, 150, 223, 224)
    assert [_detector_defaults.n_estimators(500, d) for d in widths] == [
        10,
        10,
        10,
        9,
        4,
        2,
        1,
    ]
    # One network trains on every row.
    single = AutoencoderOutlierDetector(**FAST, n_estimators=1).fit(X)
    assert single.max_samples_ == 1.0
    # A step budget of 750: 600,000 rows take one pass (at least one), not
    # 100; 20,000 rows (100 steps per pass) take 8; 150 rows 100 (at most).
    assert _detector_defaults.STEP_BUDGET == 750
    assert _detector_defaults.epochs(600_000, 200) == 1
    assert _detector_defaults.epochs(20_000, 200) == 8
    assert _detector_defaults.epochs(150, 150) == 100


def test_ensemble_options_need_the_built_dense_networks():
    X = np.random.default_rng(0).random((40, 16)).astype(np.float32)
    detector = AutoencoderOutlierDetector(
        **FAST, image_shape=(4, 4), hidden_layer_sizes=(4,), n_components=2
    )
    with pytest.raises(ValueError, match="n_estimators and max_features"):
        detector.set_params(n_estimators=3).fit(X)
    # "auto": one network, with a plain bottleneck.
    detector.set_params(n_estimators="auto").fit(X)
    assert (detector.n_estimators_, detector.beta_) == (1, None)
    assert detector.max_samples_ == 1.0
    assert detector.feature_errors(X[:3]).shape == (3, 16)


def test_feature_error_display_names_features():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skae.plotting import FeatureErrorDisplay

    X = pd.DataFrame(_data(), columns=[f"f{i}" for i in range(6)])
    probe = X.iloc[:5].copy()
    probe.iloc[2, 1] += 12.0
    pipe = make_pipeline(StandardScaler(), AutoencoderOutlierDetector(**FAST)).fit(X)
    display = FeatureErrorDisplay.from_estimator(pipe, probe, row=2, max_features=3)
    assert display.features_[0] == "f1" and len(display.bars_) == 3
    expected = np.sort(pipe[-1].feature_errors(pipe[0].transform(probe))[2])[::-1]
    np.testing.assert_allclose([bar.get_width() for bar in display.bars_], expected[:3])

    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    display = FeatureErrorDisplay.from_estimator(detector, probe, row=2)
    assert list(display.features_) == list(
        np.asarray(X.columns)[np.argsort(-detector.feature_errors(probe)[2])]
    )
    with pytest.raises(ValueError, match="row must be"):
        FeatureErrorDisplay.from_estimator(detector, probe, row=9)
