"""The training engine: same training as Keras fit, callbacks, fallbacks."""

import csv
import itertools

import keras
import numpy as np
import pytest
import torch

import skae._training as training
from skae._networks import build_autoencoder, join
from skae._training import (
    INFERENCE_BATCH_SIZE,
    NonFiniteLossError,
    predict,
    select_engine,
    train,
)

X = np.random.default_rng(0).random((400, 12)).astype(np.float32)


def _model(**kwargs):
    kwargs.setdefault("hidden_layer_sizes", (16,))
    return join(*build_autoencoder(12, n_components=3, seed=0, **kwargs))


def _train(engine, optimizer, *, model=None, **kwargs):
    """Train a fresh small model with one engine; return history and model."""
    model = model or _model(**kwargs.pop("net", {}))
    params = dict(
        loss="mse",
        optimizer=optimizer,
        epochs=8,
        batch_size=64,
        metrics=[],
        callbacks=[],
        x_val=None,
        corrupt=None,
        seed=3,
        verbose=0,
        device=torch.device("cpu"),
        initial_epoch=0,
    )
    params.update(kwargs)
    model.compile(optimizer=optimizer, loss=params["loss"], metrics=params["metrics"])
    run = training._train_fast if engine == "fast" else training._train_keras_fit
    return run(model, X, **params), model


OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adam_clipnorm": lambda: keras.optimizers.Adam(0.01, clipnorm=0.05),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.05),
    "adamw_biases_excluded": lambda: _excluding_biases(
        keras.optimizers.AdamW(0.01, weight_decay=0.5)
    ),
    "sgd": lambda: keras.optimizers.SGD(0.1),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.003),
    "rmsprop_momentum_clipnorm": lambda: keras.optimizers.RMSprop(
        0.003, momentum=0.5, clipnorm=0.1
    ),
    # Not fused: the lean loop calls optimizer.apply.
    "ftrl": lambda: keras.optimizers.Ftrl(0.05),
}


def _excluding_biases(optimizer):
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_same_loss_curve_as_keras_fit(name):
    fast, fast_model = _train("fast", OPTIMIZERS[name]())
    fit, fit_model = _train("fit", OPTIMIZERS[name]())
    np.testing.assert_allclose(fast["loss"], fit["loss"], rtol=1e-4)
    for a, b in zip(fast_model.get_weights(), fit_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_same_curve_with_l2_validation_metrics_and_noise():
    def corrupt(batch, generator):
        return batch + 0.1 * torch.randn(batch.shape, generator=generator)

    def max_error(y_true, y_pred):  # a plain function, wrapped as Keras does
        return keras.ops.max(keras.ops.abs(y_true - y_pred), axis=-1)

    params = dict(
        net=dict(l2=1e-3),
        metrics=["mae", "mse", max_error],
        x_val=X[:80],
        corrupt=corrupt,
    )
    fast, _ = _train("fast", keras.optimizers.Adam(0.01), **params)
    fit, _ = _train("fit", keras.optimizers.Adam(0.01), **params)
    assert (
        set(fast)
        == set(fit)
        == {"loss", "mae", "mse", "max_error"}
        | {"val_loss", "val_mae", "val_mse", "val_max_error"}
    )
    for key in fit:
        np.testing.assert_allclose(fast[key], fit[key], rtol=1e-4, err_msg=key)
    # The L2 penalty is part of the loss: loss > mse.
    assert all(loss > mse for loss, mse in zip(fast["loss"], fast["mse"], strict=True))


def test_dropout_curve_matches_within_noise():
    """Dropout masks come from different generators: the curves agree loosely."""
    params = dict(net=dict(dropout=0.2), epochs=30)
    fast, _ = _train("fast", keras.optimizers.Adam(0.01), **params)
    fit, _ = _train("fit", keras.optimizers.Adam(0.01), **params)
    np.testing.assert_allclose(fast["loss"], fit["loss"], rtol=0.1)
    assert fast["loss"][-1] < 0.8 * fast["loss"][0]


def test_keras_layers_without_a_fast_kernel_still_train_the_same():
    """Layers skae does not compile run through Keras inside the fast loop."""

    def model():
        inputs = keras.Input((12,))
        h = keras.layers.Dense(8, activation="tanh", name="d0")(inputs)
        h = keras.layers.LayerNormalization(name="norm")(h)
        h = keras.layers.Dense(3, name="code")(h)
        outputs = keras.layers.Dense(12, name="out")(h)
        return keras.Model(inputs, outputs)

    keras.utils.set_random_seed(0)
    first = model()
    second = model()
    second.set_weights(first.get_weights())
    fast, _ = _train("fast", keras.optimizers.Adam(0.01), model=first)
    fit, _ = _train("fit", keras.optimizers.Adam(0.01), model=second)
    np.testing.assert_allclose(fast["loss"], fit["loss"], rtol=1e-4)


def test_select_engine_falls_back_to_keras_fit_and_says_why(tmp_path):
    assert select_engine(_model()) == ("fast", None)

    class OwnStep(keras.Model):
        steps = 0

        def train_step(self, data):
            type(self).steps += 1
            return super().train_step(data)

    inputs = keras.Input((12,))
    model = OwnStep(inputs, keras.layers.Dense(12)(keras.layers.Dense(3)(inputs)))
    assert select_engine(model) == ("keras_fit", "the model overrides train_step")
    backup = keras.callbacks.BackupAndRestore(str(tmp_path))
    assert select_engine(_model(), [backup]) == (
        "keras_fit",
        "BackupAndRestore needs Keras fit",
    )
    # train() routes such a model through Keras fit: its own train_step runs.
    history = train(
        model,
        X,
        loss="mse",
        optimizer=keras.optimizers.Adam(),
        epochs=2,
        batch_size=100,
    )
    assert OwnStep.steps == 8 and len(history["loss"]) == 2


def test_early_stopping_restores_the_best_weights():
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append([w.copy() for w in self.model.get_weights()])

    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history, model = _train(
        "fast",
        keras.optimizers.SGD(2.0),  # too large: the validation loss wanders
        x_val=X[:80],
        epochs=50,
        callbacks=[Snapshot(), stop],
    )
    assert len(history["loss"]) < 50
    best = int(np.argmin(history["val_loss"]))
    for restored, saved in zip(model.get_weights(), snapshots[best], strict=True):
        np.testing.assert_array_equal(restored, saved)


def test_terminate_on_nan_stops_at_the_bad_batch():
    batches = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    with pytest.raises(NonFiniteLossError, match="NaN or infinite in epoch 1"):
        train(
            _model(),
            X * 1e30,
            loss="mse",
            optimizer=keras.optimizers.SGD(0.1),
            epochs=3,
            batch_size=50,
            callbacks=[keras.callbacks.TerminateOnNaN(), Count()],
        )
    assert batches == [0]


def test_csv_logger_writes_every_epoch(tmp_path):
    path = tmp_path / "log.csv"
    history, _ = _train(
        "fast",
        keras.optimizers.Adam(),
        x_val=X[:80],
        metrics=["mae"],
        epochs=3,
        callbacks=[keras.callbacks.CSVLogger(str(path))],
    )
    rows = list(csv.DictReader(path.open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(r["val_mae"]) for r in rows], history["val_mae"])


def test_reduce_lr_on_plateau_as_in_keras_fit():
    def reduce():
        return keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=1
        )

    params = dict(epochs=12, x_val=X[:80])
    fast, _ = _train("fast", keras.optimizers.SGD(2.0), callbacks=[reduce()], **params)
    fit, _ = _train("fit", keras.optimizers.SGD(2.0), callbacks=[reduce()], **params)
    assert fast["learning_rate"] == fit["learning_rate"]
    assert fast["learning_rate"][-1] < fast["learning_rate"][0]
    np.testing.assert_allclose(fast["loss"], fit["loss"], rtol=1e-4)


