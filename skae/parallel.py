"""Hyperparameter search on a Dask cluster, through joblib, that fails fast.

scikit-learn's searches (:class:`~sklearn.model_selection.GridSearchCV`,
:func:`~sklearn.model_selection.cross_validate`, ...) run their fits through
joblib, and joblib's Dask backend sends them to a ``dask.distributed``
cluster. That works for skae's estimators with the search code unchanged, but
joblib's Dask backend does not raise when the cluster cannot run the fits: a
search asking for ``resources={"GPU": 1}`` that no worker offers, or sent to
workers that cannot import skae, waits forever. This module checks the
cluster first and raises a :class:`ClusterError` naming the workers at fault:

* :func:`check_workers`: what every worker runs (skae version, Keras backend,
  torch version and threads, visible GPUs), within a time limit;
* :func:`dask_backend`: a context manager that checks the workers and the
  requested resources, then runs every joblib call inside it on the cluster.

It also scores data that outgrow one machine: :func:`map_method` applies a
fitted estimator's ``transform``, ``score_samples``, ``predict``, ... to each
block of rows of a Dask array, lazily, on whatever cluster computes it.

``dask[distributed]`` is optional (``pip install "skae[dask]"``): it is imported
only when these functions are called, and ``import skae`` does not import this
module.
"""

import asyncio
import contextlib
import functools
import time
from numbers import Real

import joblib
import numpy as np

__all__ = ["ClusterError", "check_workers", "dask_backend", "map_method"]

#: Keywords of :class:`joblib.parallel_config` that ``dask_backend`` passes on
#: to it; every other keyword goes to joblib's Dask backend.
_PARALLEL_CONFIG_KEYWORDS = frozenset(
    {
        "n_jobs",
        "verbose",
        "temp_folder",
        "max_nbytes",
        "mmap_mode",
        "prefer",
        "require",
        "inner_max_num_threads",
    }
)


class ClusterError(RuntimeError):
    """A Dask cluster cannot run skae's fits.

    Raised by :func:`check_workers` and :func:`dask_backend` instead of letting
    a search wait forever on workers that cannot run it.

    Parameters
    ----------
    message : str
        What is wrong, naming the workers at fault.
    report : dict, default=None
        The per-worker report of :func:`check_workers`, as far as the workers
        answered.

    Attributes
    ----------
    report : dict of str to dict
        Same as the parameter (an empty dict when not given).

    See Also
    --------
    check_workers : Raises it for workers that cannot run skae.
    dask_backend : Raises it before a search that would wait forever.

    Examples
    --------
    >>> from skae.parallel import ClusterError
    >>> error = ClusterError(
    ...     "1 of 1 Dask worker(s) cannot run skae",
    ...     report={"tcp://10.0.0.2:40000": {"error": "cannot import skae"}},
    ... )
    >>> isinstance(error, RuntimeError), error.report["tcp://10.0.0.2:40000"]["error"]
    (True, 'cannot import skae')
    """

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = {} if report is None else report


