"""Drive a server with wrk and measure it: latency, throughput, errors, CPU per process."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from benchmarks.machine import children_cpu_seconds, tree_cpu_seconds

LUA = Path(__file__).resolve().parent / "chat.lua"


class WrkSummary(msgspec.Struct):
    """What chat.lua's `done` prints (latencies in microseconds)."""

    requests: int
    duration_us: int
    bytes: int
    status_errors: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    p50_us: float
    p90_us: float
    p99_us: float
    mean_us: float
    max_us: float


@dataclass(frozen=True, slots=True)
class Run:
    """One wrk run against one system."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_server: float | None
    """CPU used by the system under test, in % of one core (None: the upstream alone)."""
    cpu_upstream: float
    cpu_wrk: float


def wrk(
    port: int,
    *,
    connections: int,
    seconds: float,
    stream: bool,
    key: str,
    cpus: str | None,
    server_pid: int | None,
    upstream_pid: int,
) -> Run:
    """Run wrk for `seconds` at `connections` and measure every process involved."""
    threads = 1 if cpus or connections == 1 else 2
    command = (["taskset", "-c", cpus] if cpus else []) + [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}/v1/chat/completions",
    ]
    env = {**os.environ, "BENCH_KEY": key, "BENCH_STREAM": "1" if stream else "0"}
    server_before = tree_cpu_seconds(server_pid) if server_pid else 0.0
    upstream_before = tree_cpu_seconds(upstream_pid)
    wrk_before = children_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    wrk_cpu = children_cpu_seconds() - wrk_before
    upstream_cpu = tree_cpu_seconds(upstream_pid) - upstream_before
    server_cpu = tree_cpu_seconds(server_pid) - server_before if server_pid else None
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    s = msgspec.json.decode(line[6:], type=WrkSummary)
    duration = s.duration_us / 1e6
    return Run(
        requests=s.requests,
        rps=s.requests / duration if duration else 0.0,
        p50_ms=s.p50_us / 1000,
        p99_ms=s.p99_us / 1000,
        non_2xx=s.status_errors,
        socket_errors=s.connect_errors + s.read_errors + s.write_errors + s.timeouts,
        cpu_server=None if server_cpu is None else 100 * server_cpu / wall,
        cpu_upstream=100 * upstream_cpu / wall,
        cpu_wrk=100 * wrk_cpu / wall,
    )


@dataclass(frozen=True, slots=True)
class Cell:
    """The median of a configuration's rounds."""

    system: str
    stream: bool
    connections: int
    rounds: list[Run]

    def _median(self, values: list[float]) -> float:
        return statistics.median(values)

    @property
    def p50_ms(self) -> float:
        """Median over rounds of the p50 latency."""
        return self._median([r.p50_ms for r in self.rounds])

    @property
    def p99_ms(self) -> float:
        """Median over rounds of the p99 latency."""
        return self._median([r.p99_ms for r in self.rounds])

    @property
    def rps(self) -> float:
        """Median over rounds of the throughput."""
        return self._median([r.rps for r in self.rounds])

    @property
    def rps_range(self) -> tuple[float, float]:
        """The lowest and highest throughput of the rounds."""
        values = [r.rps for r in self.rounds]
        return min(values), max(values)

    @property
    def errors(self) -> int:
        """Non-2xx answers and socket errors over all rounds."""
        return sum(r.non_2xx + r.socket_errors for r in self.rounds)

    @property
    def requests(self) -> int:
        """Requests completed over all rounds."""
        return sum(r.requests for r in self.rounds)

    @property
    def server_us_per_request(self) -> float | None:
        """Median over rounds of the server's CPU time per answer, in microseconds: less
        sensitive to other load on the machine than req/s."""
        values = [r.cpu_server / 100 / r.rps * 1e6 for r in self.rounds if r.cpu_server and r.rps]
        return self._median(values) if values else None

    def cpu(self) -> tuple[float | None, float, float]:
        """Median CPU (% of a core) of the server, the upstream and wrk."""
        server = [r.cpu_server for r in self.rounds if r.cpu_server is not None]
        return (
            self._median(server) if server else None,
            self._median([r.cpu_upstream for r in self.rounds]),
            self._median([r.cpu_wrk for r in self.rounds]),
        )
