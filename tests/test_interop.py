"""skae features feeding Keras classifiers wrapped for scikit-learn."""

import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from skae import AutoencoderTransformer

AE = dict(n_components=16, epochs=20, device="cpu", random_state=0)


def _scikeras_model(meta):
    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


def _keras_wrapper_model(X, y):
    model = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(y.shape[1], activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


def _classifiers():
    scikeras = pytest.importorskip("scikeras.wrappers")
    yield (
        "scikeras",
        scikeras.KerasClassifier(_scikeras_model, epochs=30, verbose=0, random_state=0),
    )
    yield (
        "keras",
        keras.wrappers.SKLearnClassifier(
            model=_keras_wrapper_model, fit_kwargs={"epochs": 30, "verbose": 0}
        ),
    )


@pytest.mark.parametrize("wrapper", ["scikeras", "keras"])
def test_pipeline_into_a_keras_classifier(wrapper, digits):
    X, y = digits
    classifier = dict(_classifiers())[wrapper]
    pipe = Pipeline([("ae", AutoencoderTransformer(**AE)), ("clf", classifier)])
    pipe.fit(X[:1200], y[:1200])
    predictions = pipe.predict(X[1200:])
    assert pipe.score(X[1200:], y[1200:]) > 0.8

    loaded = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(loaded.predict(X[1200:]), predictions)

    fresh = clone(pipe)
    assert fresh.get_params()["ae__n_components"] == 16
    assert not hasattr(fresh[0], "encoder_")
    fresh.set_params(ae__n_components=8).fit(X[:600], y[:600])
    assert fresh[0].transform(X[:2]).shape == (2, 8)