def _import_distributed():
    """Return the ``distributed`` module, or raise an ImportError saying how."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "skae.parallel runs searches on a Dask cluster and needs "
            "dask.distributed, which is not installed. Install it with: "
            'pip install "skae[dask]"'
        ) from exc
    return distributed


def _get_client(client):
    distributed = _import_distributed()
    if client is not None:
        return client
    try:
        return distributed.get_client()
    except ValueError as exc:
        raise ValueError(
            "No Dask client: pass one, e.g. client=Client('scheduler-address:8786') "
            "or client=Client(LocalCluster())."
        ) from exc


def _make_probe():
    """Return the function that :func:`check_workers` runs on every worker.

    It is defined inside this function on purpose: cloudpickle then sends its
    code by value, so a worker unpickles it without importing skae, and
    reports a failing ``import skae`` instead of failing to load the probe.
    """

    def probe():
        import os
        import platform
        import sys

        report = {
            "skae": None,
            "keras_backend": None,
            "torch": None,
            "torch_threads": None,
            "cuda_devices": None,
            "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "python": platform.python_version(),
            "host": platform.node(),
            "pid": os.getpid(),
            "error": None,
        }
        try:
            import skae
        except Exception as exc:
            report["error"] = f"cannot import skae: {type(exc).__name__}: {exc}"
            return report
        report["skae"] = getattr(skae, "__version__", None)
        keras = sys.modules["keras"]
        torch = sys.modules["torch"]
        report["keras_backend"] = keras.backend.backend()
        report["torch"] = torch.__version__
        report["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            report["cuda_devices"] = [
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            ]
        else:
            report["cuda_devices"] = []
        return report

    return probe


async def _run_probes(client, probe, workers, timeout):
    """Run ``probe`` on each worker at once; ``{address: answer}``.

    The answer is the probe's report, the exception that stopped it, or None
    for a worker that did not answer within ``timeout`` seconds.
    """

    async def ask(address):
        answers = await client.run(
            probe, workers=[address], on_error="return", asynchronous=True
        )
        return answers.get(address)

    tasks = {address: asyncio.ensure_future(ask(address)) for address in workers}
    _, pending = await asyncio.wait(tasks.values(), timeout=timeout)
    for task in pending:
        task.cancel()
    answers = {}
    for address, task in tasks.items():
        if task in pending:
            answers[address] = None
        elif task.exception() is not None:
            answers[address] = task.exception()
        else:
            answers[address] = task.result()
    return answers


def check_workers(client=None, *, timeout=30):
    """Check that every worker of a Dask cluster can run skae; report what it runs.

    Runs a small function on every worker (with :meth:`distributed.Client.run`,
    outside the task scheduler, so it works even where tasks would not): it
    imports skae and reports the versions, the Keras backend, torch's threads
    and the GPUs torch sees. The function travels by value, so a worker that
    cannot import skae still answers, with the reason.

    Parameters
    ----------
    client : distributed.Client, default=None
        A synchronous client of the cluster; None takes the current default
        client (:func:`distributed.get_client`).

    timeout : float, default=30
        Seconds to wait in all, for a first worker if the cluster has none yet
        and then for every worker's answer. The first check of a fresh worker
        imports skae, Keras and torch there, which takes a few seconds.

    Returns
    -------
    report : dict of str to dict
        For each worker address: ``"skae"`` (version), ``"keras_backend"``,
        ``"torch"`` (version), ``"torch_threads"`` (:func:`torch.get_num_threads`),
        ``"cuda_devices"`` (names of the GPUs torch sees), the
        ``"CUDA_VISIBLE_DEVICES"`` and ``"OMP_NUM_THREADS"`` environment
        variables, ``"python"``, ``"host"``, ``"pid"``, and from the scheduler
        the worker's ``"name"``, ``"nthreads"`` and ``"resources"``.
        ``"error"`` is None for every worker (otherwise this raises).

    Raises
    ------
    ClusterError
        If the cluster has no worker within ``timeout``, or if a worker cannot
        import skae, runs another skae version than this process, or does not
        answer within ``timeout``. The message names each such worker and why;
        the exception's ``report`` attribute holds all answers.

    See Also
    --------
    dask_backend : Check the cluster, then run joblib's calls on it.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> from skae.parallel import check_workers
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> client = Client(cluster)  # doctest: +SKIP
    >>> report = check_workers(client)  # doctest: +SKIP
    >>> {w["keras_backend"] for w in report.values()}  # doctest: +SKIP
    {'torch'}
    """
    from . import __version__

    client = _get_client(client)
    end = time.monotonic() + timeout
    if not client.scheduler_info()["workers"]:
        try:
            # (timeout=0 would mean no time limit to Dask.)
            client.wait_for_workers(1, timeout=max(timeout, 1e-3))
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise ClusterError(
                f"The Dask cluster at {client.scheduler.address} has no worker "
                f"after {timeout} s."
            ) from exc
    workers = client.scheduler_info()["workers"]
    left = max(end - time.monotonic(), 0.0)
    answers = client.sync(_run_probes, client, _make_probe(), list(workers), left)

    report = {
        address: _worker_entry(workers[address], answer, timeout, __version__)
        for address, answer in answers.items()
    }
    _raise_for_failures(report, __version__)
    return report


def _worker_entry(info, answer, timeout, version):
    """One worker's report: the scheduler's ``info`` and the probe's answer."""
    entry = {
        "name": info.get("name"),
        "nthreads": info.get("nthreads"),
        "resources": dict(info.get("resources") or {}),
        "error": None,
    }
    if answer is None:
        entry["error"] = f"no answer within {timeout} s"
    elif isinstance(answer, BaseException):
        entry["error"] = f"{type(answer).__name__}: {answer}"
    else:
        entry.update(answer)
        if entry["error"] is None and entry["skae"] != version:
            entry["error"] = (
                f"runs skae {entry['skae']}, but this process runs skae {version}"
            )
    return entry


