"""`GET /api/usage` (and `/api/keys/self`) show each entity's cache partition: entries,
hits, misses and what the hits saved, in an optional field."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema

from govern.cache import CacheUsageSource
from govern.server import create_app
from govern.server.embedded import EmbeddedServer
from govern.server.openapi import openapi_document
from tests.conftest import ServeFactory

ADMIN = "admin-for-cache-usage"
SAVED_USD = "0.00000375"
"""One call of sim/gpt-4o-mini priced as openai/gpt-4o-mini: 5 input tokens (the sim
counts words) x $0.15 and 5 output tokens x $0.60 per million = $0.00000075 + $0.000003."""


def config(scope: str = "key") -> dict[str, Any]:
    return {
        "providers": {"sim": {"models": ["gpt-4o-mini"]}},
        "pricing": {
            "overrides": [{"model": "sim/gpt-4o-mini", "pricing_as": "openai/gpt-4o-mini"}]
        },
        "cache": {"mode": "exact", "scope": scope},
        "governance": {
            "admin_key": ADMIN,
            "teams": [{"id": "eng"}],
            "virtual_keys": [
                {"id": "a", "value": "gk-a", "team": "eng"},
                {"id": "b", "value": "gk-b", "team": "eng"},
            ],
        },
    }


def start(serve: ServeFactory, scope: str = "key") -> EmbeddedServer:
    """A gateway with the cache's statistics plugged into governance (gateway.py's line)."""
    server = serve(config(scope))
    server.gateway.governance.cache_usage = CacheUsageSource(server.gateway.cache)
    return server


def ask(server: EmbeddedServer, key: str) -> None:
    httpx.post(
        f"{server.url}/v1/chat/completions",
        json={
            "model": "sim/gpt-4o-mini",
            "messages": [{"role": "user", "content": "what does the gateway do"}],
            "max_tokens": 5,
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ).raise_for_status()


def usage(server: EmbeddedServer, entity: str | None = None) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/usage",
        params={"entity": entity} if entity else {},
        headers={"x-govern-admin-key": ADMIN},
    )
    response.raise_for_status()
    body: list[dict[str, Any]] = response.json()
    return body


def test_a_keys_partition_shows_entries_hits_misses_and_savings(serve: ServeFactory) -> None:
    server = start(serve)
    ask(server, "gk-a")
    ask(server, "gk-a")
    [key] = usage(server, "key:a")
    assert key["cache"] == {
        "scope": "key:a",
        "entries": 1,
        "hits": 1,
        "exact_hits": 1,
        "semantic_hits": 0,
        "misses": 1,
        "saved_usd": SAVED_USD,
    }


def test_an_unused_partition_leaves_the_field_out(serve: ServeFactory) -> None:
    server = start(serve)
    ask(server, "gk-a")
    by_entity = {u["entity"]: u for u in usage(server)}
    assert "cache" in by_entity["key:a"]
    assert "cache" not in by_entity["key:b"]
    assert "cache" not in by_entity["team:eng"]  # entries are per key here


def test_a_shared_team_partition_is_the_teams(serve: ServeFactory) -> None:
    server = start(serve, scope="team")
    ask(server, "gk-a")
    ask(server, "gk-b")  # answered from what a stored: they share the team's partition
    [team] = usage(server, "team:eng")
    assert (team["cache"]["scope"], team["cache"]["entries"]) == ("team:eng", 1)
    assert (team["cache"]["hits"], team["cache"]["saved_usd"]) == (1, SAVED_USD)
    assert "cache" not in usage(server, "key:b")[0]


def test_a_key_sees_its_own_partition(serve: ServeFactory) -> None:
    server = start(serve)
    ask(server, "gk-a")
    me = httpx.get(f"{server.url}/api/keys/self", headers={"x-govern-key": "gk-a"}).json()
    key = next(u for u in me["usage"] if u["entity"] == "key:a")
    assert (key["cache"]["entries"], key["cache"]["misses"]) == (1, 1)


def test_the_answer_matches_the_published_schema(serve: ServeFactory) -> None:
    server = start(serve)
    ask(server, "gk-a")
    document = openapi_document(create_app(server.gateway))
    schema = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/EntityUsage"},
        "components": document["components"],
    }
    answer = usage(server)
    assert any("cache" in u for u in answer)
    jsonschema.Draft202012Validator(schema).validate(answer)
