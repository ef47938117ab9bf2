"""The gateway's own overhead: `x-govern-overhead-ms` and `govern_overhead_seconds`."""

from __future__ import annotations

import re

import httpx

from tests.conftest import ServeFactory

SIM = {"providers": {"sim": {"models": ["gpt-4o-mini"]}}}
BODY = {"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def overhead_count(url: str) -> float:
    """`govern_overhead_seconds_count` on /metrics."""
    text = httpx.get(f"{url}/metrics").text
    match = re.search(r"^govern_overhead_seconds_count (\S+)$", text, re.MULTILINE)
    assert match is not None
    return float(match.group(1))


def test_every_answer_is_observed_in_the_histogram(serve: ServeFactory) -> None:
    url = serve(SIM).url
    httpx.post(f"{url}/v1/chat/completions", json=BODY, timeout=30)
    httpx.post(f"{url}/v1/chat/completions", json={**BODY, "stream": True}, timeout=30)
    httpx.post(f"{url}/v1/chat/completions", json={"model": "nope/x", "messages": []})
    assert overhead_count(url) == 3


def test_the_header_is_a_small_non_negative_number(serve: ServeFactory) -> None:
    url = serve(SIM).url
    response = httpx.post(f"{url}/v1/chat/completions", json=BODY, timeout=30)
    # The sim answers in-process in well under a second; the gateway's share is less.
    assert 0 <= float(response.headers["x-govern-overhead-ms"]) < 1000
