"""The chat route's edges: bookkeeping around the answer, and what clients can send."""

from __future__ import annotations

import socket
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from govern.config import config_from_dict
from govern.gateway import Gateway
from govern.logs import requests
from govern.logs.store import DB_FILE
from govern.logs.writer import LogWriter
from govern.replies import RequestContext
from govern.server.embedded import EmbeddedServer
from govern.wire.decode import decode_chat_request
from tests.conftest import ServeFactory

# sim/m at $6,000 per million output tokens: 10 output tokens cost exactly $0.06.
PRICE = {"model": "m", "provider": "sim", "input_per_mtok": "0", "output_per_mtok": "6000"}
KEY = "gk-test-answer-first-key"
BODY = b'{"model": "sim/m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}'


def governed(log: dict[str, Any] | None = None, **key: Any) -> dict[str, Any]:
    """The sim provider priced, one key with a $1 budget and `key` options."""
    return {
        "providers": {"sim": {"models": ["m"]}},
        "pricing": {"overrides": [PRICE]},
        "log": log or {},
        "governance": {
            "virtual_keys": [
                {"id": "k", "value": KEY, "budgets": [{"max_usd": "1", "reset": "1d"}], **key}
            ]
        },
    }


def chat(url: str, body: bytes = BODY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    return httpx.post(f"{url}/v1/chat/completions", content=body, headers=headers, timeout=30)


def test_with_strict_durability_the_row_is_committed_before_the_answer(
    serve: ServeFactory,
) -> None:
    server = serve(governed(log={"durability": "strict"}))
    for _ in range(20):
        request_id = chat(server.url).headers["x-govern-request-id"]
        # The store itself, not the API (which would flush first): the row is there.
        conn = sqlite3.connect(server.gateway.data_dir / DB_FILE)
        found = conn.execute("SELECT COUNT(*) FROM requests WHERE request_id = ?", (request_id,))
        assert found.fetchone()[0] == 1
        conn.close()


async def test_a_row_that_cannot_be_written_still_settles_the_reservation(
    serve: ServeFactory,
) -> None:
    server = serve(governed(log={"durability": "strict"}))
    gateway = server.gateway
    store = gateway.accountant.log.store  # type: ignore[union-attr]
    # A strict writer that gives up fast on a store another connection keeps locked.
    store._writer.execute("PRAGMA busy_timeout=10")
    gateway.accountant.log = LogWriter(store, durability="strict", strict_retry_for=0.1)
    lock = sqlite3.connect(store.path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        chat_request, extras = decode_chat_request(BODY)
        try:
            await gateway.chat(chat_request, extras, RequestContext(api_key=KEY))
        except Exception as exc:
            assert "request log write failed" in str(exc)
        else:
            raise AssertionError("a strict write to a locked log must fail")
    finally:
        lock.execute("COMMIT")
        lock.close()
    (usage,) = [u for e in await gateway.admin.usage(None) for u in e.caps if u.kind == "usd"]
    assert (usage.spent, usage.reserved) == (Decimal("0.06"), 0)  # settled, not reserved


def test_options_answers_like_every_other_route(serve: ServeFactory) -> None:
    server = serve(governed())
    response = httpx.options(f"{server.url}/v1/chat/completions")
    assert response.status_code == 204
    assert response.headers["allow"] == "OPTIONS, POST"
    assert response.headers["x-govern-request-id"].startswith("req_")


def test_a_declared_body_over_the_limit_is_refused_before_100_continue(
    serve: ServeFactory,
) -> None:
    config = governed()
    config["server"] = {"max_body_bytes": 4096}
    server = serve(config)
    with socket.create_connection((server.host, server.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 40960\r\n"
            + f"Authorization: Bearer {KEY}\r\n".encode()
            + b"Expect: 100-continue\r\n\r\n"
        )
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")  # no `100 Continue` first
    assert b"larger than the limit of 4096 bytes" in answer


def test_a_model_name_no_header_can_carry_is_encoded_and_the_stream_still_ends(
    serve: ServeFactory,
) -> None:
    # No budget on this key: the sim serves any model name, unpriced.
    config = governed(max_concurrent=1)
    del config["governance"]["virtual_keys"][0]["budgets"]
    server = serve(config)
    body = msgspec.json.encode(
        {**msgspec.json.decode(BODY), "model": "sim/m\u0100\u0007", "stream": True}
    )
    for _ in range(3):  # the concurrency slot is released each time
        response = chat(server.url, body)
        assert response.status_code == 200
        assert response.headers["x-govern-model"] == "sim/m%C4%80%07"
        assert response.text.endswith("data: [DONE]\n\n")


def test_answers_sent_before_their_bookkeeping_are_all_recorded_and_settled(
    tmp_path: Path,
) -> None:
    # As `python -m govern.serve` runs: the answer leaves first, then its row and settle.
    gateway = Gateway(config_from_dict(governed()), data_dir=tmp_path)
    with EmbeddedServer(gateway, answer_first=True) as server:
        ids = [chat(server.url).headers["x-govern-request-id"] for _ in range(5)]
        stream = msgspec.json.encode({**msgspec.json.decode(BODY), "stream": True})
        assert chat(server.url, stream).text.endswith("data: [DONE]\n\n")
    rows = requests(tmp_path)
    assert set(ids) < set(rows["request_id"]) and len(rows) == 6
    # 6 calls x 10 output tokens x $0.006 = $0.36
    assert int(rows["cost_nanos"].sum()) == 360_000_000
