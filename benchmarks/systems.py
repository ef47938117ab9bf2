"""The processes of a benchmark run: the upstream and each system under test.

Each runs as its own process, optionally pinned with `taskset`, logging to a file in the
run's work directory; `Server.stop` ends it by its pid.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.machine import wait_for_port

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
MODEL = "gpt-4o-mini"
GOVERN_KEY = "sk-bench-virtual-key-0123456789abcdef"
LITELLM_KEY = "sk-benchmaster-" + "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e"
LITELLM_VENV = HERE / ".venv-litellm"
LITELLM_SPEC = os.environ.get("BENCH_LITELLM_SPEC", "litellm[proxy]==1.108.7")
"""What pip installs for the LiteLLM proxy (pinned, so runs compare; override by env)."""


class Reply(msgspec.Struct):
    """One HTTP answer, as the verification requests see it."""

    status: int
    headers: dict[str, str]
    body: bytes


def post(port: int, path: str, body: bytes, key: str, timeout: float = 30.0) -> Reply:
    """POST a JSON body to the server on `port` and read the whole answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        response = conn.getresponse()
        data = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Reply(status=response.status, headers=headers, body=data)
    finally:
        conn.close()


def get(port: int, path: str, timeout: float = 10.0) -> Reply:
    """GET `path` from the server on `port`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        data = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Reply(status=response.status, headers=headers, body=data)
    finally:
        conn.close()


def chat_body(stream: bool, model: str = MODEL) -> bytes:
    """The request body every system gets (the same as chat.lua sends)."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello in five words."},
        ],
        "max_tokens": 16,
    }
    if stream:
        payload["stream"] = True
    return msgspec.json.encode(payload)


@dataclass
class Server:
    """A running process listening on `port`."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The process id (the root of its process tree)."""
        return self.process.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The end of its output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def launch(
    name: str,
    argv: list[str],
    port: int,
    workdir: Path,
    *,
    cpus: str | None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Server:
    """Start `argv` (pinned to `cpus` if given) and wait until `port` accepts connections."""
    log_path = workdir / f"{name}.log"
    command = (["taskset", "-c", cpus] if cpus else []) + argv
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=HERE.parent,
        )
    server = Server(name, port, process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{name} exited at start:\n{server.log_tail()}")
        if wait_for_port(port, 0.5):
            return server
    server.stop()
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:g} s")


# --- configurations ----------------------------------------------------------------------


def governance_available() -> bool:
    """Whether this govern has the governance config section (issue 4)."""
    from govern.config import GovernConfig

    return "governance" in GovernConfig.__struct_fields__


def govern_config(upstream: str, *, governance: bool) -> dict[str, Any]:
    """govern's config for the benchmark: one OpenAI-compatible provider on the upstream,
    the model priced as `openai/gpt-4o-mini` by the catalog, the SQLite request log, and
    (with `governance`) a virtual key with a budget and a rate limit that never bind."""
    config: dict[str, Any] = {
        "providers": {
            "openai": {
                "base_url": upstream,
                "keys": [{"name": "bench", "value": "sk-upstream-bench"}],
                "models": [MODEL],
                "max_retries": 0,
                "timeout": 30,
            }
        },
        "pricing": {"unpriced": "reject"},
    }
    if governance:
        config["governance"] = {
            "virtual_keys": [
                {
                    "id": "bench",
                    "value": GOVERN_KEY,
                    "budgets": [{"max_usd": "1000000", "reset": "1d"}],
                    "rate_limits": [{"requests": 1_000_000_000, "reset": "1m"}],
                }
            ]
        }
    return config


def write_govern_config(path: Path, config: dict[str, Any]) -> Path:
    """Write `config` as JSON and check that govern accepts it."""
    from govern.config import load_config

    path.write_bytes(msgspec.json.encode(config))
    load_config(path)
    return path


def transport_in_config(name: str) -> bool:
    """Whether govern's config can name upstream transport `name` (`server.transport`)."""
    from govern.config import ServerConfig

    try:
        msgspec.convert({"transport": name}, type=ServerConfig)
    except msgspec.ValidationError:
        return False
    return True


