"""Profile a running gateway under load with py-spy and summarise where its time goes.

py-spy samples the process without pausing it (`--nonblocking`) and keeps only samples of
the thread holding the GIL (`--gil`): waiting for the GIL (the request log's writer thread
holds it now and then) would otherwise be charged to whatever frame was waiting, and idle
time (the event loop in epoll) is left out too. So the samples are Python's busy time;
native work done without the GIL (SQLite's C insert in the writer thread) is not in them,
and shows instead as the CPU difference between govern with and without the log.
The summary attributes each sample to a layer (by the file of its innermost frame) and
to functions (self time: innermost frame; inclusive: anywhere on the stack).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")

LAYERS: tuple[tuple[str, str], ...] = (
    ("govern/logs/", "govern: request log"),
    ("govern/accounting", "govern: accounting (pricing, log row, metrics)"),
    ("govern/catalog/", "govern: catalog (price lookup, cost)"),
    ("govern/pipeline", "govern: pipeline"),
    ("govern/attempts", "govern: pipeline"),
    ("govern/relay", "govern: pipeline"),
    ("govern/replies", "govern: pipeline"),
    ("govern/http1", "govern: transport"),
    ("govern/providers/", "govern: provider (encode, decode, stream)"),
    ("govern/transport", "govern: transport"),
    ("govern/server/", "govern: routes"),
    ("govern/wire/", "govern: request decode"),
    ("govern/sse", "govern: SSE"),
    ("govern/governance/", "govern: governance"),
    ("govern/cache/", "govern: cache"),
    ("govern/", "govern: other"),
    ("prometheus_client/", "prometheus_client (metrics)"),
    ("litestar/", "Litestar"),
    ("uvicorn/", "uvicorn"),
    ("aiohttp/", "aiohttp (upstream client)"),
    ("multidict/", "aiohttp (upstream client)"),
    ("yarl/", "aiohttp (upstream client)"),
    ("asyncio/", "asyncio"),
    ("anyio/", "anyio (Litestar's stream task group)"),
    ("sqlite3/", "SQLite"),
    ("concurrent/", "threads (to_thread)"),
    ("threading", "threads (to_thread)"),
    ("uuid", "stdlib: uuid"),
    ("decimal", "stdlib: decimal"),
    ("datetime", "stdlib: datetime"),
)


def _parse(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match.group("func"), match.group("file")


def layer_of(file: str) -> str:
    """The layer a source file belongs to."""
    for prefix, name in LAYERS:
        if prefix in file:
            return name
    return "other"


@dataclass
class Profile:
    """Samples of the busy process, by layer and by function."""

    samples: int = 0
    layers: Counter[str] = field(default_factory=Counter)
    self_time: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)

    def add(self, stack: list[str], count: int) -> None:
        """Add `count` samples of one stack (outermost frame first)."""
        if not stack:
            return
        self.samples += count
        func, file = _parse(stack[-1])
        self.self_time[f"{func} ({file})"] += count
        # The innermost frame that is ours or a library's names the layer; an innermost
        # stdlib frame (asyncio internals) is charged to asyncio.
        self.layers[layer_of(file)] += count
        for name in {f"{f} ({p})" for f, p in map(_parse, stack)}:
            self.inclusive[name] += count


def parse_raw(text: str) -> Profile:
    """A Profile from py-spy's raw (collapsed stacks) output."""
    profile = Profile()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        profile.add(stack.split(";"), int(count))
    return profile


def py_spy() -> str | None:
    """The py-spy executable, installing it into this venv if missing."""
    here = Path(sys.executable).parent / "py-spy"
    if here.exists():
        return str(here)
    found = shutil.which("py-spy")
    if found:
        return found
    print(f"  $ {sys.executable} -m pip install --quiet py-spy", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=False
    )
    return str(here) if done.returncode == 0 and here.exists() else None


def record(pid: int, seconds: float, out: Path, cpus: str | None) -> subprocess.Popen[bytes]:
    """Start py-spy sampling `pid` for `seconds` (returns the running py-spy)."""
    executable = py_spy()
    if executable is None:
        raise RuntimeError("py-spy is not installed and could not be installed")
    command = (["taskset", "-c", cpus] if cpus else []) + [
        executable,
        "record",
        "--nonblocking",
        "--gil",
        "--rate",
        "500",
        "--duration",
        f"{seconds:g}",
        "--format",
        "raw",
        "--output",
        str(out),
        "--pid",
        str(pid),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summary_markdown(profile: Profile, cpu_us_per_request: float | None, top: int = 15) -> str:
    """Markdown tables: time by layer, top self-time and top govern inclusive frames."""
    n = profile.samples or 1
    per = cpu_us_per_request

    def us(count: int) -> str:
        return f"{count / n * per:.0f}" if per is not None else "-"

    lines = [
        f"{profile.samples} busy samples"
        + (f"; {per:.0f} µs of gateway CPU per request" if per is not None else ""),
        "",
        "| layer (innermost frame) | share | µs / request |",
        "|---|---:|---:|",
    ]
    for name, count in profile.layers.most_common():
        lines.append(f"| {name} | {100 * count / n:.1f}% | {us(count)} |")
    lines += ["", "Top self time (innermost frame):", ""]
    lines += ["| function | share | µs / request |", "|---|---:|---:|"]
    for name, count in profile.self_time.most_common(top):
        lines.append(f"| `{name}` | {100 * count / n:.1f}% | {us(count)} |")
    lines += ["", "govern's own functions, inclusive (anywhere on the stack):", ""]
    lines += ["| function | share | µs / request |", "|---|---:|---:|"]
    ours = [
        (k, v)
        for k, v in profile.inclusive.most_common()
        if "govern/" in k and "govern/serve.py" not in k
    ]
    for name, count in ours[:top]:
        lines.append(f"| `{name}` | {100 * count / n:.1f}% | {us(count)} |")
    return "\n".join(lines)
