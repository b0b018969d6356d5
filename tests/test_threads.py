"""The thread policy: small networks on one thread, never more than the free cores."""

import subprocess
import sys
import time

import pytest

import skae._training as training
from skae._backend import torch
from skae._networks import build_autoencoder, join


def _net(width, hidden):
    return join(*build_autoencoder(width, n_components=16, hidden_layer_sizes=hidden))


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_small_nets_run_on_one_thread(two_threads, monkeypatch):
    monkeypatch.setattr(training, "free_cores", lambda: 2)
    assert training.threads_for(_net(64, (32,)), 256, training=True) == 1
    assert training.threads_for(_net(784, (256, 64)), 256, training=True) == 2


def test_threads_are_capped_by_the_free_cores(two_threads, monkeypatch):
    monkeypatch.setattr(training, "free_cores", lambda: 1)
    assert training.threads_for(_net(784, (256, 64)), 256, training=True) == 1


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="counts runnable threads in /proc"
)
def test_a_busy_process_holds_a_core(monkeypatch):
    monkeypatch.setattr(training, "_usable_cores", lambda: 2)
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        # The loop is always runnable: it holds one of the two cores.
        assert training.free_cores() == 1
    finally:
        loop.kill()
        loop.wait()
    monkeypatch.setattr(training, "_usable_cores", lambda: 64)
    assert 1 <= training.free_cores() <= 64


def test_free_cores_falls_back_to_the_load_average(monkeypatch):
    # Without /proc (macOS, Windows): the one-minute load average, less this
    # thread; without that either, every usable core.
    real_open = open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc"):
            raise OSError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_proc)
    monkeypatch.setattr(training, "_usable_cores", lambda: 8)
    monkeypatch.setattr(training.os, "getloadavg", lambda: (3.7, 0.0, 0.0))
    assert training.free_cores() == 6  # 3.7 - 1 others: 2 whole cores held

    def no_load_average():
        raise OSError("no load average")

    monkeypatch.setattr(training.os, "getloadavg", no_load_average)
    assert training.free_cores() == 8
    monkeypatch.setattr(training.os, "getloadavg", lambda: (20.0, 0.0, 0.0))
    assert training.free_cores() == 1
