"""The management API over HTTP: admin-key auth, bodies decoded once with 400s naming
the field, 404s, 409s, a created key shown once, `/api/keys/self` and `/api/usage`."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.testing import AsyncTestClient

from govern.errors import GovernError
from govern.governance.caps import Cap
from govern.governance.keys import hash_key
from govern.governance.meters import CapUsage
from govern.governance.service import Governance
from govern.logs.store import DB_FILE
from govern.server import admin_routes
from govern.server.errors import on_govern_error, on_http_error, on_unexpected
from govern.server.openapi import openapi_document
from tests.governance.entities import ADMIN, ALICE, Clock, governance_section, make_config

AUTH = {"authorization": f"Bearer {ADMIN}"}


class OneSpend:
    """A trivial usage source: $1.25 spent on every `usd` cap, nothing else."""

    async def usage(self, caps: Sequence[Cap], now: float) -> Mapping[str, CapUsage]:
        return {
            c.id: CapUsage(spent=1_250_000_000, reserved=0, window_start=now, reset_at=None)
            for c in caps
            if c.kind == "usd"
        }


def admin_app(gov: Governance) -> Litestar:
    """The admin routes with the gateway's error handlers, as the server mounts them."""
    return Litestar(
        route_handlers=admin_routes.routes(gov.admin),
        exception_handlers={
            GovernError: on_govern_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
        on_startup=[gov.start],
        on_shutdown=[gov.aclose],
        openapi_config=None,
    )


async def open_client(tmp_path: Path, section: dict[str, Any]) -> tuple[Governance, Any]:
    gov = Governance(make_config(section), tmp_path, clock=Clock(), usage=OneSpend())
    return gov, AsyncTestClient(admin_app(gov))


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Any]:
    _, test_client = await open_client(tmp_path, governance_section())
    async with test_client as c:
        yield c


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    detail: dict[str, Any] = body["error"]
    return detail


async def test_without_the_admin_key_is_401(client: Any) -> None:
    response = await client.get("/api/customers")
    assert response.status_code == 401
    assert error(response)["type"] == "authentication_error"


async def test_a_wrong_admin_key_is_403(client: Any) -> None:
    response = await client.get("/api/customers", headers={"authorization": "Bearer nope"})
    assert response.status_code == 403
    assert error(response)["code"] == "invalid_admin_key"


async def test_a_virtual_key_is_not_an_admin_key(client: Any) -> None:
    response = await client.get("/api/customers", headers={"authorization": f"Bearer {ALICE}"})
    assert response.status_code == 403


async def test_both_admin_headers_work(client: Any) -> None:
    by_bearer = await client.get("/api/customers", headers=AUTH)
    by_header = await client.get("/api/customers", headers={"x-govern-admin-key": ADMIN})
    assert by_bearer.status_code == by_header.status_code == 200
    assert [c["id"] for c in by_bearer.json()] == ["acme"]


async def test_without_a_configured_admin_key_the_api_is_off(tmp_path: Path) -> None:
    section = governance_section()
    del section["admin_key"]
    _, test_client = await open_client(tmp_path, section)
    async with test_client as c:
        response = await c.get("/api/customers", headers=AUTH)
    assert response.status_code == 403
    assert "GOVERN_ADMIN_KEY" in error(response)["message"]


async def test_a_created_key_is_shown_once_and_only_its_hash_stored(
    client: Any, tmp_path: Path
) -> None:
    created = await client.post("/api/keys", headers=AUTH, json={"id": "nb", "team": "eng"})
    assert created.status_code == 201
    value = created.json()["value"]
    assert value.startswith("gk-")
    read = await client.get("/api/keys/nb", headers=AUTH)
    assert read.status_code == 200
    assert "value" not in read.json() and value not in read.text
    assert value not in (await client.get("/api/keys", headers=AUTH)).text
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        row = conn.execute("SELECT * FROM governance_virtual_keys WHERE id = 'nb'").fetchone()
    assert hash_key(value) in row and value not in map(str, row)
    mine = await client.get("/api/keys/self", headers={"authorization": f"Bearer {value}"})
    assert mine.json()["key"]["id"] == "nb"