def _raise_for_failures(report, version):
    """Raise a ClusterError naming every worker whose entry has an error."""
    failed = {a: e for a, e in report.items() if e["error"] is not None}
    if not failed:
        return
    lines = [f"  {a} (name {e['name']!r}): {e['error']}" for a, e in failed.items()]
    errors = [e["error"] for e in failed.values()]
    if any(error.startswith(("cannot import", "runs skae")) for error in errors):
        lines.append(
            f"Install skae {version} (pip install skae=={version}) where the "
            "workers run, and restart them."
        )
    if any(error.startswith("no answer") for error in errors):
        lines.append(
            "A worker that does not answer is stuck, busy in its event loop or "
            "unreachable; a fresh one takes seconds to import torch: raise "
            "`timeout` if so."
        )
    raise ClusterError(
        f"{len(failed)} of {len(report)} Dask worker(s) cannot run skae (tasks "
        "sent to them would fail or wait forever):\n" + "\n".join(lines),
        report,
    )


def _check_resources(resources, report):
    """Raise a ClusterError unless one worker offers all of ``resources``."""
    for amount in resources.values():
        if not isinstance(amount, Real) or amount <= 0:
            raise ValueError(
                f"resources must map names to positive amounts; got {resources!r}."
            )
    for entry in report.values():
        offered = entry["resources"]
        if all(offered.get(name, 0) >= amount for name, amount in resources.items()):
            return
    offers = "\n".join(
        f"  {address} (name {entry['name']!r}): {entry['resources'] or 'none'}"
        for address, entry in report.items()
    )
    raise ClusterError(
        f"No Dask worker offers resources={resources!r}, so every task asking "
        "for them would wait forever. The workers offer:\n"
        f"{offers}\n"
        "Start workers with e.g. `dask worker <scheduler> --resources GPU=1` "
        "(Nanny(resources={'GPU': 1}) in Python), or drop `resources`.",
        report,
    )


@functools.cache
def _task_data_backend_class():
    """joblib's Dask backend, except that tasks carry their own arguments.

    joblib scatters every argument above 1 kB (the data, the CV split indices)
    to a single worker the first time a task needs it, through a per-call cache
    (``call_data_futures``); Dask cannot recompute scattered data, so when that
    worker dies, every task still needing it is cancelled and the search fails
    with ``FutureCancelledError: ... already forgotten``. Without the cache,
    joblib sends the arguments inside each task, and Dask reruns the tasks of a
    dead worker anywhere.
    """
    from joblib._dask import DaskDistributedBackend

    class TaskDataDaskBackend(DaskDistributedBackend):
        def start_call(self):
            super().start_call()
            self.call_data_futures = None

        def stop_call(self):
            self.call_data_futures = {}
            super().stop_call()

    return TaskDataDaskBackend


@contextlib.contextmanager
def dask_backend(
    client=None, *, timeout=30, resources=None, auto_scatter=False, **joblib_kwargs
):
    """Run joblib's calls (and so scikit-learn's searches) on a Dask cluster.

    A fail-fast ``joblib.parallel_config(backend="dask")``: on entering, it
    checks the cluster with :func:`check_workers` and that some worker offers
    ``resources``, and raises a :class:`ClusterError` within ``timeout``
    seconds where joblib's Dask backend would wait forever. Then every joblib
    call in the ``with`` block, e.g. :class:`~sklearn.model_selection.GridSearchCV`
    with its code unchanged, runs its tasks on the cluster.

    Parameters
    ----------
    client : distributed.Client, default=None
        A synchronous client of the cluster; None takes the current default
        client (:func:`distributed.get_client`).

    timeout : float, default=30
        Seconds the checks may take in all (see :func:`check_workers`).

    resources : dict of str to float, default=None
        Dask worker resources each task needs, e.g. ``{"GPU": 1}`` for one
        trial at a time per GPU worker: each task then runs only on a worker
        started with at least that much of each resource (``dask worker
        --resources GPU=1``). A :class:`ClusterError` is raised if no worker
        offers them.

    auto_scatter : bool, default=False
        Whether joblib may scatter large task arguments to the cluster, as its
        Dask backend does by default: each argument above 1 kB (the data, the
        cross-validation indices) is sent once to one worker, and tasks fetch
        it from there. That sends big data only once, but that one copy is lost
        with its worker: a worker dying mid-search then fails the search with a
        ``FutureCancelledError``. With False, every task carries its own
        arguments (sent again for each batch of tasks), so Dask reruns the
        tasks of a dead worker elsewhere and the search completes. Keep False
        unless the data is large (hundreds of MB) and workers are reliable.

    **joblib_kwargs
        Keywords of :class:`joblib.parallel_config` (``n_jobs``, ``verbose``,
        ...) go to it; the others go to joblib's Dask backend (``scatter``,
        ``wait_for_workers_timeout``) and from there to
        :meth:`distributed.Client.submit` (``retries``, ``priority``, ...).

    Yields
    ------
    report : dict of str to dict
        The report of :func:`check_workers`.

    Raises
    ------
    ClusterError
        If a worker cannot run skae or does not answer in time (see
        :func:`check_workers`), or if no worker offers ``resources``.

    See Also
    --------
    check_workers : The per-worker check and report.

    Notes
    -----
    The checks run once, on entering: workers that join later are not checked,
    and a cluster that loses all its workers for good mid-search still waits.
    Dask's nanny restarts a worker that dies, and with ``auto_scatter=False``
    its tasks run again elsewhere. Results equal those of the same search run
    locally: with an integer ``random_state``, skae's fits on the CPU are
    bitwise reproducible in any process.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skae import AutoencoderTransformer
    >>> from skae.parallel import dask_backend
    >>> X = load_digits().data / 16.0
    >>> search = GridSearchCV(
    ...     AutoencoderTransformer(epochs=5, random_state=0),
    ...     {"n_components": [4, 8, 16]},
    ... )

    In a script, start a ``LocalCluster`` under ``if __name__ == "__main__":``
    (its workers are processes that import the script):

    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> client = Client(cluster)  # doctest: +SKIP
    >>> with dask_backend(client):  # doctest: +SKIP
    ...     search.fit(X)
    >>> search.best_params_  # doctest: +SKIP
    {'n_components': 16}
    """
    client = _get_client(client)
    report = check_workers(client, timeout=timeout)
    backend_kwargs = {
        k: v for k, v in joblib_kwargs.items() if k not in _PARALLEL_CONFIG_KEYWORDS
    }
    config_kwargs = {
        k: v for k, v in joblib_kwargs.items() if k in _PARALLEL_CONFIG_KEYWORDS
    }
    if resources:
        _check_resources(resources, report)
        backend_kwargs["resources"] = dict(resources)
    if auto_scatter:
        from joblib._dask import DaskDistributedBackend as backend_class
    else:
        backend_class = _task_data_backend_class()
    backend = backend_class(client=client, **backend_kwargs)
    with joblib.parallel_config(backend=backend, **config_kwargs):
        yield report


