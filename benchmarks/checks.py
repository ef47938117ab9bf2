"""Checks that a system answers correctly before it is timed, and govern's own numbers.

A fast error is not a result: every system must answer both request kinds with 200 and a
real completion before wrk runs, and wrk's non-2xx and socket errors are counted too.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import msgspec

from benchmarks.systems import Reply, chat_body, get, post

PATH = "/v1/chat/completions"


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Message


class _Completion(msgspec.Struct):
    choices: list[_Choice]


def verify(port: int, key: str, *, govern: bool) -> list[str]:
    """Problems with the system's answers (empty when both request kinds are right)."""
    problems: list[str] = []
    plain = post(port, PATH, chat_body(False), key)
    if plain.status != 200:
        problems.append(f"non-streaming answered {plain.status}: {plain.body[:200]!r}")
    else:
        try:
            completion = msgspec.json.decode(plain.body, type=_Completion)
            if not completion.choices or not completion.choices[0].message.content:
                problems.append("non-streaming answer has no content")
        except msgspec.DecodeError as exc:
            problems.append(f"non-streaming answer is not a chat completion: {exc}")
    stream = post(port, PATH, chat_body(True), key)
    if stream.status != 200:
        problems.append(f"streaming answered {stream.status}: {stream.body[:200]!r}")
    elif b"data: [DONE]" not in stream.body or b'"content":"' not in stream.body:
        problems.append(f"stream is incomplete: {stream.body[-200:]!r}")
    if govern:
        for reply, kind in ((plain, "non-streaming"), (stream, "streaming")):
            if "x-govern-overhead-ms" not in reply.headers:
                problems.append(f"{kind} answer has no x-govern-overhead-ms header")
        if "x-govern-cost-usd" not in plain.headers:
            problems.append("non-streaming answer has no x-govern-cost-usd (not priced?)")
    return problems


def governance_enforced(port: int) -> bool:
    """Whether govern refuses an unknown virtual key (401), i.e. governance is on."""
    return post(port, PATH, chat_body(False), "sk-not-a-key").status == 401


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric_name, _, label_text = series.partition("{")
        if metric_name != name:
            continue
        if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            total += float(value)
    return total


def metrics_text(port: int) -> str:
    """The gateway's /metrics page."""
    reply = get(port, "/metrics")
    return reply.body.decode() if reply.status == 200 else ""


@dataclass(frozen=True, slots=True)
class OverheadCheck:
    """govern's own overhead numbers next to what the client measured."""

    requests: int
    header_p50_ms: float
    header_p99_ms: float
    client_p50_ms: float
    metric_count: float
    metric_mean_ms: float | None


def overhead_check(port: int, key: str, requests: int = 300) -> OverheadCheck:
    """Sequential requests on one keep-alive connection: `x-govern-overhead-ms` as sent,
    the client's latency, and `govern_overhead_seconds` over the same requests."""
    import http.client

    before = metrics_text(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    body = chat_body(False)
    overheads: list[float] = []
    latencies: list[float] = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            value = response.getheader("x-govern-overhead-ms")
            if response.status == 200 and value is not None:
                overheads.append(float(value))
    finally:
        conn.close()
    after = metrics_text(port)
    count = metric(after, "govern_overhead_seconds_count") - metric(
        before, "govern_overhead_seconds_count"
    )
    total = metric(after, "govern_overhead_seconds_sum") - metric(
        before, "govern_overhead_seconds_sum"
    )
    overheads.sort()
    return OverheadCheck(
        requests=len(overheads),
        header_p50_ms=statistics.median(overheads) if overheads else float("nan"),
        header_p99_ms=overheads[int(0.99 * (len(overheads) - 1))] if overheads else float("nan"),
        client_p50_ms=statistics.median(latencies),
        metric_count=count,
        metric_mean_ms=1000 * total / count if count else None,
    )


def answered(reply: Reply) -> str:
    """A short description of an answer, for messages."""
    return f"{reply.status} {reply.body[:120]!r}"
