"""The OpenAPI document: complete, self-consistent, and true of what the gateway sends.

Real answers of a gateway on the sim provider are validated against the document's own
schemas with jsonschema, so the schema cannot claim a shape the wire does not have.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import jsonschema
import msgspec
import openai
import pytest
import uvicorn
from litestar import Litestar, Request, get

from govern.apidoc import metrics_markdown, openapi_markdown
from govern.config import config_from_dict
from govern.gateway import Gateway
from govern.server import create_app, docs_routes
from govern.server.embedded import EmbeddedServer
from govern.server.openapi import OPERATIONS, Operation, openapi_document
from govern.wire.openai import Model
from tests.conftest import ServeFactory

SIM = {"providers": {"sim": {"models": ["gpt-4o-mini"]}}}


def app_with_docs(gateway: Gateway) -> Litestar:
    """The gateway's app, with `GET /openapi.json` (until app.py registers it itself)."""
    app = create_app(gateway)
    if "/openapi.json" not in {route.path for route in app.routes}:
        for handler in docs_routes.routes(gateway):
            app.register(handler)
    return app


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(app_with_docs(Gateway(config_from_dict(SIM))))


def validator(document: dict[str, Any], component: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema of the document."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_every_route_is_documented(document: dict[str, Any]) -> None:
    undocumented = [
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method, op in methods.items()
        if op.get("x-govern-undocumented")
    ]
    assert undocumented == [], (
        "describe these routes: add an entry to govern.server.openapi.OPERATIONS, or "
        'give the handler opt={"openapi": Operation(...)}'
    )


def test_a_route_can_document_itself() -> None:
    own = Operation(summary="A thing's models", tag="Management", response=list[Model])

    @get("/api/things/{thing_id:int}", opt={"openapi": own})
    async def thing(request: Request[Any, Any, Any]) -> bytes:
        return b"[]"

    @get("/api/unsaid")
    async def unsaid(request: Request[Any, Any, Any]) -> bytes:
        return b""

    doc = openapi_document(Litestar(route_handlers=[thing, unsaid]))
    op = doc["paths"]["/api/things/{thing_id}"]["get"]
    assert op["summary"] == "A thing's models"
    assert op["parameters"] == [
        {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    body = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}
    assert doc["tags"] == [
        {"name": "Management", "description": "The management API, with the admin key."}
    ]
    assert doc["paths"]["/api/unsaid"]["get"]["x-govern-undocumented"] is True


def test_documented_operations_are_served(document: dict[str, Any]) -> None:
    served = {(m.upper(), p) for p, methods in document["paths"].items() for m in methods}
    assert set(OPERATIONS) <= served


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    refs = set(_refs(document))
    schemas, headers = document["components"]["schemas"], document["components"]["headers"]
    for ref in refs:
        kind, _, name = ref.removeprefix("#/components/").partition("/")
        assert name in {"schemas": schemas, "headers": headers}[kind], ref


def test_component_schemas_are_valid_json_schema(document: dict[str, Any]) -> None:
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_names_field_docstrings(document: dict[str, Any]) -> None:
    usage = document["components"]["schemas"]["CompletionUsage"]["properties"]
    assert "the call's exact cost in dollars" in usage["cost_usd"]["description"]


def test_request_schema_accepts_a_chat_request_and_refuses_a_bad_one(
    document: dict[str, Any],
) -> None:
    check = validator(document, "ChatCompletionRequest")
    good = {
        "model": "sim/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        ],
        "max_tokens": 5,
        "fallbacks": ["sim/gpt-4o"],
    }
    check.validate(good)
    with pytest.raises(jsonschema.ValidationError):
        check.validate({**good, "messages": [{"role": "robot", "content": "hi"}]})


@pytest.fixture
def server(serve: ServeFactory) -> EmbeddedServer:
    return serve(SIM)


def test_chat_completion_matches_its_schema(
    document: dict[str, Any], server: EmbeddedServer
) -> None:
    body = {"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{server.url}/v1/chat/completions", json={**body, "max_tokens": 3})
    validator(document, "ChatCompletion").validate(response.json())


def test_stream_chunks_match_their_schema(document: dict[str, Any], server: EmbeddedServer) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=3,
        stream=True,
        stream_options={"include_usage": True},
    )
    check = validator(document, "ChatCompletionChunk")
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in stream]
    assert len(chunks) >= 3
    for chunk in chunks:
        check.validate(chunk)


def test_embeddings_models_and_errors_match_their_schemas(
    document: dict[str, Any], server: EmbeddedServer
) -> None:
    embeddings = httpx.post(
        f"{server.url}/v1/embeddings", json={"model": "sim/gpt-4o-mini", "input": "hi"}
    )
    validator(document, "EmbeddingResponse").validate(embeddings.json())
    validator(document, "ModelList").validate(httpx.get(f"{server.url}/v1/models").json())
    missing = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "nope/x", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert missing.status_code == 404
    validator(document, "ErrorResponse").validate(missing.json())


def test_anthropic_message_and_error_match_their_schemas(
    document: dict[str, Any], server: EmbeddedServer
) -> None:
    client = anthropic.Anthropic(base_url=f"{server.url}/anthropic", api_key="unused")
    message = client.messages.create(
        model="sim/gpt-4o-mini", max_tokens=3, messages=[{"role": "user", "content": "hi"}]
    )
    validator(document, "AnthropicMessage").validate(message.model_dump(exclude_none=True))
    bad = httpx.post(f"{server.url}/anthropic/v1/messages", json={"model": "sim/gpt-4o-mini"})
    assert bad.status_code == 400
    validator(document, "AnthropicErrorResponse").validate(bad.json())


@pytest.fixture
def docs_server(tmp_path: Any) -> Iterator[str]:
    """A gateway whose app serves `/openapi.json`, on a real port in a thread."""
    gateway = Gateway(config_from_dict(SIM), data_dir=tmp_path)
    config = uvicorn.Config(app_with_docs(gateway), port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def test_the_gateway_serves_its_document(docs_server: str) -> None:
    response = httpx.get(f"{docs_server}/openapi.json")
    assert response.status_code == 200
    served = msgspec.json.decode(response.content)
    assert served["openapi"] == "3.1.0"
    assert "/v1/chat/completions" in served["paths"]
    assert "/openapi.json" in served["paths"]


def test_markdown_links_only_to_schemas_it_renders(document: dict[str, Any]) -> None:
    page = openapi_markdown(document)
    anchors = set(_anchors(page))
    for target in set(_links(page)):
        assert target in anchors, target


def test_metrics_table_names_every_exposed_family(server: EmbeddedServer) -> None:
    httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    exposition = httpx.get(f"{server.url}/metrics").text
    families = {
        line.split()[2]
        for line in exposition.splitlines()
        # `_created` series (each counter's and histogram's start time) are described in prose
        if line.startswith("# TYPE ") and not line.split()[2].endswith("_created")
    }
    table = metrics_markdown()
    for family in families:
        assert f"`{family}" in table, family


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _anchors(page: str) -> list[str]:
    return re.findall(r"\{ #([\w-]+) \}", page)


def _links(page: str) -> list[str]:
    return re.findall(r"\]\(#([\w-]+)\)", page)
