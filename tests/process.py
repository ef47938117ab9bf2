"""`python -m govern.serve` as a real process, for tests of what only a process shows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def offline_env() -> dict[str, str]:
    """This environment without provider credentials: only the sim provider is live."""
    return {
        **os.environ,
        "OPENAI_API_KEY": "",
        "ANTHROPIC_API_KEY": "",
        "AWS_ACCESS_KEY_ID": "",
        "AWS_PROFILE": "",
    }


class ServeProcess:
    """A running gateway process; `line` is what it printed at start."""

    def __init__(self, data_dir: Path, *args: str, config: Path | None = None):
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "govern.serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *args,
        ]
        if config is not None:
            argv += ["--config", str(config)]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=offline_env()
        )
        assert self.process.stdout is not None
        self.line = self.process.stdout.readline()  # printed once the socket accepts
        self.url = f"http://127.0.0.1:{port}"
        if not self.line.startswith("govern listening on "):
            raise RuntimeError(f"gateway did not start: {self.line!r} {self.stop()}")

    def stop(self) -> str:
        """Kill the process if it still runs; returns what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.kill()
        _, err = self.process.communicate(timeout=30)
        return err