def test_learning_rate_takes_effect_from_the_next_epoch():
    """A schedule setting lr=0 from epoch 2 freezes the weights from then on."""
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights()[0].copy())

    schedule = keras.callbacks.LearningRateScheduler(
        lambda e, lr: 0.05 if e < 2 else 0.0
    )
    _train(
        "fast", keras.optimizers.SGD(0.05), epochs=4, callbacks=[schedule, Snapshot()]
    )
    assert not np.array_equal(snapshots[0], snapshots[1])
    np.testing.assert_array_equal(snapshots[1], snapshots[3])


def test_user_callback_sees_loss_validation_and_every_metric():
    seen = {}

    class Spy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["params"] = dict(self.params)

        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = dict(logs)

    _train(
        "fast",
        keras.optimizers.Adam(),
        x_val=X[:80],
        metrics=["mae", keras.metrics.RootMeanSquaredError()],
        epochs=2,
        callbacks=[Spy()],
    )
    assert set(seen[1]) == {
        "loss",
        "mae",
        "root_mean_squared_error",
        "val_loss",
        "val_mae",
        "val_root_mean_squared_error",
    }
    assert seen["params"] == {"verbose": 0, "epochs": 2, "steps": 7}


def test_continued_training_draws_new_batches():
    history, model = _train("fast", keras.optimizers.Adam(), epochs=2)
    again, _ = _train(
        "fast", keras.optimizers.Adam(), model=model, epochs=2, initial_epoch=2
    )
    assert again["loss"][0] < history["loss"][0]


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_progress(verbose, capsys):
    history, _ = _train(
        "fast", keras.optimizers.Adam(), epochs=2, verbose=verbose, x_val=X[:50]
    )
    out = capsys.readouterr().out
    if verbose == 2:
        lines = [line for line in out.splitlines() if line.startswith("Epoch ")]
        assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
        for line, loss in zip(lines, history["loss"], strict=True):
            assert f"loss: {loss:.4g}" in line and "val_loss" in line
    else:
        assert "2/2" in out and "/epoch" in out and "val_loss" in out