#: What each method returns per row: a row of ``n_out`` columns or one value.
_ROW_OUTPUTS = {
    "transform": "columns",
    "inverse_transform": "columns",
    "score_samples": "value",
    "decision_function": "value",
    "predict": "value",
}


def map_method(estimator, method, X):
    """Apply a fitted estimator's inference method to a Dask array, block-wise.

    The estimator is sent to the workers with the task graph (pickled once),
    and each block of rows is scored where it lives, in bounded memory: the
    result is a lazy Dask array of the same row chunks, equal, row by row and
    to the last bit, to ``getattr(estimator, method)(X.compute())`` (skae
    scores a row identically whatever the other rows of its block).

    Parameters
    ----------
    estimator : fitted skae estimator
        The estimator whose method to apply; it travels to the workers as is.
    method : {"transform", "inverse_transform", "score_samples", \
"decision_function", "predict"}
        The method to apply.
    X : dask.array.Array of shape (n_samples, n_features)
        Rows to score, in any row chunks (columns are merged into one chunk).

    Returns
    -------
    dask.array.Array
        Of shape ``(n_samples, n_out)`` for ``transform`` and
        ``inverse_transform``, ``(n_samples,)`` otherwise; call ``.compute()``
        (or ``dask.compute``) to run it.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae.parallel import map_method
    >>> X = np.random.default_rng(0).normal(size=(1000, 4))
    >>> detector = AutoencoderOutlierDetector(epochs=5, random_state=0).fit(X)
    >>> scores = map_method(detector, "score_samples", da.from_array(X, chunks=250))
    >>> scores.chunks
    ((250, 250, 250, 250),)
    >>> bool((scores.compute() == detector.score_samples(X)).all())
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if method not in _ROW_OUTPUTS or not hasattr(estimator, method):
        available = [m for m in _ROW_OUTPUTS if hasattr(estimator, m)]
        raise ValueError(
            f"method must be one of {available} for {type(estimator).__name__}; "
            f"got {method!r}."
        )
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D Dask array; got {X.ndim} dimension(s).")
    X = X.rechunk({1: -1})  # whole rows in each block
    function = functools.partial(_apply, estimator, method)
    if _ROW_OUTPUTS[method] == "value":
        dtype = int if method == "predict" else np.float64
        return X.map_blocks(function, drop_axis=1, dtype=dtype, meta=np.empty(0, dtype))
    width = (
        estimator.n_features_in_
        if method == "inverse_transform"
        else estimator._n_features_out
    )
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    return X.map_blocks(
        function,
        chunks=(X.chunks[0], (width,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )


def _apply(estimator, method, block):
    return getattr(estimator, method)(block)
