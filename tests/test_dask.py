"""skae on a Dask cluster through joblib: the same results as locally, no hangs.

The clusters are real (``LocalCluster`` with two worker processes): tasks are
pickled, sent, unpickled and run in other processes, as on a cluster of
machines. One cluster serves most tests; tests that break workers start their
own.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer, _backend
from skae.parallel import ClusterError, check_workers, dask_backend

CLUSTER = {
    "n_workers": 2,
    "threads_per_worker": 1,
    "processes": True,
    "dashboard_address": None,
}

# A fresh worker imports skae, Keras and torch on its first check or task:
# seconds on a busy 2-core machine. Generous, since what is tested is that an
# error comes at all instead of a hang.
TIMEOUT = 60

# Workers started by LocalCluster inherit this process's environment, where
# importing skae set KERAS_BACKEND. Workers started elsewhere do not have it:
# remove it, so the tests see that unpickling skae's estimators selects the
# torch backend by itself. (Python source as preload: it contains a space.)
FRESH_ENVIRONMENT = "import os\nos.environ.pop('KERAS_BACKEND', None)\n"

# Worker 0 cannot import skae (as if not installed), worker 1 runs another
# version of it.
BROKEN_WORKERS = """
import sys


class BlockSkae:
    def find_spec(self, name, path=None, target=None):
        if name == "skae" or name.startswith("skae."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def dask_setup(worker):
    if worker.name == 0:
        sys.meta_path.insert(0, BlockSkae())
    else:
        import skae

        skae.__version__ = "0.0.0+other"
"""

GRID = {"n_components": [2, 4]}

# Dask prints this when a second cluster's HTTP server finds the first's port.
pytestmark = pytest.mark.filterwarnings("ignore:Port .* is already in use")

#: What the workers' environment held before any skae task ran.
KERAS_BACKEND_AT_START = {}


def _search(batch_size="auto"):
    estimator = AutoencoderTransformer(
        n_components=2,
        hidden_layer_sizes=(8,),
        epochs=3,
        batch_size=batch_size,
        device="cpu",
        random_state=0,
    )
    return GridSearchCV(estimator, GRID, cv=3)


def _assert_same_search(search, expected):
    assert search.best_params_ == expected.best_params_
    for key in ["mean_test_score", *(f"split{i}_test_score" for i in range(3))]:
        np.testing.assert_array_equal(
            search.cv_results_[key], expected.cv_results_[key]
        )


@contextlib.contextmanager
def _local_cluster(**kwargs):
    """A client of a new LocalCluster; this process's environment is restored.

    The cluster's nannies run in this process and set OMP_NUM_THREADS=1 (and
    more) in its environment before starting workers: keep that from other
    tests.
    """
    distributed = pytest.importorskip("distributed")
    environ = dict(os.environ)
    try:
        with (
            distributed.LocalCluster(**CLUSTER, **kwargs) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:300]


@pytest.fixture(scope="module")
def client():
    """Two fresh workers, each with one thread and one unit of a resource "slot"."""
    with _local_cluster(preload=[FRESH_ENVIRONMENT], resources={"slot": 1}) as client:
        KERAS_BACKEND_AT_START.update(client.run(os.getenv, "KERAS_BACKEND"))
        yield client


def test_search_on_cluster_equals_local_search(client, X):
    # Plain joblib, no skae helper: GridSearchCV code unchanged.
    with joblib.parallel_config(backend="dask"):
        on_cluster = _search().fit(X)
    _assert_same_search(on_cluster, _search().fit(X))

    # Workers had no KERAS_BACKEND; those that ran tasks imported skae to
    # unpickle them, which selected the torch backend.
    assert set(KERAS_BACKEND_AT_START.values()) == {None}
    ran_skae = client.run(lambda: "skae" in __import__("sys").modules)
    assert any(ran_skae.values())
    backends = client.run(os.getenv, "KERAS_BACKEND")
    assert all(backends[w] == "torch" for w, ran in ran_skae.items() if ran)

    # Dask's nanny starts workers with OMP_NUM_THREADS=1: one torch thread per
    # task thread, so workers do not oversubscribe the cores.
    report = check_workers(client, timeout=TIMEOUT)
    assert len(report) == 2
    for entry in report.values():
        assert entry["keras_backend"] == "torch"
        assert entry["torch_threads"] == 1
        assert entry["OMP_NUM_THREADS"] == "1"
        assert entry["nthreads"] == 1
        assert entry["error"] is None


def test_missing_resources_fail_fast(client):
    start = time.monotonic()
    with pytest.raises(ClusterError, match=r"No Dask worker offers.*'GPU': 1") as info:
        with dask_backend(client, timeout=TIMEOUT, resources={"GPU": 1}):
            pytest.fail("the search would wait forever")
    assert time.monotonic() - start < TIMEOUT
    assert set(info.value.report) == set(client.scheduler_info()["workers"])


def test_dask_backend_passes_keywords_on(client):
    from joblib._dask import DaskDistributedBackend

    with dask_backend(client, resources={"slot": 1}, n_jobs=2, retries=1) as report:
        backend, n_jobs = joblib.parallel.get_active_backend()
        assert isinstance(backend, DaskDistributedBackend)
        assert type(backend) is not DaskDistributedBackend  # auto_scatter=False
        assert backend.client is client
        assert backend.submit_kwargs == {"resources": {"slot": 1}, "retries": 1}
        assert n_jobs == 2
    assert set(report) == set(client.scheduler_info()["workers"])
    with dask_backend(client, auto_scatter=True):
        backend, _ = joblib.parallel.get_active_backend()
        assert type(backend) is DaskDistributedBackend
        assert backend.submit_kwargs == {}


def test_unanswered_check_names_the_workers(client):
    with pytest.raises(ClusterError, match="no answer within 0 s") as info:
        check_workers(client, timeout=0)
    for address in client.scheduler_info()["workers"]:
        assert address in str(info.value)


def test_search_survives_a_killed_worker(client, X):
    # Fits of ~0.1 s: long enough for the kill to land while tasks run.
    expected = _search(batch_size=16).fit(X)
    pids = {w: e["pid"] for w, e in check_workers(client, timeout=TIMEOUT).items()}
    killed = []

    def kill_a_busy_worker():
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.002)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    try:
        # With a resource, as one trial per GPU worker would run.
        with dask_backend(client, timeout=TIMEOUT, resources={"slot": 1}):
            killer.start()
            on_cluster = _search(batch_size=16).fit(X)
        killer.join()
        assert len(killed) == 1, "no worker was killed during the search"
        _assert_same_search(on_cluster, expected)
    finally:
        # The nanny restarts the killed worker; later tests want two.
        client.wait_for_workers(2, timeout=TIMEOUT)


def test_workers_without_skae_fail_fast():
    with _local_cluster(preload=[BROKEN_WORKERS]) as client:
        start = time.monotonic()
        with pytest.raises(ClusterError) as info:
            with dask_backend(client, timeout=TIMEOUT):
                pytest.fail("the search would wait forever")
        assert time.monotonic() - start < TIMEOUT
        message = str(info.value)
        by_name = {e["name"]: a for a, e in client.scheduler_info()["workers"].items()}
    assert f"{by_name[0]} (name 0): cannot import skae: ModuleNotFoundError" in message
    assert f"{by_name[1]} (name 1): runs skae 0.0.0+other" in message
    assert "pip install skae==" in message


def test_import_skae_does_not_import_dask():
    code = (
        "import sys, skae, skae.parallel; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'dask', 'distributed'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_missing_distributed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install \"skae\[dask\]\""):
        check_workers()
    with pytest.raises(ImportError, match=r"skae\[dask\]"):
        with dask_backend():
            pass


@pytest.mark.parametrize(
    "visible, current, device, expected",
    [
        # A worker started with CUDA_VISIBLE_DEVICES=3 sees one GPU, as cuda:0.
        (1, 0, "auto", "cuda:0"),
        (1, 0, "cuda", "cuda:0"),
        (2, 1, "auto", "cuda:1"),
        (2, 1, "cuda", "cuda:1"),
        (2, 1, "cuda:0", "cuda:0"),
    ],
)
def test_resolve_device_picks_the_visible_gpu(
    monkeypatch, visible, current, device, expected
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: visible)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current)
    assert _backend.resolve_device(device) == torch.device(expected)


def test_resolve_device_rejects_an_invisible_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    with pytest.raises(ValueError, match="names GPU 3, but only 2 GPU"):
        _backend.resolve_device("cuda:3")
