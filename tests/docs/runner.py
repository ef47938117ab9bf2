"""Run a tutorial page's code blocks in order, as a reader would, against real servers.

`make serve` and `python -m govern.serve ARGS` run the real server process (`make serve`
is `python -m govern.serve $(ARGS)`) with `--port` set to a free port; `python -m
govern.sim` is played by the session's simulated upstream, and `redis-server` by the
test's Redis server. The documented addresses (`127.0.0.1:4000`, `127.0.0.1:4010`, a
documented DSN or Redis URL) are rewritten to the real ones in every later block and
file, and back in what the blocks print. Other commands (`curl`, `redis-cli`, `python -m
govern.replay`, ...) run as subprocesses, with `$NAME` expanded from the environment as a
shell would. A page whose Python blocks use IPython magics runs them as notebook cells
(`tests.docs.cells`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from govern.config import find_config, load_config
from govern.serve import parse_args
from govern.sim.server import SimUpstreamThread
from tests.docs.blocks import Block, normalise_output, output_pattern
from tests.docs.cells import close_notebook, is_notebook_page, notebook_shell, run_cell

SHELLS = {"sh", "bash", "shell", "console"}
GATEWAY = ("make serve", "python -m govern.serve", ".venv/bin/python -m govern.serve")
SIM = ("make sim", "python -m govern.sim", ".venv/bin/python -m govern.sim")
PYTHON = ("python", ".venv/bin/python", "python3")
SUBPROCESSES = ("curl", "redis-cli")
"""Commands a page may run as they are (besides Python)."""


class UntestedBlock(AssertionError):
    """A block the runner does not know how to exercise (tag it `needs ...`)."""


class PageRun:
    """The state of one page being run: working directory, servers, address rewrites."""

    def __init__(self, root: Path, sim: SimUpstreamThread, env: pytest.MonkeyPatch):
        self.root = root
        self.env = env
        self.sim = sim
        sim_address = sim.url.removeprefix("http://")
        self.addresses: dict[str, str] = {}
        self.map_address(4010, sim_address)
        self.gateways: dict[int, subprocess.Popen[str]] = {}
        """Running gateway processes by documented port (replicas run side by side)."""
        self.namespace: dict[str, Any] = {"__name__": "__main__"}
        self.printed = ""
        self.shell: Any = None
        """The IPython shell of a page written as notebook cells."""

    def map_text(self, documented: str, real: str) -> None:
        """Rewrite `documented` (a DSN, say) to `real` in later blocks, files and commands."""
        self.addresses[documented] = real

    def map_address(self, port: int, real: str) -> None:
        """Rewrite the documented `127.0.0.1:port` (and `localhost:port`) to `real`."""
        for host in ("127.0.0.1", "localhost"):
            self.addresses[f"{host}:{port}"] = real

    def rewrite(self, text: str) -> str:
        """`text` with documented addresses replaced by the real ones."""
        for documented, real in self.addresses.items():
            text = re.sub(rf"{re.escape(documented)}(?!\d)", real, text)
        return text

    def unrewrite(self, text: str) -> str:
        """`text` with the real addresses shown as the documented ones."""
        for documented, real in self.addresses.items():
            if documented.startswith("127.0.0.1"):
                text = re.sub(rf"{re.escape(real)}(?!\d)", documented, text)
        return text

    # --- blocks --------------------------------------------------------------------------

    def run(self, blocks: list[Block]) -> list[Block]:
        """Run every block in order; returns the illustrative blocks it skipped."""
        skipped: list[Block] = []
        previous: Block | None = None
        if is_notebook_page(blocks):
            self.shell = notebook_shell(self.namespace)
        for block in blocks:
            if block.is_output:
                self.check_output(block, previous)
            elif block.illustrative:
                skipped.append(block)
                self.printed = ""
            elif block.file_name:
                Path(block.file_name).write_text(self.rewrite(block.code))
            elif block.lang == "python":
                self.run_python(block)
            elif block.lang in SHELLS:
                self.run_shell(block)
            else:
                raise UntestedBlock(
                    f"{block.where}: a ```{block.lang} block with no file-name, `output` or "
                    "`needs ...` title is not exercised by any test"
                )
            previous = block
        return skipped

    def check_output(self, block: Block, previous: Block | None) -> None:
        """The previous block printed what this one shows."""
        assert previous is not None and not previous.illustrative, (
            f"{block.where}: an output block must follow a block the tests run"
        )
        printed = normalise_output(self.unrewrite(self.printed))
        assert output_pattern(block.code).fullmatch(printed), (
            f"{block.where}: the page shows\n{block.code}\nbut {previous.where} printed\n{printed}"
        )

    def run_python(self, block: Block) -> None:
        """Run a Python block in the page's namespace, capturing what it prints."""
        if self.shell is not None:
            self.printed = run_cell(self.shell, self.rewrite(block.code), block.where)
            return
        code = compile(self.rewrite(block.code), block.where, "exec")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, self.namespace)
        self.printed = out.getvalue()

    def run_shell(self, block: Block) -> None:
        """Run each command of a shell block."""
        self.printed = ""
        for command, background in commands(block.code):
            printed = self.run_command(block, command)
            if not background:  # a background server's lines are not the block's output
                self.printed += printed

    def run_command(self, block: Block, command: str) -> str:
        """Run one shell command (or its in-process equivalent); returns what it printed."""
        argv = [os.path.expandvars(arg) for arg in shlex.split(command)]
        head = " ".join(argv[:3])
        if command.startswith(GATEWAY):
            return self.serve(_make_args(argv) if argv[0] == "make" else argv[3:])
        if command.startswith(SIM):
            args = _make_args(argv) if argv[0] == "make" else argv[3:]
            port = int(args[args.index("--port") + 1]) if "--port" in args else 4010
            self.map_address(port, self.sim.url.removeprefix("http://"))
            return ""
        if argv[0] == "redis-server":  # the test's Redis server stands in for it
            return ""
        if argv[0] == "export":
            name, _, value = argv[1].partition("=")
            self.env.setenv(name, self.rewrite(value))
            return ""
        if argv[:2] == ["pip", "install"]:
            check_extras(self.root, argv[2:])
            return ""
        if argv[0] in PYTHON:
            argv = [sys.executable, *argv[1:]]
        elif argv[0] not in SUBPROCESSES:
            raise UntestedBlock(f"{block.where}: no test runs `{head}`; tag the block")
        result = subprocess.run(
            [self.rewrite(arg) for arg in argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ.copy(),
        )
        assert result.returncode == 0, (
            f"{block.where}: `{command}` exited {result.returncode}\n{result.stderr}"
        )
        return result.stdout

    def serve(self, args: list[str]) -> str:
        """Run `python -m govern.serve ARGS` on a free port; returns its banner line."""
        ns = parse_args(args)
        config_path = find_config(ns.config)
        if config_path is not None:
            # The file may name documented addresses (a `base_url` on the sim upstream).
            config_path.write_text(self.rewrite(config_path.read_text()))
        config = load_config(config_path)
        documented_port = ns.port or config.server.port
        host = ns.host or config.server.host
        # A restarted gateway keeps its address, as it would for the reader.
        known = self.addresses.get(f"127.0.0.1:{documented_port}")
        port = int(known.rsplit(":", 1)[1]) if known else free_port()
        self.stop(documented_port)  # a second start on the same port is a restart
        process = self.gateways[documented_port] = subprocess.Popen(
            [sys.executable, "-u", "-m", "govern.serve", *args, "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ.copy(),
        )
        assert process.stdout is not None
        banner = process.stdout.readline()
        log = [banner]
        # Keep reading what it logs, so a full pipe never blocks it.
        threading.Thread(target=log.extend, args=(process.stdout,), daemon=True).start()
        self.map_address(documented_port, f"{host}:{port}")
        wait_healthy(f"http://{host}:{port}/health", process, log)
        return banner

    def stop(self, port: int | None = None) -> None:
        """Stop the gateway on a documented port (default: all) as Ctrl-C does, which
        flushes the request log; with no port, also a notebook page's embedded gateway."""
        if port is None and self.shell is not None:
            close_notebook()
            self.shell = None
        if port is None:  # a page may have chosen its gateway with govern.connect
            from govern.notebook import session

            session.disconnect()
        for documented in [port] if port is not None else list(self.gateways):
            process = self.gateways.pop(documented, None)
            if process is None:
                continue
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(
    url: str, process: subprocess.Popen[str], log: list[str], timeout: float = 30.0
) -> None:
    """Wait until the gateway answers `/health` (or fail with what it printed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            process.wait()
            raise AssertionError(f"the gateway exited {process.returncode}:\n{''.join(log)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling a process we do not control: no event to await
    raise AssertionError(f"the gateway did not answer {url} within {timeout} s")


def commands(script: str) -> list[tuple[str, bool]]:
    """The commands of a shell block, continuations joined and comments dropped, each
    with whether it runs in the background (`&`)."""
    joined = re.sub(r"\s*\\\n\s*", " ", script)
    out = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            out.append((line.removesuffix("&").strip(), line.endswith("&")))
    return out


def _make_args(argv: list[str]) -> list[str]:
    """`make serve ARGS="--config x"` -> the ARGS."""
    for arg in argv[2:]:
        if arg.startswith("ARGS="):
            return shlex.split(arg.removeprefix("ARGS="))
    return []


def check_extras(root: Path, specs: list[str]) -> None:
    """Every `govern[extra]` a page tells readers to install is an extra of the package."""
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for spec in specs:
        match = re.fullmatch(r"govern\[([\w,-]+)\]", spec.strip("'\""))
        if match is None:
            continue
        for extra in match[1].split(","):
            assert extra in extras, f"`pip install {spec}`: govern has no extra {extra!r}"