async def test_malformed_json_is_400(client: Any) -> None:
    response = await client.post("/api/teams", headers=AUTH, content=b"{not json")
    assert response.status_code == 400
    assert error(response)["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/api/teams", {"id": 7}, "id"),
        ("/api/teams", {"id": "ops", "customer": "globex"}, "customer"),
        ("/api/keys", {"budgets": [{"max_usd": "1", "reset": "fortnight"}]}, "budgets[0].reset"),
        ("/api/keys", {"team": "eng", "secret": "x"}, "secret"),
        ("/api/budgets", {"owner": "team:eng"}, "max_usd"),
        ("/api/rate-limits", {"owner": "key:alice", "requests": -1}, "requests"),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    client: Any, path: str, body: dict[str, Any], param: str
) -> None:
    response = await client.post(path, headers=AUTH, json=body)
    assert response.status_code == 400
    detail = error(response)
    assert detail["param"] == param
    assert detail["message"].startswith(f"{param}: ")


async def test_unknown_ids_are_404(client: Any) -> None:
    for method, path in (
        ("GET", "/api/customers/globex"),
        ("PATCH", "/api/teams/ops"),
        ("DELETE", "/api/keys/nobody"),
        ("GET", "/api/budgets/nope"),
        ("POST", "/api/keys/nobody/rotate"),
    ):
        response = await client.request(method, path, headers=AUTH, json={})
        assert response.status_code == 404, (method, path)
        assert error(response)["type"] == "not_found_error"


async def test_duplicates_are_409(client: Any) -> None:
    response = await client.post("/api/customers", headers=AUTH, json={"id": "acme"})
    assert response.status_code == 409
    assert error(response)["code"] == "already_exists"


async def test_patching_a_budget_keeps_its_id(client: Any) -> None:
    path = "/api/budgets/key:alice:budget:1d"
    response = await client.patch(path, headers=AUTH, json={"max_usd": "35.5"})
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["max_usd"]) == ("key:alice:budget:1d", "35.5")
    assert (await client.get(path, headers=AUTH)).json()["max_usd"] == "35.5"


async def test_budget_crud(client: Any) -> None:
    made = await client.post(
        "/api/budgets", headers=AUTH, json={"owner": "team:eng", "max_usd": 100, "reset": "1w"}
    )
    assert made.status_code == 201 and made.json()["id"] == "team:eng:budget:1w"
    listed = await client.get("/api/budgets", headers=AUTH, params={"owner": "team:eng"})
    assert [b["id"] for b in listed.json()] == ["team:eng:budget:1w"]
    gone = await client.delete("/api/budgets/team:eng:budget:1w", headers=AUTH)
    assert gone.json() == {"id": "team:eng:budget:1w", "deleted": True}


async def test_keys_self_answers_the_key_not_the_admin(client: Any) -> None:
    mine = await client.get("/api/keys/self", headers={"x-govern-key": ALICE})
    assert mine.status_code == 200
    body = mine.json()
    assert body["key"]["id"] == "alice"
    key = next(u for u in body["usage"] if u["entity"] == "key:alice")
    budget = next(c for c in key["caps"] if c["id"] == "key:alice:budget:1d")
    # $20 a day, $1.25 spent: $18.75 left.
    assert (budget["limit"], budget["spent"], budget["remaining"]) == ("20", "1.25", "18.75")
    assert (await client.get("/api/keys/self")).status_code == 401
    assert (await client.get("/api/keys/self", headers=AUTH)).status_code == 401


async def test_usage_of_one_entity(client: Any) -> None:
    response = await client.get("/api/usage", headers=AUTH, params={"entity": "customer:acme"})
    assert response.status_code == 200
    [acme] = response.json()
    assert acme["entity"] == "customer:acme"
    assert acme["caps"][0]["remaining"] == "498.75"  # $500 - $1.25
    bad = await client.get("/api/usage", headers=AUTH, params={"entity": "acme"})
    assert (bad.status_code, error(bad)["param"]) == (400, "entity")
    unknown = await client.get("/api/usage", headers=AUTH, params={"entity": "team:ops"})
    assert unknown.status_code == 404


async def test_every_admin_route_is_in_the_openapi_document(tmp_path: Path) -> None:
    gov, _ = await open_client(tmp_path, governance_section())
    paths = openapi_document(admin_app(gov))["paths"]
    operations = [op for methods in paths.values() for op in methods.values()]
    assert len(operations) == 28  # 5 collections x 5 operations, rotate, self, usage
    assert not [op["operationId"] for op in operations if op.get("x-govern-undocumented")]
    assert len({op["operationId"] for op in operations}) == len(operations)
