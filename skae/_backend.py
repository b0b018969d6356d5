"""The one place where skae imports Keras.

Keras reads its backend once, when it is first imported. skae needs the torch
backend, so this module sets ``KERAS_BACKEND=torch`` (unless the user already
chose a backend) before importing Keras, and fails with a clear message if Keras
runs on another backend. Every other skae module gets ``keras`` from here.

It also owns the two pieces of process state skae touches: the torch device a
model lives on and the seeds drawn from a ``random_state``.
"""

import contextlib
import os
import re
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

try:
    import keras
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    _backend = os.environ.get("KERAS_BACKEND")
    raise ImportError(
        f"skae runs Keras on the torch backend, but KERAS_BACKEND={_backend!r} "
        f"names a backend that cannot be imported ({exc}). Unset KERAS_BACKEND "
        "(skae then selects torch) or set KERAS_BACKEND=torch before starting "
        "Python."
    ) from exc
import numpy as np  # noqa: E402
import torch  # noqa: E402

if keras.backend.backend() != "torch":  # pragma: no cover - depends on the environment
    raise ImportError(
        "skae runs Keras on the torch backend, but Keras is using the "
        f"{keras.backend.backend()!r} backend (KERAS_BACKEND="
        f"{os.environ.get('KERAS_BACKEND')!r}). Import skae before keras, or set "
        "the environment variable KERAS_BACKEND=torch before starting Python."
    )

__all__ = [
    "keras",
    "torch",
    "resolve_device",
    "device_scope",
    "draw_seeds",
    "EarlyStopping",
    "quiet_numpy_copy_warning",
    "to_float",
    "to_numpy",
    "torch_threads",
    "variables_to_numpy",
]

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(device):
    """Raise a ValueError unless ``device`` is a device string skae accepts."""
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise ValueError(
            "device must be 'auto', 'cpu', 'cuda' or 'cuda:N' (N a GPU index); "
            f"got {device!r}."
        )


def resolve_device(device):
    """Return the :class:`torch.device` that ``device`` names on this machine.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or "cuda:N"
        ``"auto"`` picks the first visible GPU when torch sees one (on a cluster
        worker started with its own ``CUDA_VISIBLE_DEVICES``, that is the worker's
        GPU) and the CPU otherwise.

    Returns
    -------
    torch.device
        With an explicit index for GPUs, so two estimators on ``"cuda"`` agree.
    """
    check_device(device)
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} asks for a GPU, but torch {torch.__version__} "
                "sees none (no CUDA device, or a CPU-only build of torch). Use "
                "device='auto' to fall back to the CPU."
            )
        count = torch.cuda.device_count()
        index = torch.cuda.current_device() if dev.index is None else dev.index
        if index >= count:
            raise ValueError(
                f"device={device!r} names GPU {index}, but only {count} GPU(s) are "
                "visible (CUDA_VISIBLE_DEVICES="
                f"{os.environ.get('CUDA_VISIBLE_DEVICES')!r} numbers the visible GPUs "
                "from 0). Use device='auto' or 'cuda' for the first visible one."
            )
        dev = torch.device("cuda", index)
    return dev


def device_scope(device):
    """Context manager placing new Keras variables and tensors on ``device``."""
    return keras.device(str(device))


def draw_seeds(random_state, n):
    """Draw ``n`` independent 31-bit integer seeds from a ``RandomState``.

    Parameters
    ----------
    random_state : numpy.random.RandomState
        Already resolved by :func:`sklearn.utils.check_random_state`.
    n : int
        How many seeds.

    Returns
    -------
    list of int
    """
    return [int(s) for s in random_state.randint(0, np.iinfo(np.int32).max, size=n)]


def variables_to_numpy(variables):
    """Copy Keras variables (or tensors) to numpy arrays on the host.

    The same values as ``model.get_weights()``, read straight from the torch
    tensors (without the NumPy 2 ``__array__`` deprecation path Keras takes).
    """
    values = []
    for v in variables:
        values.append(np.array(to_numpy(v)))  # a copy, never a view
    return values


def to_numpy(value):
    """A Keras variable, a torch tensor or a number as a numpy array.

    Reads the torch tensor directly: Keras's ``convert_to_numpy`` goes through
    ``np.array(tensor)``, which NumPy 2 warns about (torch's ``__array__`` takes
    no ``copy`` keyword).
    """
    value = getattr(value, "value", value)
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").numpy()
    return np.asarray(value)


@contextlib.contextmanager
def quiet_numpy_copy_warning():
    """Silence NumPy 2's ``__array__`` copy-keyword warning inside Keras calls.

    Keras's torch backend converts tensors with ``np.array(tensor)`` when it
    saves and loads files; the warning is about that Keras code, and the user
    can do nothing about it. skae's own code reads tensors without it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="__array__ implementation doesn't accept a copy keyword",
            category=DeprecationWarning,
        )
        yield


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's ``EarlyStopping``, without NumPy's copy-keyword warning.

    It keeps the best weights with ``model.get_weights()``, which on the torch
    backend converts through ``np.array(tensor)``.
    """

    def on_epoch_end(self, epoch, logs=None):
        with quiet_numpy_copy_warning():
            super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        with quiet_numpy_copy_warning():
            super().on_train_end(logs)


def to_float(value):
    """A scalar Keras variable, torch tensor or number as a Python float."""
    return float(to_numpy(value))


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run torch's CPU operations on ``n_threads`` threads, then restore.

    torch's thread count is process-wide; skae sets it for the duration of its
    own work only and puts the previous value back, even on error.
    """
    previous = torch.get_num_threads()
    if n_threads == previous:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
