"""The training engine and batched inference.

Knows nothing of estimators: :func:`train` trains a Keras model to reconstruct
its input from arrays (dense numpy or scipy CSR) with a Keras loss, optimizer,
metrics and callbacks; :func:`predict` runs a model over arrays in fixed-size
batches.

Training runs on one of two engines, chosen by :func:`select_engine`:

* ``"fast"``, a lean torch loop (the default): the data moves to the device
  once, batches are index gathers on the device, the model runs as direct torch
  calls on the Keras layers' own parameters (:mod:`skae._graph`), the optimizer
  update is a few fused torch calls on the Keras optimizer's own state
  (:mod:`skae._optim`), and losses are accumulated on the device and read once
  per epoch. Keras callbacks are driven through their documented hooks.
* ``"keras_fit"``, Keras's own ``model.fit``, for what the lean loop cannot run
  faithfully: a model that overrides ``train_step``, ``test_step``,
  ``compute_loss`` or ``compute_metrics``, and callbacks that rely on ``fit``'s
  internals (``BackupAndRestore``, ``TensorBoard``).

Both compute the same training as ``model.fit`` with the same optimizer settings
(the same loss curve within float noise; with dropout, the fast engine draws
its own masks, :func:`skae._graph._dropout_step`, so the curves agree within
noise), and both are reproducible: batch order, dropout, noise and validation
corruption come from ``seed``, never from a global random generator.

:func:`predict` gives a row the same output, to the last bit, whether it is
scored alone or inside a larger array: matrix kernels pick different code paths
for different batch shapes (a one-row product is a matrix-vector product) and
would otherwise differ in the last float32 bits. On the CPU, networks of
row-wise layers run batches padded to the few rows (at most :data:`MIN_ROWS`)
from which this processor's products agree, with kernels in the layout that
makes such batches agree; other networks and other
devices run full batches of :data:`INFERENCE_BATCH_SIZE` rows.
"""

import collections
import contextlib
import functools
import math
import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
import torch.nn.functional as F

from ._backend import device_scope, keras, to_float, torch, torch_threads
from ._ensemble import MemberDense, MemberInputs, MemberSampling
from ._graph import compile_model
from ._networks import VariationalSampling
from ._optim import make_step

__all__ = [
    "INFERENCE_BATCH_SIZE",
    "NonFiniteLossError",
    "predict",
    "row_loss",
    "select_engine",
    "train",
]

#: Rows per inference batch (every batch has exactly this shape).
INFERENCE_BATCH_SIZE = 1024

#: Callbacks that need Keras ``fit`` itself.
_FIT_ONLY_CALLBACKS = (keras.callbacks.BackupAndRestore, keras.callbacks.TensorBoard)

#: Model methods whose override means the model trains its own way.
_TRAINING_METHODS = ("train_step", "test_step", "compute_loss", "compute_metrics")


#: Floating-point operations per thread below which another torch thread costs
#: more than it saves. A small network's step is a few million operations: on
#: one thread it cannot be slowed down by the synchronisation of several, which
#: on a busy machine (or beside parallel search workers) makes each operation
#: wait for descheduled threads and training many times slower.
FLOPS_PER_THREAD = 50e6


def _flops_per_row(model):
    """Multiply-adds times two of one row through ``model``'s Dense and conv layers."""
    total = 0
    for layer in model._flatten_layers(include_self=False):
        kernel = getattr(layer, "kernel", None)
        if kernel is None or not isinstance(
            layer,
            (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose),
        ):
            continue
        size = 2 * math.prod(kernel.shape)
        if not isinstance(layer, keras.layers.Dense):
            try:  # a convolution's kernel runs once per spatial position
                size *= math.prod(layer.output.shape[1:-1])
            except (AttributeError, ValueError):
                pass
        total += size
    return total


def _usable_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _own_running_threads():
    """Threads of this process that are running or ready to run now."""
    running = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                # The state follows the parenthesised command name.
                running += f.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):
            continue
    return max(running, 1)  # at least the thread reading this


def free_cores():
    """Cores not held by other processes at this moment.

    On Linux, the runnable threads of the whole machine (``/proc/loadavg``)
    minus this process's own; elsewhere the one-minute load average minus this
    thread. An instant count, not an average: a competing process counts from
    the moment it runs, and stops counting when it stops.
    """
    cores = _usable_cores()
    try:
        with open("/proc/loadavg") as f:
            runnable = int(f.read().split()[3].partition("/")[0])
        others = runnable - _own_running_threads()
    except (OSError, ValueError, IndexError):
        try:
            others = os.getloadavg()[0] - 1
        except OSError:
            others = 0
    return max(1, cores - max(0, int(others)))