def litellm_config(path: Path, upstream: str) -> Path:
    """LiteLLM proxy config: the same model on the same upstream, no database."""
    path.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream}\n"
        "      api_key: sk-upstream-bench\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n"
    )
    return path


LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price map at start
    "LITELLM_LOG": "ERROR",
    "LITELLM_TELEMETRY": "False",
}


def ensure_litellm(say: Callable[[str], None]) -> tuple[Path | None, str]:
    """The `litellm` executable in its own venv, installing it on first use.

    Returns (executable, note); the executable is None when it cannot be installed.
    """
    marker = LITELLM_VENV / ".installed"
    executable = LITELLM_VENV / "bin" / "litellm"
    if executable.exists() and marker.exists() and marker.read_text().strip() == LITELLM_SPEC:
        return executable, f"{LITELLM_SPEC} (already in {LITELLM_VENV.name})"
    say(f"installing {LITELLM_SPEC} into {LITELLM_VENV} (first run only; about 2 minutes)")
    shutil.rmtree(LITELLM_VENV, ignore_errors=True)
    started = time.monotonic()
    steps = [
        [PYTHON, "-m", "venv", str(LITELLM_VENV)],
        [str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", LITELLM_SPEC],
    ]
    for step in steps:
        say("  $ " + " ".join(step))
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            return None, f"not installed ({' '.join(step[:3])} failed: {tail[:300]})"
    marker.write_text(LITELLM_SPEC + "\n")
    say(f"  installed in {time.monotonic() - started:.0f} s")
    return executable, f"{LITELLM_SPEC} (installed by this run)"


# --- the systems under test --------------------------------------------------------------


@dataclass(frozen=True)
class System:
    """One system under test: how to start it and how to call it."""

    name: str
    label: str
    argv: Callable[[int, str, Path], list[str]]
    """(port, upstream base URL, work dir) -> command line."""
    key: str = GOVERN_KEY
    env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 60.0
    warmup_seconds: float = 2.0
    """Load before the timed runs, per request kind (connection pools, lazy imports)."""
    is_govern: bool = False


def govern_system(name: str, label: str, *, log: bool, governance: bool, transport: str) -> System:
    """govern as `python -m govern.serve` on the benchmark config."""

    def argv(port: int, upstream: str, workdir: Path) -> list[str]:
        config = govern_config(upstream, governance=governance)
        configurable = transport_in_config(transport)
        if configurable:
            config["server"] = {"transport": transport}
        path = write_govern_config(workdir / f"{name}.json", config)
        data_dir = workdir / f"{name}-data"
        command = [PYTHON, str(HERE / "govern_server.py"), "--config", str(path)]
        command += ["--port", str(port), "--data-dir", str(data_dir)]
        command += [] if configurable else ["--transport", transport]
        return command + ([] if log else ["--no-log"])

    return System(name, label, argv, is_govern=True)


def floor_system() -> System:
    """The Litestar + aiohttp pass-through."""

    def argv(port: int, upstream: str, workdir: Path) -> list[str]:
        return [PYTHON, str(HERE / "floor.py"), "--port", str(port), "--upstream", upstream]

    return System("floor", "floor: Litestar + aiohttp pass-through", argv)


def litellm_system(executable: Path) -> System:
    """The LiteLLM proxy, one worker, no database."""

    def argv(port: int, upstream: str, workdir: Path) -> list[str]:
        config = litellm_config(workdir / "litellm.yaml", upstream)
        return [
            str(executable),
            *("--config", str(config), "--host", "127.0.0.1", "--port", str(port)),
            *("--num_workers", "1"),
        ]

    return System(
        "litellm",
        "LiteLLM proxy (1 worker)",
        argv,
        key=LITELLM_KEY,
        env=LITELLM_ENV,
        start_timeout=120.0,
        warmup_seconds=5.0,  # measured: its first seconds after start are slower still
    )


def random_suffix() -> str:
    """A short random tag for work directories."""
    return secrets.token_hex(3)