def test_progress_bar_shows_the_running_loss_within_an_epoch(monkeypatch):
    # Within an epoch, the bar shows the mean loss of the batches so far: with
    # one long epoch, its last value is the epoch's loss.
    shown, clock = [], itertools.count()
    monkeypatch.setattr(training.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(
        keras.utils.Progbar, "update", lambda self, n, values: shown.append(values)
    )
    weights = np.where(np.arange(len(X)) % 2 == 0, 1.0, 3.0)
    history, _ = _train(
        "fast", keras.optimizers.SGD(0.0), epochs=1, verbose=1, sample_weight=weights
    )
    within = [dict(values) for values in shown if values and values[0][0] == "loss"]
    assert len(within) > 1
    assert within[-2]["loss"] == pytest.approx(history["loss"][0], rel=1e-5)


def test_predict_is_batch_invariant():
    model = _model(hidden_layer_sizes=(64, 32))
    data = np.random.default_rng(1).random((2 * INFERENCE_BATCH_SIZE + 77, 12))
    data = data.astype(np.float32)
    full = predict(model, data, device="cpu")
    rng = np.random.default_rng(2)
    for size in [1, 2, 3, 100, INFERENCE_BATCH_SIZE, INFERENCE_BATCH_SIZE + 1]:
        rows = rng.choice(len(data), size, replace=False)
        np.testing.assert_array_equal(
            predict(model, data[rows], device="cpu"), full[rows]
        )


def test_predict_matches_keras_and_reads_any_array():
    model = _model()
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(
        predict(model, X, device="cpu"), expected, rtol=1e-5, atol=1e-6
    )
    read_only = X.astype(np.float64)
    read_only.flags.writeable = False
    np.testing.assert_allclose(
        predict(model, read_only, device="cpu"), expected, rtol=1e-5, atol=1e-6
    )
    errors = predict(model, X, device="cpu", reduce=keras.losses.mean_squared_error)
    np.testing.assert_allclose(errors, ((expected - X) ** 2).mean(axis=1), rtol=1e-5)


def test_a_nested_model_called_twice_computes_both_calls():
    # A shared sub-model (e.g. one encoder applied to two halves of a row).
    i = keras.Input((4,))
    inner = keras.Model(i, keras.layers.Dense(3, activation="tanh")(i))
    x = keras.Input((8,))
    halves = (
        keras.layers.Lambda(lambda t: t[:, :4])(x),
        keras.layers.Lambda(lambda t: t[:, 4:])(x),
    )
    model = keras.Model(x, keras.layers.Concatenate()([inner(h) for h in halves]))
    rows = np.random.default_rng(0).random((5, 8), dtype=np.float32)
    np.testing.assert_allclose(
        predict(model, rows, device="cpu"),
        model.predict(rows, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_data_moves_to_the_device_once_per_fit(monkeypatch):
    """The device path (CI has no GPU): rows are sent once, batches gathered there."""
    sent, taken = [], []
    original_init, original_take = training._Rows.__init__, training._Rows.take

    def init(self, x, device, *weights):
        sent.append((x.shape, device))
        original_init(self, x, device, *weights)

    def take(self, index):
        assert index.device == self.device  # indices are made on the device
        batch = original_take(self, index)
        taken.append(batch.device)
        return batch

    monkeypatch.setattr(training._Rows, "__init__", init)
    monkeypatch.setattr(training._Rows, "take", take)
    history, model = _train("fast", keras.optimizers.Adam(), epochs=3, x_val=X[:80])
    device = torch.device("cpu")
    assert sent == [(X.shape, device), ((80, 12), device)]
    # 7 training and 1 validation batches per epoch, and one 2-row sample to
    # build the compiled metrics.
    assert len(taken) == 3 * (7 + 1) + 1 and set(taken) == {device}
    out = predict(model, X[:5], device=device)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32


def test_early_stopping_on_a_metric_knows_its_direction():
    """EarlyStopping(monitor="val_mae") infers "min" from the compiled metric."""

    def stop():
        return keras.callbacks.EarlyStopping(monitor="val_mae", patience=1)

    params = dict(metrics=["mae"], x_val=X[:80], epochs=40)
    fast, _ = _train("fast", keras.optimizers.SGD(2.0), callbacks=[stop()], **params)
    fit, _ = _train("fit", keras.optimizers.SGD(2.0), callbacks=[stop()], **params)
    assert len(fast["val_mae"]) == len(fit["val_mae"]) < 40


def test_thread_count_follows_the_work(monkeypatch):
    """Small networks run on one torch thread, large ones on all allowed."""
    from skae._training import threads_for

    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    monkeypatch.setattr(training, "free_cores", lambda: 4)  # a quiet machine
    large = join(*build_autoencoder(784, n_components=16, hidden_layer_sizes=(256, 64)))
    assert threads_for(_model(), 256, training=True) == 1
    assert threads_for(large, 256, training=True) == 4
    assert threads_for(large, 1, training=False) == 1


def test_torch_threads_are_restored_after_training():
    from skae._backend import torch_threads

    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(before + 1):
        raise RuntimeError
    assert torch.get_num_threads() == before