def threads_for(model, rows, training):
    """The number of torch threads worth using for ``rows`` rows of ``model``.

    At most torch's current setting (which joblib and Dask workers already
    limit); fewer for small networks, see :data:`FLOPS_PER_THREAD`; and no
    more than the cores other processes leave free (:func:`free_cores`): an
    OpenMP thread that has to share its core makes every other thread wait for
    it at each operation, and two threads on a busy 2-core machine ran 30-70
    times slower than one.
    """
    flops = rows * _flops_per_row(model) * (3 if training else 1)
    wanted = min(torch.get_num_threads(), int(flops // FLOPS_PER_THREAD))
    if wanted <= 1:
        return 1
    return max(1, min(wanted, free_cores()))


class NonFiniteLossError(ValueError):
    """Raised when the training loss becomes NaN or infinite."""


def _non_finite_loss(epoch):
    return NonFiniteLossError(
        f"The training loss became NaN or infinite in epoch {epoch + 1}. Lower "
        "learning_rate, set clipnorm, or scale X (e.g. StandardScaler)."
    )


def select_engine(model, callbacks=()):
    """Which engine trains ``model``: ``("fast", None)`` or ``("keras_fit", why)``."""
    for name in _TRAINING_METHODS:
        if getattr(type(model), name) is not getattr(keras.Model, name):
            return "keras_fit", f"the model overrides {name}"
    for callback in callbacks:
        if isinstance(callback, _FIT_ONLY_CALLBACKS):
            return "keras_fit", f"{type(callback).__name__} needs Keras fit"
    return "fast", None


# ----------------------------------------------------------------- losses

#: Keras's losses as torch functions ``(y_true, y_pred) -> one value per row``.
_TORCH_ROW_LOSSES = {
    "mse": lambda y, p: F.mse_loss(p, y, reduction="none").mean(-1),
    "mae": lambda y, p: F.l1_loss(p, y, reduction="none").mean(-1),
    "huber": lambda y, p: F.huber_loss(p, y, reduction="none", delta=1.0).mean(-1),
    "binary_crossentropy": lambda y, p: F.binary_cross_entropy(
        torch.clip(p, keras.config.epsilon(), 1.0 - keras.config.epsilon()),
        y,
        reduction="none",
    ).mean(-1),
}
_TORCH_ROW_LOSSES["mean_squared_error"] = _TORCH_ROW_LOSSES["mse"]
_TORCH_ROW_LOSSES["mean_absolute_error"] = _TORCH_ROW_LOSSES["mae"]


def _batch_mean(row_loss):
    return lambda y, p: torch.mean(row_loss(y, p))


#: The same, averaged over the batch in one call (the loss and metrics).
_TORCH_LOSSES = {
    "mse": lambda y, p: F.mse_loss(p, y),
    "mae": lambda y, p: F.l1_loss(p, y),
    "huber": lambda y, p: F.huber_loss(p, y, delta=1.0),
    "binary_crossentropy": lambda y, p: F.binary_cross_entropy(
        torch.clip(p, keras.config.epsilon(), 1.0 - keras.config.epsilon()), y
    ),
}
_TORCH_LOSSES["mean_squared_error"] = _TORCH_LOSSES["mse"]
_TORCH_LOSSES["mean_absolute_error"] = _TORCH_LOSSES["mae"]

#: Keras ``Loss`` reductions that are the mean of the per-row losses.
_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "auto")


def row_loss(loss):
    """``loss`` as ``(y_true, y_pred) -> one value per row``.

    The engine's unit: training reduces it over each batch (:func:`_batch_loss`)
    and scoring reports it. Keras's common losses run as torch functions.
    """
    if isinstance(loss, str) and loss in _TORCH_ROW_LOSSES:
        return _TORCH_ROW_LOSSES[loss]
    loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        return loss.call
    return loss


def _batch_loss(loss):
    """``loss`` as ``(y_true, y_pred, weights=None) -> scalar``.

    The one reduction of the per-row losses, for training and validation: their
    mean, as Keras averages, or with per-row ``weights`` their weighted mean
    ``sum(w * loss) / sum(w)`` (a batch of zero weights counts zero). A Keras
    ``Loss`` with another reduction keeps its own, weights applied as Keras
    applies a ``sample_weight``.
    """
    if not (isinstance(loss, str) and loss in _TORCH_LOSSES):
        loss = keras.losses.get(loss)
        if isinstance(loss, keras.losses.Loss) and (
            loss.reduction not in _MEAN_REDUCTIONS
            # a loss that reduces the batch its own way (a trimmed mean)
            or type(loss).__call__ is not keras.losses.Loss.__call__
        ):
            return lambda y, p, w=None: loss(y, p, sample_weight=w)
    rows = row_loss(loss)
    # Unweighted, one fused call over the batch where there is one (faster).
    mean = _TORCH_LOSSES.get(loss) if isinstance(loss, str) else None
    mean = mean or _batch_mean(rows)

    def reduce(y, p, w=None):
        if w is None:
            return mean(y, p)
        values = rows(y, p)
        return torch.sum(values * w) / torch.clamp(torch.sum(w), min=1e-12)

    return reduce


class _Metrics:
    """Per-epoch means of the loss and metrics, accumulated on the device."""

    def __init__(self, metrics):
        self.names, self._fns, self._keras = ["loss"], [], []
        for metric in metrics:
            if isinstance(metric, str) and metric in _TORCH_LOSSES:
                self.names.append(metric)
                self._fns.append(_TORCH_LOSSES[metric])
                continue
            obj = keras.metrics.get(metric)
            if not isinstance(obj, keras.metrics.Metric):
                name = metric if isinstance(metric, str) else obj.__name__
                obj = keras.metrics.MeanMetricWrapper(obj, name=name)
            self._keras.append(obj)
        self.names += [m.name for m in self._keras]
        self.reset()

    def reset(self):
        self._sums, self._count, self._loss_weight = None, 0, 0
        for metric in self._keras:
            metric.reset_state()

    def update(self, loss, target, output, weights=None):
        """Add a batch; its loss counts by ``weights``' sum when given."""
        n = weight = target.shape[0]
        values = [loss.detach()] + [fn(target, output) for fn in self._fns]
        batch = torch.stack(values) * n
        if weights is not None:
            weight = torch.sum(weights)
            batch[0] = loss.detach() * weight
        self._sums = batch if self._sums is None else self._sums + batch
        self._count += n
        self._loss_weight = self._loss_weight + weight
        for metric in self._keras:
            metric.update_state(target, output)

    def running_loss(self):
        return self._sums[0] / self._loss_weight

    def result(self, prefix=""):
        values = []
        if self._count:
            values = (self._sums / self._count).tolist()
            values[0] = to_float(self._sums[0] / self._loss_weight)
        values += [to_float(m.result()) for m in self._keras]
        return {
            prefix + name: value for name, value in zip(self.names, values, strict=True)
        }


# -------------------------------------------------------------- progress


class _Progress:
    """verbose=1: one Keras progress bar counting epochs; 2: a line per epoch."""

    def __init__(self, verbose, epochs, steps_per_epoch, initial_epoch):
        self.verbose = verbose
        self.epochs, self.steps = epochs, steps_per_epoch
        self.initial_epoch = initial_epoch
        self.bar = None
        self._shown = time.monotonic()
        if verbose == 1:
            self.bar = keras.utils.Progbar(epochs, unit_name="epoch")
            self.bar.stateful_metrics = _Everything()  # show values as given

    def batch(self, epoch, step, metrics):
        """Move the bar within a long epoch, at most twice a second."""
        now = time.monotonic()
        if self.bar is None or now - self._shown < 0.5:
            return
        self._shown = now
        done = epoch - self.initial_epoch + (step + 1) / self.steps
        self.bar.update(done, [("loss", float(metrics.running_loss()))])

    def epoch(self, epoch, logs, seconds):
        done = epoch + 1 - self.initial_epoch
        if self.bar is not None:
            self._shown = time.monotonic()
            self.bar.update(done, list(logs.items()))
        elif self.verbose == 2:
            shown = " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())
            total = self.initial_epoch + self.epochs
            print(f"Epoch {epoch + 1}/{total} - {seconds:.2f}s - {shown}", flush=True)

    def end(self, epoch):
        if self.bar is not None and epoch + 1 - self.initial_epoch < self.epochs:
            print(flush=True)  # stopped early: end the bar's line


class _Everything(tuple):
    """A ``stateful_metrics`` that contains every name: show values as given."""

    def __contains__(self, item):
        return True


# ------------------------------------------------------------------ data


class _Rows:
    """Training rows (and their weights, if any) on the device, gathered by index."""

    def __init__(self, x, device, weights=None):
        self.n = x.shape[0]
        self.device = device
        self._weights = None
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float32)
            self._weights = torch.from_numpy(weights).to(device)
        if sp.issparse(x):
            self._sparse, self._data = x.tocsr(), None
        else:
            self._sparse = None
            array = np.asarray(x, dtype=np.float32, order="C")
            if not array.flags.writeable:
                array = array.copy()
            self._data = torch.from_numpy(array).to(device)

    def take(self, index):
        """Rows ``index`` (a torch int64 tensor on the device)."""
        if self._sparse is None:
            return self._data.index_select(0, index)
        rows = self._sparse[index.cpu().numpy()].toarray().astype(np.float32)
        return torch.from_numpy(rows).to(self.device)

    def weights(self, index):
        """The weights of rows ``index``, or None for unweighted rows."""
        return None if self._weights is None else self._weights.index_select(0, index)

    def batches(self, size):
        """``(rows, weights)`` of consecutive batches."""
        for start in range(0, self.n, size):
            index = torch.arange(start, min(start + size, self.n), device=self.device)
            yield self.take(index), self.weights(index)


