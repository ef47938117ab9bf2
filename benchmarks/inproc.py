"""govern's CPU per request without the HTTP server: a quick, low-noise check while tuning.

Calls the ASGI app directly (no socket between client and gateway, so no uvicorn), with
the real upstream transport to `benchmarks/upstream.py`, the request log and governance
on as in `make bench`'s govern-full. Prints process CPU µs per request (the log writer
thread included); `--profile FILE` writes a cProfile of the run.

    python -m benchmarks.inproc [--requests 20000] [--concurrency 32] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import free_port, wait_for_port
from benchmarks.systems import GOVERN_KEY, HERE, PYTHON, chat_body, govern_config


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process so far, by thread name (Linux)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        name = (task / "comm").read_text().strip()
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _scope(body_len: int) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(body_len).encode()),
            (b"authorization", f"Bearer {GOVERN_KEY}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 4000),
    }


async def _run(
    requests: int, concurrency: int, stream: bool, upstream: str, log: bool = True
) -> float:
    from govern.config import config_from_dict
    from govern.gateway import Gateway
    from govern.server import GatewayApp

    with tempfile.TemporaryDirectory() as tmp:
        config = govern_config(upstream, governance=True)
        config["data_dir"] = tmp
        config["server"] = {"transport": "httptools"}
        gateway = Gateway(config_from_dict(config))
        app = GatewayApp(gateway)
        await gateway.start()
        if not log:
            gateway.accountant.log = None
        body = chat_body(stream)
        statuses: dict[int, int] = {}

        async def one() -> None:
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    await asyncio.Event().wait()  # the client never disconnects
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses[message["status"]] = statuses.get(message["status"], 0) + 1

            await app(_scope(len(body)), receive, send)  # type: ignore[arg-type]

        async def worker(n: int) -> None:
            for _ in range(n):
                await one()

        for _ in range(200):  # warm up
            await one()
        statuses.clear()
        cpu = time.process_time()
        wall = time.perf_counter()
        share = requests // concurrency
        await asyncio.gather(*(worker(share) for _ in range(concurrency)))
        await gateway.aclose()  # flushes the log: its writer's CPU counts
        threads = _thread_cpu()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        done = share * concurrency
        print(
            f"{done} requests ({'stream' if stream else 'plain'}, {concurrency} at once): "
            f"{cpu / done * 1e6:.0f} µs CPU/request, {done / wall:,.0f} req/s, statuses {statuses}"
        )
        print("  by thread (µs/request):", {n: round(t / done * 1e6) for n, t in threads.items()})
        return cpu / done


def main() -> None:
    """Run the check (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--no-log", action="store_true", help="detach the request log")
    args = parser.parse_args()
    import uvloop

    port = free_port()
    upstream = subprocess.Popen(
        ["taskset", "-c", "1", PYTHON, str(HERE / "upstream.py"), "--port", str(port)]
    )
    try:
        wait_for_port(port, 10)
        url = f"http://127.0.0.1:{port}/v1"
        run = _run(args.requests, args.concurrency, args.stream, url, not args.no_log)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            uvloop.run(run)
            profiler.disable()
            profiler.dump_stats(args.profile)
        else:
            uvloop.run(run)
    finally:
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    sys.exit(main())
