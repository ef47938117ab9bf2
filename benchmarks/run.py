"""`make bench`: govern side by side with the floor and LiteLLM, on loopback.

Starts a zero-latency upstream, then each system under test in turn (govern with
everything on, govern with logging off, the Litestar + aiohttp floor, the LiteLLM proxy),
checks each answers correctly, drives it with wrk at each concurrency, streaming and not,
for several rounds, profiles govern under load with py-spy, and writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import checks, hotpath, report
from benchmarks.load import Cell, Run, wrk
from benchmarks.machine import describe, free_port
from benchmarks.systems import (
    PYTHON,
    Server,
    System,
    ensure_litellm,
    floor_system,
    govern_system,
    governance_available,
    launch,
    litellm_system,
    transport_in_config,
)

ROOT = Path(__file__).resolve().parent.parent
_T0 = time.monotonic()


def say(message: str) -> None:
    """Progress on stdout, stamped with the time since the start."""
    elapsed = int(time.monotonic() - _T0)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", default="1,32,64", help="comma-separated")
    p.add_argument("--modes", default="plain,stream", help="plain, stream or both")
    p.add_argument(
        "--systems",
        default="govern-full,govern-nolog,floor,litellm",
        help="comma-separated, from govern-full, govern-nolog, floor, litellm",
    )
    p.add_argument(
        "--governance",
        choices=["auto", "on", "off"],
        default="auto",
        help="budget + rate limit on the key in govern-full (auto: when govern has them)",
    )
    p.add_argument("--upstream", choices=["fast", "sim"], default="fast")
    p.add_argument(
        "--transport",
        choices=["httptools", "aiohttp", "httpx"],
        default="httptools",
        help="govern's upstream transport",
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--profile-seconds", type=float, default=8.0)
    p.add_argument("--quick", action="store_true", help="1 round of 2 s at 1 and 32 conns")
    p.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.connections = 2.0, 1, "1,32"
        args.profile_seconds = min(args.profile_seconds, 4.0)
    return args


def ensure_wrk() -> None:
    """Install wrk from Debian if it is missing (the benchmark runs as root)."""
    if shutil.which("wrk"):
        return
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        say("wrk is missing: $ " + " ".join(step))
        subprocess.run(step, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("wrk"):
        raise SystemExit("wrk could not be installed")


def progress(name: str, stream: bool, c: int, run: Run, where: str) -> None:
    """One line per wrk run."""
    server = "-" if run.cpu_server is None else f"{run.cpu_server:.0f}%"
    per = (
        f" ({run.cpu_server / 100 / run.rps * 1e6:,.0f} µs/req)"
        if run.cpu_server and run.rps
        else ""
    )
    errors = run.non_2xx + run.socket_errors
    say(
        f"{name:<13} {where:<9} {'stream' if stream else 'plain':<6} c={c:<3} "
        f"{run.rps:>8,.0f} req/s  p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
        f"errors {errors}  cpu server {server}{per} upstream {run.cpu_upstream:.0f}% "
        f"wrk {run.cpu_wrk:.0f}%"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(argv)
    connections = [int(c) for c in args.connections.split(",")]
    modes = [m == "stream" for m in args.modes.split(",")]
    wanted = args.systems.split(",")
    ensure_wrk()
    machine = describe()
    pin = not args.no_pin and machine.nproc >= 2
    server_cpus, client_cpus = ("0", "1") if pin else (None, None)
    say(f"machine: {machine.nproc} x {machine.cpu_model}, Python {machine.python}, {machine.wrk}")

    governance = args.governance == "on" or (args.governance == "auto" and governance_available())
    systems: list[System] = []
    notes: list[str] = []
    litellm_note = "not requested"
    if "govern-full" in wanted:
        label = "govern: pricing, log" + (", governance" if governance else "")
        systems.append(
            govern_system(
                "govern-full", label, log=True, governance=governance, transport=args.transport
            )
        )
    if "govern-nolog" in wanted:
        systems.append(
            govern_system(
                "govern-nolog",
                "govern: pricing only",
                log=False,
                governance=False,
                transport=args.transport,
            )
        )
    if "floor" in wanted:
        systems.append(floor_system())
    if "litellm" in wanted:
        executable, litellm_note = ensure_litellm(say)
        if executable is None:
            notes.append(f"LiteLLM skipped: {litellm_note}")
            say(f"LiteLLM skipped: {litellm_note}")
        else:
            systems.append(litellm_system(executable))

    runs = len(modes) * len(connections) * args.rounds * (len(systems) + 1)
    say(
        f"plan: {len(systems) + 1} systems x {len(modes)} modes x {len(connections)} "
        f"concurrencies x {args.rounds} rounds = {runs} wrk runs of {args.duration:g} s "
        f"(about {runs * (args.duration + 0.4) / 60:.1f} min of load)"
    )
    workdir = Path(tempfile.mkdtemp(prefix="govern-bench-"))
    upstream_kind = (
        "benchmarks/upstream.py (canned answers on a raw asyncio protocol)"
        if args.upstream == "fast"
        else "python -m govern.sim"
    )
    settings = [
        f"upstream: {upstream_kind}; a request asks for 16 output tokens, the stream has 19 events",
        "pinning: "
        + (
            "each system under test on CPU 0; upstream, wrk and py-spy on CPU 1 (taskset)"
            if pin
            else "none"
        ),
        f"wrk: {args.duration:g} s per run, {args.rounds} rounds, connections "
        f"{', '.join(map(str, connections))}, 1 thread per wrk when pinned",
        "govern: `python -m govern.serve` (uvicorn, uvloop, httptools, 1 process), provider "
        "`openai` at the upstream, model priced by the catalog as openai/gpt-4o-mini "
        "(unpriced: reject), request log in SQLite (buffered)",
        f"govern's upstream transport: `{args.transport}`"
        + (
            ""
            if transport_in_config(args.transport)
            else " (set by benchmarks/govern_server.py: `server.transport` cannot name it yet)"
        ),
        "governance in govern-full: "
        + (
            "a virtual key with a $1,000,000/day budget and a 10⁹/minute request limit"
            if governance
            else "off (not available in this govern yet: re-run once issue 4 lands, or "
            "`--governance on`)"
        ),
        "govern with logging off: `benchmarks/govern_server.py --no-log` detaches the "
        "request log after start (govern has no config switch for it yet)",
        f"LiteLLM: {litellm_note}; `litellm --num_workers 1`, no database",
    ]
    labels = {"direct": "direct to the upstream"} | {s.name: s.label for s in systems}
    results = report.Results(machine=machine, settings=settings, labels=labels, notes=notes)

    up_port = free_port()
    if args.upstream == "fast":
        up_argv = [PYTHON, str(ROOT / "benchmarks" / "upstream.py"), "--port", str(up_port)]
    else:
        up_argv = [PYTHON, "-m", "govern.sim", "--port", str(up_port)]
    upstream = launch("upstream", up_argv, up_port, workdir, cpus=client_cpus)
    upstream_url = f"http://127.0.0.1:{up_port}/v1"
    say(f"upstream on {upstream_url} (pid {upstream.pid}); work dir {workdir}")
    try:
        for system in [None, *systems]:
            run_system(
                system,
                args,
                results,
                upstream,
                upstream_url,
                workdir,
                connections,
                modes,
                server_cpus,
                client_cpus,
                governance,
            )
    finally:
        upstream.stop()
    results.elapsed_s = time.monotonic() - _T0
    report.write(args.output, results, connections, modes)
    say(f"wrote {args.output} ({results.elapsed_s / 60:.1f} min)")
    for line in report.targets(results)[2:]:
        say("target " + line)
    return 0


def run_system(
    system: System | None,
    args: argparse.Namespace,
    results: report.Results,
    upstream: Server,
    upstream_url: str,
    workdir: Path,
    connections: list[int],
    modes: list[bool],
    server_cpus: str | None,
    client_cpus: str | None,
    governance: bool,
) -> None:
    """Start one system (None: the upstream directly), verify it, time it, stop it."""
    name = "direct" if system is None else system.name
    key = "sk-bench" if system is None else system.key
    server: Server | None = None
    if system is not None:
        port = free_port()
        say(f"starting {name}")
        try:
            server = launch(
                name,
                system.argv(port, upstream_url, workdir),
                port,
                workdir,
                cpus=server_cpus,
                env=system.env,
                timeout=system.start_timeout,
            )
        except RuntimeError as exc:
            results.notes.append(f"{name} skipped: it did not start ({exc})")
            say(f"{name} skipped: {exc}")
            del results.labels[name]
            return
    else:
        port = upstream.port
    try:
        problems = checks.verify(port, key, govern=bool(system and system.is_govern))
        if problems:
            results.notes.append(f"{name} skipped: wrong answers: {'; '.join(problems)}")
            say(f"{name} skipped: {'; '.join(problems)}")
            del results.labels[name]
            return
        if system is not None and system.name == "govern-full" and governance:
            if checks.governance_enforced(port):
                results.notes.append("governance enforced in govern-full (an unknown key: 401)")
            else:
                results.notes.append(
                    "governance configured in govern-full but NOT enforced (an unknown key "
                    "was served): this govern does not apply it yet"
                )
                results.labels[name] = "govern: pricing, log (governance not enforced yet)"
        pid = server.pid if server else None

        def timed(stream: bool, c: int, seconds: float) -> Run:
            return wrk(
                port,
                connections=c,
                seconds=seconds,
                stream=stream,
                key=key,
                cpus=client_cpus,
                server_pid=pid,
                upstream_pid=upstream.pid,
            )

        warmup = 2.0 if system is None else system.warmup_seconds
        say(f"warming up {name} ({warmup:g} s per request kind)")
        for stream in modes:
            timed(stream, 32, warmup)
        before = checks.metrics_text(port) if system and system.is_govern else ""
        done = 0
        for round_ in range(args.rounds):
            for stream in modes:
                for c in connections:
                    run = timed(stream, c, args.duration)
                    done += run.requests
                    key_ = (name, stream, c)
                    cell = results.cells.get(key_)
                    rounds = [*cell.rounds, run] if cell else [run]
                    results.cells[key_] = Cell(name, stream, c, rounds)
                    progress(name, stream, c, run, f"round {round_ + 1}/{args.rounds}")
        if system is not None and system.is_govern:
            after = checks.metrics_text(port)
            ok = checks.metric(after, "govern_requests_total", status="200") - checks.metric(
                before, "govern_requests_total", status="200"
            )
            failed = checks.metric(after, "govern_errors_total") - checks.metric(
                before, "govern_errors_total"
            )
            results.counts.append(
                f"{system.label}: wrk counted {done:,} answers; govern_requests_total "
                f"(status 200) rose by {ok:,.0f} (it also counts answers in flight when a "
                f"run ended), govern_errors_total by {failed:,.0f}"
            )
            say("checking x-govern-overhead-ms and govern_overhead_seconds")
            results.overhead[name] = checks.overhead_check(port, key)
        if system is not None and name == results.full_name and not args.no_profile:
            for stream in modes:
                results.profiles[stream] = profile(
                    port, key, stream, args, workdir, server, upstream, client_cpus
                )
    finally:
        if server is not None:
            say(f"stopping {name}")
            server.stop()


def profile(
    port: int,
    key: str,
    stream: bool,
    args: argparse.Namespace,
    workdir: Path,
    server: Server | None,
    upstream: Server,
    client_cpus: str | None,
) -> str:
    """py-spy on the server while wrk drives it at 32 connections; a markdown summary."""
    assert server is not None
    kind = "stream" if stream else "plain"
    out = workdir / f"profile-{kind}.txt"
    say(f"profiling {server.name} ({kind}, 32 connections, {args.profile_seconds:g} s)")
    spy = hotpath.record(server.pid, args.profile_seconds, out, client_cpus)
    run = wrk(
        port,
        connections=32,
        seconds=args.profile_seconds + 1,
        stream=stream,
        key=key,
        cpus=client_cpus,
        server_pid=server.pid,
        upstream_pid=upstream.pid,
    )
    _, err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not out.exists():
        return f"py-spy failed: {err.decode(errors='replace').strip()[:300]}"
    per_request = None
    if run.cpu_server is not None and run.rps:
        per_request = run.cpu_server / 100 / run.rps * 1e6
    summary = hotpath.parse_raw(out.read_text())
    say(f"  {summary.samples} samples while serving {run.rps:,.0f} req/s")
    return (
        f"While profiled: {run.rps:,.0f} req/s, server CPU {run.cpu_server or 0:.0f}%. "
        + hotpath.summary_markdown(summary, per_request)
    )


if __name__ == "__main__":
    sys.exit(main())