# --------------------------------------------------------------- training


def _implements_batch_hooks(callback):
    cls = type(callback)
    return any(
        getattr(cls, hook) is not getattr(keras.callbacks.Callback, hook)
        for hook in ("on_train_batch_begin", "on_train_batch_end", "on_batch_end")
    )


def train(
    model,
    x,
    *,
    loss,
    optimizer,
    epochs,
    batch_size,
    metrics=(),
    callbacks=(),
    x_val=None,
    corrupt=None,
    seed=0,
    verbose=0,
    device="cpu",
    initial_epoch=0,
    sample_weight=None,
    val_sample_weight=None,
):
    """Train ``model`` to map ``x`` (optionally corrupted) back to ``x``.

    Parameters
    ----------
    model : keras.Model
        Built on ``device``; trained in place.
    x : ndarray or scipy CSR matrix of shape (n_samples, n_features)
        Training data, also the target.
    loss : str, callable or keras.losses.Loss
        Any loss Keras's ``compile`` accepts.
    optimizer : keras.optimizers.Optimizer
        A fresh or previously used instance (its state carries on).
    epochs : int
        Number of epochs to run (after ``initial_epoch``).
    batch_size : int
        Rows per training step.
    metrics : list, default=()
        Keras metrics, reported per epoch (with a ``val_`` copy if validating).
    callbacks : list of keras.callbacks.Callback, default=()
        Called as Keras's ``fit`` calls them.
    x_val : array or None, default=None
        Validation inputs (targets are the same rows, clean).
    corrupt : callable or None, default=None
        ``corrupt(batch, generator) -> batch`` applied to every training batch
        (fresh noise each time) and once to ``x_val``.
    seed : int, default=0
        Seeds batch order, dropout and corruption.
    verbose : int, default=0
        0 silent, 1 a progress bar, 2 one line per epoch.
    device : torch.device or str, default="cpu"
        Where the model lives.
    initial_epoch : int, default=0
        Epoch numbering offset, for continued training.
    sample_weight, val_sample_weight : ndarray of shape (n_samples,) or None
        Per-row weights of ``x`` and ``x_val``: each batch's loss is the
        weighted mean of its rows' losses (see :func:`_batch_loss`).

    Returns
    -------
    history : dict of str to list of float
        Per-epoch values as in ``keras.callbacks.History.history``.

    Raises
    ------
    NonFiniteLossError
        If the loss becomes NaN or infinite; the model is left as it was at
        that point and the caller decides whether to restore it.
    """
    engine, _ = select_engine(model, callbacks)
    run = _train_fast if engine == "fast" else _train_keras_fit
    threads = threads_for(model, batch_size, training=True)
    with device_scope(device), torch_threads(threads):
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics) or None)
        return run(
            model,
            x,
            loss=loss,
            optimizer=optimizer,
            epochs=epochs,
            batch_size=batch_size,
            metrics=metrics,
            callbacks=callbacks,
            x_val=x_val,
            corrupt=corrupt,
            seed=seed,
            verbose=verbose,
            device=torch.device(device),
            initial_epoch=initial_epoch,
            sample_weight=sample_weight,
            val_sample_weight=val_sample_weight,
        )


