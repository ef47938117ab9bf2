"""Crash and shutdown of a real process: what a client saw answered is in the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.logs.conftest import StoreFactory

ROOT = Path(__file__).resolve().parents[2]


def spawn(factory: StoreFactory, durability: str, count: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.logs.writer_child",
            factory.kind,
            factory.location,
            durability,
            str(count),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def logged_ids(factory: StoreFactory) -> set[str]:
    store = factory()
    return {r[0] for r in store.fetch("SELECT request_id FROM requests")[1]}


def read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"child exited early: {proc.wait()} {proc.stderr.read()}")  # type: ignore[union-attr]
    return line.strip()


def test_sigkill_in_strict_mode_loses_no_answered_row(store_factory: StoreFactory) -> None:
    proc = spawn(store_factory, "strict")
    answered = [read_line(proc) for _ in range(300)]
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    answered += rest.split()  # printed before the kill, still in the pipe
    assert proc.returncode == -signal.SIGKILL
    assert set(answered) <= logged_ids(store_factory)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_shutdown_in_buffered_mode_loses_nothing(
    store_factory: StoreFactory, sig: signal.Signals
) -> None:
    proc = spawn(store_factory, "buffered", 2000)
    assert read_line(proc) == "ready 2000"  # every write returned, none committed yet
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.split() == ["closed"]
    assert len(logged_ids(store_factory)) == 2000


def test_sigkill_in_buffered_mode_loses_the_unwritten_rows(store_factory: StoreFactory) -> None:
    # The trade-off strict mode exists for, and proof the tests above can see a loss.
    proc = spawn(store_factory, "buffered", 500)
    assert read_line(proc) == "ready 500"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert logged_ids(store_factory) == set()
