"""`python -m govern.serve` as a real process, for tests of what only a process shows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
        env = {
            **os.environ,
            "OPENAI_API_KEY": "",
            "ANTHROPIC_API_KEY": "",
            "AWS_ACCESS_KEY_ID": "",
            "AWS_PROFILE": "",
        }
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None
        self.line = self.process.stdout.readline()
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the line is printed just before uvicorn binds
            try:
                httpx.get(f"{self.url}/health", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"gateway did not start: {self.line} {self.stop()}")

    def stop(self) -> str:
        """Kill the process if it still runs; returns what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.kill()
        _, err = self.process.communicate(timeout=30)
        return err