# Randomness is a pure function of (seed, epoch, batch), so that both engines,
# and a training continued in another call, draw exactly the same batches.
_VALIDATION = -1  # the "epoch" whose noise corrupts the validation set


def _epoch_order(seed, epoch, n_samples):
    """The row order of ``epoch``."""
    return np.random.default_rng([seed, epoch + 1]).permutation(n_samples)


def _reseed(generator, seed, epoch, batch):
    """Seed ``generator`` for the noise of one batch."""
    generator.manual_seed(((seed * 1_000_003 + epoch + 1) * 1_000_033 + batch) % 2**63)
    return generator


def _train_fast(
    model,
    x,
    *,
    loss,
    optimizer,
    epochs,
    batch_size,
    metrics,
    callbacks,
    x_val,
    corrupt,
    seed,
    verbose,
    device,
    initial_epoch,
    sample_weight=None,
    val_sample_weight=None,
):
    generator = torch.Generator(device=device)
    program = compile_model(model)
    step = make_step(optimizer, model.trainable_variables)
    params = step.params
    loss_fn = _batch_loss(loss)
    # One set of metric objects, reset before validation: Keras fit does the same
    # (training results are read before the validation pass starts).
    train_metrics = val_metrics = _Metrics(metrics)

    rows = _Rows(x, device, sample_weight)
    val_rows = val_inputs = None
    if x_val is not None:
        val_rows = _Rows(x_val, device, val_sample_weight)
        if corrupt is not None:  # once, as the Keras fit engine does
            val_inputs = corrupt(
                val_rows.take(torch.arange(val_rows.n, device=device)),
                _reseed(generator, seed, _VALIDATION, 0),
            )

    _build_compiled_metrics(model, program, rows)
    steps_per_epoch = math.ceil(rows.n / batch_size)
    recorder = keras.callbacks.History()  # last, so it sees what callbacks add
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, recorder],
        model=model,
        verbose=verbose,
        epochs=initial_epoch + epochs,
        steps=steps_per_epoch,
    )
    batch_hooks = any(_implements_batch_hooks(cb) for cb in callbacks)
    progress = _Progress(verbose, epochs, steps_per_epoch, initial_epoch)
    model.stop_training = False
    epoch = initial_epoch - 1
    logs = {}

    callback_list.on_train_begin()
    for epoch in range(initial_epoch, initial_epoch + epochs):
        started = time.monotonic()
        callback_list.on_epoch_begin(epoch)
        step.sync()
        train_metrics.reset()
        order = torch.from_numpy(_epoch_order(seed, epoch, rows.n)).to(device)
        for i in range(steps_per_epoch):
            if batch_hooks:
                callback_list.on_train_batch_begin(i)
            index = order[i * batch_size : (i + 1) * batch_size]
            target, weights = rows.take(index), rows.weights(index)
            inputs = target
            if corrupt is not None:
                inputs = corrupt(target, _reseed(generator, seed, epoch, i))
            output = program(inputs, training=True)
            batch_loss = loss_fn(target, output, weights)
            extra = program.regularization_losses()
            if extra:
                batch_loss = batch_loss + sum(extra)
            for p in params:
                p.grad = None
            batch_loss.backward()
            with torch.no_grad():
                # Metrics first, on the weights this batch's loss was taken with
                # (a metric may run part of the model again: a VAE's kl_loss).
                train_metrics.update(batch_loss, target, output.detach(), weights)
                step(
                    [
                        p.grad if p.grad is not None else torch.zeros_like(p)
                        for p in params
                    ]
                )
            if batch_hooks:
                callback_list.on_train_batch_end(
                    i, {"loss": train_metrics.running_loss()}
                )
            progress.batch(epoch, i, train_metrics)
            if model.stop_training:
                break
        logs = train_metrics.result()
        if not math.isfinite(logs["loss"]):
            callback_list.on_train_end(logs)
            raise _non_finite_loss(epoch)
        if val_rows is not None:
            logs.update(_evaluate(program, val_rows, val_inputs, loss_fn, val_metrics))
        callback_list.on_epoch_end(epoch, logs)
        progress.epoch(epoch, logs, time.monotonic() - started)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    progress.end(epoch)
    return {k: [float(v) for v in values] for k, values in recorder.history.items()}


