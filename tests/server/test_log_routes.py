"""`GET /api/logs` and `GET /api/spend`: the request log over HTTP, behind the admin key."""

from __future__ import annotations

import httpx

from govern.notebook.session import Remote
from govern.notebook.sources import RemoteSource
from govern.server.embedded import EmbeddedServer
from tests.conftest import ServeFactory

ADMIN = "admin-secret-for-tests"
CONFIG = {
    "providers": {"sim": {"models": ["gpt-4o-mini", "gpt-4o"]}},
    "pricing": {
        "overrides": [
            {"model": "sim/gpt-4o-mini", "pricing_as": "openai/gpt-4o-mini"},
            {"model": "sim/gpt-4o", "pricing_as": "openai/gpt-4o"},
        ]
    },
    "governance": {"admin_key": ADMIN},
    "log": {"durability": "strict"},  # rows are committed before each response
}


def traffic(server: EmbeddedServer) -> None:
    for model, n in (("sim/gpt-4o-mini", 3), ("sim/gpt-4o", 2)):
        for _ in range(n):
            httpx.post(
                f"{server.url}/v1/chat/completions",
                json={
                    "model": model,
                    "messages": [{"role": "user", "content": "one two"}],
                    "max_tokens": 4,
                },
            ).raise_for_status()


def get(
    server: EmbeddedServer, path: str, admin: str | None = ADMIN, **params: object
) -> httpx.Response:
    headers = {"x-govern-admin-key": admin} if admin else {}
    return httpx.get(f"{server.url}{path}", params=params, headers=headers)  # type: ignore[arg-type]


def test_logs_need_the_admin_key(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    assert get(server, "/api/logs", admin=None).status_code == 401
    assert get(server, "/api/logs", admin="wrong").status_code == 403


def test_logs_page_newest_first_with_a_cursor(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    traffic(server)
    first = get(server, "/api/logs", limit=3).json()
    assert len(first["items"]) == 3
    second = get(server, "/api/logs", limit=3, cursor=first["next_cursor"]).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)
    only = get(server, "/api/logs", model_served="gpt-4o").json()["items"]
    assert [i["model_served"] for i in only] == ["gpt-4o", "gpt-4o"]


def test_spend_groups_exactly(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    traffic(server)
    items = get(server, "/api/spend", group_by="model_served").json()["items"]
    by_model = {i["group"]["model_served"]: i for i in items}
    # gpt-4o-mini: 3 calls * (2 * $0.15 + 4 * $0.60) / 1M = 3 * 0.0000027 = 0.0000081
    assert by_model["gpt-4o-mini"]["cost_usd"] == "0.000008100"
    # gpt-4o: 2 calls * (2 * $2.50 + 4 * $10) / 1M = 2 * 0.000045 = 0.00009
    assert by_model["gpt-4o"]["cost_usd"] == "0.000090000"
    assert by_model["gpt-4o"]["requests"] == 2


def test_bad_query_names_the_parameter(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    response = get(server, "/api/spend", group_by="colour")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "group_by"
    response = get(server, "/api/logs", flavour="x")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "flavour"


def test_notebook_remote_source_reads_spend(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    traffic(server)
    source = RemoteSource(Remote(url=server.url, admin_key=ADMIN))
    frame = source.spend(["model_served"])
    assert sorted(frame["model_served"]) == ["gpt-4o", "gpt-4o-mini"]
    assert int(frame["cost_nanos"].sum()) == 8_100 + 90_000
    assert len(source.requests(limit=10)) == 5
