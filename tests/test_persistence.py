"""Fitted estimators pickle to CPU state and load anywhere, unchanged."""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)

FAST = dict(hidden_layer_sizes=(16,), epochs=3, device="cpu", random_state=0)
ALL = [
    AutoencoderTransformer,
    DenoisingAutoencoder,
    AutoencoderOutlierDetector,
    VariationalAutoencoder,
]


def _outputs(estimator, X):
    out = {"score_samples": estimator.score_samples(X)}
    if hasattr(estimator, "transform"):
        out["transform"] = estimator.transform(X)
        out["inverse_transform"] = estimator.inverse_transform(out["transform"])
    if hasattr(estimator, "predict"):
        out["predict"] = estimator.predict(X)
        out["decision_function"] = estimator.decision_function(X)
    return out


@pytest.mark.parametrize("Estimator", ALL)
def test_pickle_round_trip_in_this_process(Estimator, digits):
    X, _ = digits
    estimator = Estimator(**FAST).fit(X[:300])
    loaded = pickle.loads(pickle.dumps(estimator))
    expected, got = _outputs(estimator, X[:50]), _outputs(loaded, X[:50])
    assert set(got) == set(expected)
    for method, values in expected.items():
        np.testing.assert_array_equal(got[method], values, err_msg=method)


@pytest.mark.parametrize("Estimator", ALL)
def test_pickle_and_joblib_in_a_fresh_process(Estimator, digits, tmp_path):
    X, _ = digits
    estimator = Estimator(**FAST).fit(X[:300])
    expected = _outputs(estimator, X)
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(estimator, f)
    joblib.dump(estimator, tmp_path / "model.joblib")

    script = textwrap.dedent(
        f"""
        import pickle, sys
        import joblib, numpy as np
        sys.path.insert(0, {str(tmp_path)!r})
        X = np.load({str(tmp_path / "X.npy")!r})
        for name, est in [
            ("pickle", pickle.load(open({str(tmp_path / "model.pkl")!r}, "rb"))),
            ("joblib", joblib.load({str(tmp_path / "model.joblib")!r})),
        ]:
            out = {{"score_samples": est.score_samples(X)}}
            if hasattr(est, "transform"):
                out["transform"] = est.transform(X)
                out["inverse_transform"] = est.inverse_transform(out["transform"])
            if hasattr(est, "predict"):
                out["predict"] = est.predict(X)
                out["decision_function"] = est.decision_function(X)
            np.savez({str(tmp_path)!r} + f"/{{name}}.npz", **out)
        """
    )
    # No skae import before unpickling: loading a model must import skae itself.
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    for name in ("pickle", "joblib"):
        loaded = np.load(tmp_path / f"{name}.npz")
        assert set(loaded.files) == set(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(loaded[key], value, err_msg=f"{name} {key}")


def test_pickle_keeps_training_state(digits):
    X, _ = digits
    ae = AutoencoderTransformer(**FAST, warm_start=True).fit(X[:300])
    loaded = pickle.loads(pickle.dumps(ae))
    assert loaded.history_ == ae.history_ and loaded.n_iter_ == 3
    # The optimizer state travels too: continued training is the same as
    # continuing without the round trip.
    ae.fit(X[:300])
    loaded.fit(X[:300])
    np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))


def test_unfitted_estimator_pickles():
    ae = AutoencoderTransformer(**FAST)
    assert pickle.loads(pickle.dumps(ae)).get_params() == ae.get_params()


def test_pickling_does_not_touch_the_estimator(digits):
    X, _ = digits
    ae = AutoencoderTransformer(**FAST).fit(X[:100])
    before = dict(vars(ae))
    pickle.dumps(ae)
    assert vars(ae).keys() == before.keys()
    assert all(vars(ae)[k] is v for k, v in before.items())


def test_gpu_model_loads_on_a_cpu_only_machine(digits):
    """A model whose device is unavailable at load time falls back to the CPU."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    X, _ = digits
    ae = AutoencoderTransformer(**FAST).fit(X[:200])
    expected = ae.transform(X)
    ae.set_params(device="cuda")  # as if it had been trained on a GPU
    with pytest.warns(UserWarning, match="Loading the model on the CPU instead"):
        loaded = pickle.loads(pickle.dumps(ae))
    assert loaded.device_.type == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), expected)


@pytest.mark.parametrize("part", ["encoder_", "decoder_"])
def test_keras_models_save_and_load(part, digits, tmp_path):
    import keras

    X, _ = digits
    ae = AutoencoderTransformer(**FAST).fit(X[:200])
    path = tmp_path / f"{part}.keras"
    getattr(ae, part).save(path)
    model = keras.models.load_model(path)
    data = X[:10] if part == "encoder_" else ae.transform(X[:10])
    expected = (
        ae.transform(X[:10]) if part == "encoder_" else ae.inverse_transform(data)
    )
    np.testing.assert_allclose(
        model.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6
    )