def _build_compiled_metrics(model, program, rows):
    """Build the metric objects ``compile`` made, as Keras fit does on its first step.

    The fast loop tracks metrics itself, but callbacks look at
    ``model.metrics`` to know whether a monitored metric should go up or down
    (``EarlyStopping(monitor="val_mae")``).
    """
    compiled = getattr(model, "_compile_metrics", None)
    if compiled is None or compiled.built:
        return
    with torch.no_grad():
        sample = rows.take(torch.arange(min(rows.n, 2), device=rows.device))
        compiled.build(sample, program(sample, training=False))


def _evaluate(program, rows, corrupted, loss_fn, metrics):
    """Validation loss and metrics, in inference mode, as Keras reports them."""
    metrics.reset()
    with torch.no_grad():
        for start, (target, weights) in zip(
            range(0, rows.n, INFERENCE_BATCH_SIZE),
            rows.batches(INFERENCE_BATCH_SIZE),
            strict=True,
        ):
            inputs = target
            if corrupted is not None:
                inputs = corrupted[start : start + target.shape[0]]
            output = program(inputs, training=False)
            batch_loss = loss_fn(target, output, weights)
            extra = program.regularization_losses()
            if extra:
                batch_loss = batch_loss + sum(extra)
            metrics.update(batch_loss, target, output, weights)
    return metrics.result(prefix="val_")


# ------------------------------------------------------ Keras fit engine


def _take_rows(x, index):
    rows = x[index]
    if sp.issparse(rows):
        rows = rows.toarray()
    return np.asarray(rows, dtype=np.float32, order="C")


class _ReconstructionBatches(keras.utils.PyDataset):
    """Batches ``(inputs, clean targets)`` for Keras ``fit``.

    Row order and noise come from :func:`_epoch_order` and :func:`_reseed`, as in
    the fast engine; :class:`_EpochTracker` tells the batches which epoch runs.
    Keras reads one batch before training to learn its shape: that read gets
    the first rows, clean, and draws nothing.
    """

    def __init__(self, x, batch_size, seed, corrupt, weights=None):
        super().__init__()
        self._x = x
        self._weights = weights
        self._batch_size = batch_size
        self._seed = seed
        self._corrupt = corrupt
        self._generator = torch.Generator()
        self.epoch = None
        self._order_epoch = self._order = None

    def __len__(self):
        return math.ceil(self._x.shape[0] / self._batch_size)

    def __getitem__(self, i):
        size = self._batch_size
        if self.epoch is None:  # Keras peeking at the data before training
            index = slice(i * size, (i + 1) * size)
            target = _take_rows(self._x, index)
            return self._with_weights((target, target), index)
        if self._order_epoch != self.epoch:
            self._order = _epoch_order(self._seed, self.epoch, self._x.shape[0])
            self._order_epoch = self.epoch
        target = _take_rows(self._x, self._order[i * size : (i + 1) * size])
        inputs = target
        if self._corrupt is not None:
            generator = _reseed(self._generator, self._seed, self.epoch, i)
            inputs = self._corrupt(torch.from_numpy(target), generator).numpy()
        return self._with_weights(
            (inputs, target), self._order[i * size : (i + 1) * size]
        )

    def _with_weights(self, batch, index):
        """Add the rows' weights, scaled to mean 1: Keras divides the weighted
        sum by the batch size, which then gives the weighted mean."""
        if self._weights is None:
            return batch
        return (*batch, _normalised(self._weights[index]))


def _normalised(weights):
    weights = np.asarray(weights, dtype=np.float32)
    mean = weights.mean()
    return weights / mean if mean > 0 else weights


class _EpochTracker(keras.callbacks.Callback):
    """Tells the batches the epoch number Keras ``fit`` is starting."""

    def __init__(self, batches):
        super().__init__()
        self._batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self._batches.epoch = epoch


