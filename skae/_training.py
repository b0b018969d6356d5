"""The training engine and batched inference.

Knows nothing of estimators: it trains a Keras model to reconstruct its input
from arrays (dense numpy or scipy CSR), with a Keras loss, optimizer, metrics and
callbacks, and runs a model over arrays in fixed-size batches.

Two properties the estimators rely on:

* Reproducible: batch order, validation corruption and input corruption come
  from the ``seed`` given here and per-layer seeds, never from a global RNG.
* Batch-invariant inference: :func:`predict` always evaluates full batches of
  :data:`INFERENCE_BATCH_SIZE` rows (the last one zero-padded), so a row gets the
  same output whether it is scored alone or inside a larger array. Matrix kernels
  pick different code paths for different batch shapes (a one-row product is a
  matrix-vector product) and would otherwise differ in the last float32 bits.
"""

import math

import numpy as np
import scipy.sparse as sp

from ._backend import device_scope, keras, torch

__all__ = ["INFERENCE_BATCH_SIZE", "predict", "train"]

#: Rows per inference batch (every batch has exactly this shape).
INFERENCE_BATCH_SIZE = 1024


def _dense_rows(x, start, stop):
    """Rows ``start:stop`` of ``x`` as a float32 C-contiguous numpy array."""
    rows = x[start:stop]
    if sp.issparse(rows):
        rows = rows.toarray()
    return np.asarray(rows, dtype=np.float32, order="C")


def _take_rows(x, index):
    rows = x[index]
    if sp.issparse(rows):
        rows = rows.toarray()
    return np.asarray(rows, dtype=np.float32, order="C")


class _ReconstructionBatches(keras.utils.PyDataset):
    """Batches ``(inputs, clean targets)`` in a fresh seeded order every epoch."""

    def __init__(self, x, batch_size, rng, corrupt, generator):
        super().__init__()
        self._x = x
        self._batch_size = batch_size
        self._rng = rng
        self._corrupt = corrupt
        self._generator = generator
        self._order = rng.permutation(x.shape[0])

    def __len__(self):
        return math.ceil(self._x.shape[0] / self._batch_size)

    def __getitem__(self, i):
        index = self._order[i * self._batch_size : (i + 1) * self._batch_size]
        target = _take_rows(self._x, index)
        inputs = target
        if self._corrupt is not None:
            inputs = self._corrupt(torch.from_numpy(target), self._generator).numpy()
        return inputs, target

    def on_epoch_end(self):
        self._order = self._rng.permutation(self._x.shape[0])


class _StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop training at the first batch whose loss is NaN or infinite."""

    def __init__(self):
        super().__init__()
        self.bad_epoch = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_epoch = self._epoch
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


class NonFiniteLossError(ValueError):
    """Raised when the training loss becomes NaN or infinite."""


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
):
    """Train ``model`` to map ``x`` (optionally corrupted) back to ``x``.

    Parameters
    ----------
    model : keras.Model
        Built on ``device``; trained in place.
    x : ndarray or scipy CSR matrix of shape (n_samples, n_features)
        Training data, also the target.
    loss : keras loss (name, function or ``keras.losses.Loss``)
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
        Seeds batch order and corruption.
    verbose : int, default=0
        0 silent, 1 a progress bar, 2 one line per epoch.
    device : torch.device or str, default="cpu"
        Where the model lives.
    initial_epoch : int, default=0
        Epoch numbering offset, for continued training.

    Returns
    -------
    history : dict of str to list of float
        Per-epoch values as in ``keras.callbacks.History.history``.

    Raises
    ------
    NonFiniteLossError
        If the loss becomes NaN or infinite; the model is then left as it was
        at that point and the caller decides whether to restore it.
    """
    rng = np.random.default_rng(seed)
    generator = torch.Generator(device="cpu")
    generator.manual_seed(int(rng.integers(0, 2**62)))

    validation_data = None
    if x_val is not None:
        val_target = _dense_rows(x_val, 0, x_val.shape[0])
        val_inputs = val_target
        if corrupt is not None:
            val_inputs = corrupt(torch.from_numpy(val_target), generator).numpy()
        validation_data = (val_inputs, val_target)

    stop_on_nan = _StopOnNonFiniteLoss()
    with device_scope(device):
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics) or None)
        batches = _ReconstructionBatches(x, batch_size, rng, corrupt, generator)
        history = model.fit(
            batches,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            validation_data=validation_data,
            validation_batch_size=batch_size,
            callbacks=[stop_on_nan, *callbacks],
            shuffle=False,  # the batches shuffle themselves, from our seed
            verbose=verbose,
        )
    if stop_on_nan.bad_epoch is not None:
        raise NonFiniteLossError(
            f"The training loss became NaN or infinite in epoch "
            f"{stop_on_nan.bad_epoch + 1}. Lower learning_rate, set clipnorm, or "
            "scale X (e.g. StandardScaler)."
        )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def predict(fn, x, *, device, reduce=None, batch_size=INFERENCE_BATCH_SIZE):
    """Apply ``fn`` to ``x`` in fixed-shape batches and return numpy float32.

    Parameters
    ----------
    fn : callable
        Maps a float32 torch tensor of shape (batch_size, n_features) on
        ``device`` to a tensor of shape (batch_size, ...).
    x : ndarray or scipy sparse matrix of shape (n_samples, n_features)
    device : torch.device
    reduce : callable or None, default=None
        ``reduce(inputs, outputs) -> tensor``, applied per batch before the
        result leaves the device (e.g. a per-sample reconstruction error), so
        that only the reduced values are kept.
    batch_size : int, default=INFERENCE_BATCH_SIZE

    Returns
    -------
    ndarray of shape (n_samples, ...)
    """
    n_samples, n_features = x.shape
    device = torch.device(device)
    # Rows are copied into one host buffer with numpy (which also casts and reads
    # read-only or sparse input), then moved to the device in one transfer.
    staging = np.zeros((batch_size, n_features), dtype=np.float32)
    host = torch.from_numpy(staging)
    result = None
    with torch.no_grad(), device_scope(device):
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            rows = x[start:stop]
            staging[: stop - start] = rows.toarray() if sp.issparse(rows) else rows
            staging[stop - start :] = 0.0
            inputs = host if device.type == "cpu" else host.to(device)
            out = fn(inputs)
            if reduce is not None:
                out = reduce(inputs, out)
            out = out[: stop - start].detach().to("cpu").numpy()
            if result is None:
                result = np.empty((n_samples, *out.shape[1:]), dtype=out.dtype)
            result[start:stop] = out
    return result
