"""A throwaway Redis server for the test session (Debian's `redis-server` package).

It listens on a free localhost port, keeps nothing on disk (`--save ''`, no AOF) and
runs in its own temporary directory, which is removed when it stops.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

READY = "Ready to accept connections"


class RedisUnavailable(Exception):
    """Redis cannot be started here; the message says why (shown as the skip reason)."""


@dataclass
class RedisServer:
    """A running `redis-server`; `url` connects to database 0."""

    port: int
    root: Path
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        """The server's `redis://` URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        try:
            self.process.terminate()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_once(binary: str, root: Path, timeout: float) -> RedisServer | str:
    port = free_port()
    options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(root)]
    process = subprocess.Popen(
        [binary, "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        # Reads the log until the server exits: waits for the ready line, then keeps
        # draining so the server never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if READY in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    if ready.wait(timeout) and process.poll() is None and time.monotonic() < deadline:
        return RedisServer(port=port, root=root, process=process)
    process.kill()
    process.wait()
    return "".join(lines[-10:]).strip() or "no output"


def start_redis(timeout: float = 30.0) -> RedisServer:
    """Start a temporary `redis-server`, or raise RedisUnavailable saying why not."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable(
            "`redis-server` not found: install Debian's `redis-server` package "
            "(scripts/ensure-services.sh does)"
        )
    try:
        import redis  # noqa: F401
    except ImportError:
        raise RedisUnavailable(
            "the redis client is not installed: pip install -e '.[dev]'"
        ) from None
    root = Path(tempfile.mkdtemp(prefix="govern-redis-"))
    failure = ""
    for _ in range(3):  # another process may take the free port before the server does
        started = _start_once(binary, root, timeout)
        if isinstance(started, RedisServer):
            return started
        failure = started
    shutil.rmtree(root, ignore_errors=True)
    raise RedisUnavailable(f"redis-server did not start: {failure}")