class _StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop training at the first batch whose loss is NaN or infinite."""

    def __init__(self):
        super().__init__()
        self.bad_epoch = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_epoch = self._epoch
            self.model.stop_training = True


def _train_keras_fit(
    model,
    x,
    *,
    loss,
    optimizer,
    epochs,
    batch_size,
    metrics,
    callbacks,
    x_val,
    corrupt,
    seed,
    verbose,
    device,
    initial_epoch,
    sample_weight=None,
    val_sample_weight=None,
):
    validation_data = None
    if x_val is not None:
        val_target = _take_rows(x_val, slice(None))
        val_inputs = val_target
        if corrupt is not None:
            generator = _reseed(torch.Generator(), seed, _VALIDATION, 0)
            val_inputs = corrupt(torch.from_numpy(val_target), generator).numpy()
        validation_data = (val_inputs, val_target)
        if val_sample_weight is not None:
            validation_data += (_normalised(val_sample_weight),)
    stop_on_nan = _StopOnNonFiniteLoss()
    batches = _ReconstructionBatches(x, batch_size, seed, corrupt, sample_weight)
    history = model.fit(
        batches,
        epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch,
        validation_data=validation_data,
        validation_batch_size=batch_size,
        callbacks=[_EpochTracker(batches), stop_on_nan, *callbacks],
        shuffle=False,  # the batches shuffle themselves, from our seed
        verbose=verbose,
    )
    if stop_on_nan.bad_epoch is not None:
        raise _non_finite_loss(stop_on_nan.bad_epoch)
    return {k: [float(v) for v in values] for k, values in history.history.items()}


# --------------------------------------------------------------- inference

#: On the CPU, the most rows a batch is padded to (with zero rows) for its
#: matrix products to give each row the same bits in every batch: with Dense
#: kernels in :func:`~skae._graph.compile_model`'s inference layout, MKL's
#: products agree from 16 rows on some processors, from 4 rows on others.
#: :func:`_fewest_rows` measures, per product shape, how many this processor
#: needs; shapes it does not measure get this many.
MIN_ROWS = 16

#: Batch sizes at which :func:`_fewest_rows` compares a product's rows with
#: those of a full batch of the network's batch size: every size up to 32 and
#: a few larger ones (sizes in between are not checked).
_PROBE_SIZES = (*range(1, 33), 40, 48, 64, 65, 100, 257)

#: Where in the full batch the compared rows start: at the first row and
#: further in, so that a few rows cannot agree by chance.
_PROBE_OFFSETS = (0, 5)

#: Products with more weights than this are not measured (the measurement
#: would cost more than it saves): they get :data:`MIN_ROWS`.
_PROBE_WEIGHTS = 2**19

#: Every tensor of a batch holds a multiple of this many values: torch's
#: element-wise kernels then run each element in their vectorised body (their
#: scalar remainder loop can round transcendental functions, such as
#: ``sigmoid``, differently). A batch's rows are rounded up to the smallest
#: multiple that achieves it for every layer's width (2 for widths that are
#: multiples of 16, 32 for odd widths).
ROW_BLOCK = 32

#: On the CPU, a batch of a row-wise network holds at least this many values
#: in its widest layer (1 MiB of float32), and at least
#: :data:`INFERENCE_BATCH_SIZE` rows.
BLOCK_VALUES = 2**18

#: Keras layers that compute each row on its own, with element-wise operations
#: and per-row reductions only: a network whose other layers are all compiled
#: Dense and Activation layers runs on batches of any size the rows need
#: (:data:`MIN_ROWS`, :data:`ROW_BLOCK`). Anything else (convolutions, custom
#: layers) runs on full batches of :data:`INFERENCE_BATCH_SIZE` rows.
_ROW_WISE_LAYERS = (
    VariationalSampling,
    MemberInputs,
    MemberDense,  # its inference_call: one product per member, in that layout
    MemberSampling,
    keras.layers.Dropout,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.Identity,
)


class _Inference:
    """What :func:`predict` needs of a model, worked out once per model.

    Programs hold the model's parameter tensors, which Keras updates in place,
    so a cached program always computes with the current weights.
    """

    def __init__(self, model):
        self.program = compile_model(model, inference=True)
        self.flops_per_row = _flops_per_row(model)
        self.row_wise = all(
            isinstance(op, _ROW_WISE_LAYERS) for op in self.program.keras_layers
        )
        widths = _widths(model)
        self.row_multiple = max(
            ROW_BLOCK // math.gcd(ROW_BLOCK, width) for width in widths
        )
        rows = BLOCK_VALUES // max(widths)
        self.batch_rows = max(INFERENCE_BATCH_SIZE, rows - rows % ROW_BLOCK)
        self._products = _product_shapes(model)
        self.row_shape = _row_shape(model)

    @functools.cached_property
    def min_rows(self):
        """The fewest rows of a CPU batch: the most any of the network's
        products needs (measured once per shape, on first use)."""
        return max(
            (_fewest_rows(*shape, self.batch_rows) for shape in self._products),
            default=MIN_ROWS,
        )

    def rows(self, n):
        """Rows of the batch that holds ``n`` rows on the CPU: at least
        :attr:`min_rows`, rounded up to a multiple of :attr:`row_multiple`."""
        multiple = self.row_multiple
        return -(-max(n, self.min_rows) // multiple) * multiple

    def threads(self, rows):
        flops = rows * self.flops_per_row
        return max(1, min(torch.get_num_threads(), int(flops // FLOPS_PER_THREAD)))


def _row_shape(model):
    """The shape of one row of ``model``'s output, or None where Keras does
    not know it."""
    try:
        shape = tuple(model.output_shape[1:])
    except (AttributeError, ValueError, TypeError):
        return None
    return shape if all(isinstance(d, int) and d > 0 for d in shape) else None


def _product_shapes(model):
    """``(n_in, n_out, bias)`` of each matrix product of ``model``'s Dense and
    MemberDense layers, as an inference program runs them (a one-output
    kernel gets a zero second output, :class:`~skae._graph._TransposedKernel`)."""
    shapes = set()
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, MemberDense):
            bias = True
        elif isinstance(layer, keras.layers.Dense):
            bias = layer.use_bias
        else:
            continue
        n_in, n_out = layer.kernel.shape[-2:]
        shapes.add((int(n_in), max(int(n_out), 2), bool(bias)))
    return shapes


@functools.cache
def _fewest_rows(n_in, n_out, bias, max_rows):
    """The fewest rows from which this processor's one-thread product of an
    ``(n_in, n_out)`` kernel, in the inference layout, gives each row the same
    bits as in a batch of ``max_rows`` rows: measured on random values (kernel
    selection depends on the shapes, not on the values) at the
    :data:`_PROBE_SIZES` and :data:`_PROBE_OFFSETS`; at most
    :data:`MIN_ROWS`."""
    if n_in * n_out > _PROBE_WEIGHTS:
        return MIN_ROWS
    generator = torch.Generator().manual_seed(0)
    kernel = torch.randn((n_out, n_in), generator=generator).t()  # (in, out) view
    offset = torch.randn(n_out, generator=generator) if bias else None
    x = torch.randn((max_rows, n_in), generator=generator)

    def product(rows):
        if offset is None:
            return torch.matmul(rows, kernel)
        return torch.addmm(offset, rows, kernel)

    with torch.no_grad(), torch_threads(1):
        full = product(x)
        differ = [
            n
            for n in _PROBE_SIZES
            for start in _PROBE_OFFSETS
            if start + n < max_rows
            and not torch.equal(product(x[start : start + n]), full[start : start + n])
        ]
    return min(MIN_ROWS, max(differ, default=0) + 1)


def _widths(model):
    """The values per row of ``model``'s input and of every layer's output
    (1, which rounds to whole row blocks, where one is not known)."""
    shapes = [model.input_shape]
    for layer in model._flatten_layers(include_self=False):
        try:
            shapes.append(layer.output.shape)
        except (AttributeError, ValueError):
            shapes.append(None)
    return [_row_size(shape) for shape in shapes]


def _row_size(shape):
    if not shape or len(shape) < 2:
        return 1
    dims = shape[1:]
    if not all(isinstance(d, int) and d > 0 for d in dims):
        return 1
    return math.prod(dims)


def _inference(model):
    """The cached :class:`_Inference` of ``model``."""
    plan = _PLANS.get(model)
    if plan is None:
        plan = _PLANS[model] = _Inference(model)
    return plan


def _inference_program(model):
    """The compiled inference program of ``model``, cached per model."""
    return _inference(model).program


_PLANS = weakref.WeakKeyDictionary()


def predict(model, x, *, device, reduce=None, batch_size=None):
    """Run ``model`` over ``x`` in batches; return numpy.

    A row gets the same output, to the last bit, whether it is run alone or
    inside a larger array. On the CPU, for networks of Dense layers (see
    :data:`_ROW_WISE_LAYERS`), batches hold the rows rounded up as
    :func:`_fewest_rows` and :data:`ROW_BLOCK` say, and every product runs on one
    torch thread (several
    threads split some products differently with the batch size); with more
    torch threads allowed, batches run side by side on that many threads.
    Other networks and other devices run full batches of ``batch_size`` rows,
    the last one zero-padded.

    Parameters
    ----------
    model : keras.Model
        One input, one output; run as direct torch calls (:mod:`skae._graph`).
    x : ndarray, numpy.memmap or scipy sparse matrix of shape (n_samples, n_features)
        Read ``batch_size`` rows at a time: a memory-mapped array is never
        loaded whole.
    device : torch.device
    reduce : callable or None, default=None
        ``reduce(inputs, outputs) -> tensor``, applied per batch before the
        result leaves the device (e.g. a per-sample reconstruction error), so
        that only the reduced values are kept. It must compute each row from
        that row alone.
    batch_size : int or None, default=None
        Rows per batch. None: :data:`INFERENCE_BATCH_SIZE`, or on the CPU for
        a network of row-wise layers, as many rows as hold
        :data:`BLOCK_VALUES` values in the widest layer, if that is more
        (narrow networks then pay the per-batch cost less often).

    Returns
    -------
    ndarray of shape (n_samples, ...)
    """
    n_samples = x.shape[0]
    device = torch.device(device)
    plan = _inference(model)
    blocks = device.type == "cpu" and plan.row_wise
    if batch_size is None:
        batch_size = plan.batch_rows if blocks else INFERENCE_BATCH_SIZE
    if blocks and n_samples <= batch_size and plan.program.torch_only:
        return _predict_one_batch(plan, x, reduce)
    starts = range(0, n_samples, batch_size)
    # Several CPU batches of a network's output: each batch's last layer
    # writes straight into the result (padded for the last batch) rather than
    # into a batch of its own that is then copied in.
    into = None
    if (
        blocks
        and reduce is None
        and len(starts) > 1
        and plan.row_shape is not None
        and plan.rows(batch_size) == batch_size
    ):
        padded_rows = starts[-1] + plan.rows(n_samples - starts[-1])
        into = torch.empty((padded_rows, *plan.row_shape), dtype=torch.float32)
    pinned = None
    if not blocks and device.type == "cuda":  # page-locked: full-speed copies
        pinned = torch.zeros((batch_size, x.shape[1]), pin_memory=True)

    local = threading.local()  # one staging buffer per thread, reused

    def staging(padded):
        if pinned is not None:
            return pinned
        held = getattr(local, "buffer", None)
        if held is None or held.shape[0] < padded:
            held = local.buffer = torch.empty((padded, x.shape[1]))
        return held[:padded]

    def run(start):
        stop = min(start + batch_size, n_samples)
        rows = stop - start
        padded = plan.rows(rows) if blocks else batch_size
        host = _host_batch(x, start, stop, padded, staging)
        inputs = host.to(device)
        if into is not None:
            plan.program(inputs, training=False, out=into[start : start + padded])
            return None
        out = plan.program(inputs, training=False)
        if reduce is not None:
            out = reduce(inputs, out)
        result = np.ascontiguousarray(out[:rows].detach().to("cpu").numpy())
        if np.shares_memory(result, host.numpy()):  # the next batch reuses host
            result = result.copy()
        return result

    def run_in_thread(start):
        # Grad mode, Keras's device scope and OpenMP's thread count are per thread.
        torch.set_num_threads(1)
        with torch.no_grad(), device_scope(device):
            return run(start)

    with torch.no_grad(), device_scope(device):
        if not blocks:
            with torch_threads(plan.threads(batch_size)):
                return _gather(map(run, starts), starts, n_samples)
        workers = min(torch.get_num_threads(), len(starts), plan.threads(n_samples))
        if plan.program.keras_layers:  # Keras layers may keep per-call state
            workers = 1
        with torch_threads(1), contextlib.ExitStack() as stack:
            if workers <= 1:
                parts = map(run, starts)
            else:
                pool = stack.enter_context(ThreadPoolExecutor(workers))
                parts = pool.map(run_in_thread, starts)
            if into is None:
                return _gather(parts, starts, n_samples)
            collections.deque(parts, maxlen=0)  # each batch fills its rows
    return into[:n_samples].numpy()


def _predict_one_batch(plan, x, reduce):
    """:func:`predict` of a few rows on the CPU through a network of plain
    torch steps (nothing in it creates tensors through Keras): the same batch
    as :func:`predict` runs, without its batching machinery, which costs as
    much as the network on one row."""
    n_samples = x.shape[0]
    padded = plan.rows(n_samples)
    host = _host_batch(
        x, 0, n_samples, padded, lambda rows: torch.empty(rows, x.shape[1])
    )
    with torch.no_grad(), torch_threads(1):
        out = plan.program(host, training=False)
        if reduce is not None:
            # A custom loss in ``reduce`` may create tensors through Keras,
            # whose default device is a GPU where there is one.
            with device_scope("cpu"):
                out = reduce(host, out)
    # C order whatever the program's layout (an ensemble's is member-major):
    # numpy's reductions over a result give the same bits in every batch.
    result = np.ascontiguousarray(out.numpy()[:n_samples])
    # host may be the caller's array: a result that is (a view of) it is copied.
    if out.untyped_storage().data_ptr() == host.untyped_storage().data_ptr():
        result = result.copy()
    return result


def _gather(parts, starts, n_samples):
    """The batches' results in one array, each copied in as it comes.

    Holding every batch's result until the end would leave small live blocks
    between the batches' freed ones, and the allocator would keep memory in
    proportion to the input (a memory-mapped input's size, not a batch's).
    """
    result = None
    for start, part in zip(starts, parts, strict=True):
        if len(starts) == 1:
            return part
        if result is None:
            result = np.empty((n_samples, *part.shape[1:]), dtype=part.dtype)
        result[start : start + part.shape[0]] = part
    return result


def _host_batch(x, start, stop, padded, staging):
    """Rows ``start:stop`` of ``x`` as a float32 CPU tensor of ``padded`` rows.

    Float32 C-contiguous writable rows that need no padding are used in place;
    others are copied into ``staging(padded)``, a float32 tensor (which also
    casts, densifies sparse rows and reads read-only or memory-mapped input),
    the padding rows set to zero.
    """
    rows = x[start:stop]
    n = stop - start
    if (
        n == padded
        and isinstance(rows, np.ndarray)
        and rows.dtype == np.float32
        and rows.flags.c_contiguous
        and rows.flags.writeable
    ):
        return torch.from_numpy(np.asarray(rows))
    host = staging(padded)
    array = host.numpy()
    array[:n] = rows.toarray() if sp.issparse(rows) else rows
    array[n:] = 0.0
    return host
