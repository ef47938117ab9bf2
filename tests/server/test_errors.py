"""Every client error answers in the OpenAI error shape, naming what was wrong."""

from __future__ import annotations

import httpx
import pytest

from govern.server.embedded import EmbeddedServer
from tests.conftest import ServeFactory


def post(
    server: EmbeddedServer, body: bytes | str, path: str = "/v1/chat/completions", **headers: str
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.post(f"{server.url}{path}", content=content, headers=headers, timeout=10)


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    assert response.headers["x-govern-request-id"].startswith("req_")
    error: dict[str, object] = body["error"]
    return error


def test_bad_json_is_400(sim_gateway: EmbeddedServer) -> None:
    response = post(sim_gateway, '{"model": "sim/gpt-4o-mini", "messages": [')
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert "not valid JSON" in str(error["message"])


def test_body_not_an_object_is_400(sim_gateway: EmbeddedServer) -> None:
    response = post(sim_gateway, "[1, 2]")
    assert response.status_code == 400
    assert error_of(response)["message"] == "request body must be a JSON object"


def test_empty_body_is_400(sim_gateway: EmbeddedServer) -> None:
    response = post(sim_gateway, b"")
    assert response.status_code == 400
    assert "empty" in str(error_of(response)["message"])


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        (
            '{"messages": [{"role": "user", "content": "hi"}]}',
            None,
            "missing required field `model`",
        ),
        ('{"model": "sim/gpt-4o-mini"}', None, "missing required field `messages`"),
        (
            '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],'
            ' "max_tokens": "ten"}',
            "max_tokens",
            "Expected `int | null`, got `str`",
        ),
        (
            '{"model": "sim/gpt-4o-mini", "messages": [{"role": "robot", "content": "hi"}]}',
            "messages[0].role",
            "Invalid value 'robot'",
        ),
        (
            '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user"}]}',
            "messages[0]",
            "missing required field `content`",
        ),
        (
            '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],'
            ' "temperature": 3}',
            "temperature",
            "between 0 and 2",
        ),
        (
            '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],'
            ' "max_tokens": 0}',
            "max_tokens",
            "must be >= 1",
        ),
        ('{"model": "sim/gpt-4o-mini", "messages": []}', "messages", "at least one message"),
        (
            '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],'
            ' "stream_options": {"include_usage": true}}',
            "stream_options",
            "only allowed",
        ),
    ],
)
def test_schema_violations_name_the_field(
    sim_gateway: EmbeddedServer, body: str, param: str | None, fragment: str
) -> None:
    response = post(sim_gateway, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fragment in str(error["message"])


def test_unknown_model_is_404_listing_models(sim_gateway: EmbeddedServer) -> None:
    response = post(
        sim_gateway, '{"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}'
    )
    assert response.status_code == 404
    error = error_of(response)
    assert (error["type"], error["code"], error["param"]) == (
        "not_found_error",
        "model_not_found",
        "model",
    )
    assert "'gpt-9' does not exist" in str(error["message"])
    assert "sim/gpt-4o-mini" in str(error["message"])


def test_unknown_fallback_model_is_404_naming_it(sim_gateway: EmbeddedServer) -> None:
    response = post(
        sim_gateway,
        '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],'
        ' "fallbacks": ["sim/gpt-4o-mini", "nowhere"]}',
    )
    assert response.status_code == 404
    assert error_of(response)["param"] == "fallbacks[1]"


def test_body_over_the_limit_is_413(serve: ServeFactory) -> None:
    server = serve({"providers": {"sim": {"models": ["m"]}}, "server": {"max_body_bytes": 1000}})
    big = '{"model": "sim/m", "messages": [{"role": "user", "content": "' + "x" * 2000 + '"}]}'
    response = post(server, big)
    assert response.status_code == 413
    error = error_of(response)
    assert error["type"] == "request_too_large"
    assert "1000 bytes" in str(error["message"])
    small = post(server, '{"model": "sim/m", "messages": [{"role": "user", "content": "ok"}]}')
    assert small.status_code == 200


def test_wrong_method_is_405(sim_gateway: EmbeddedServer) -> None:
    response = httpx.delete(f"{sim_gateway.url}/v1/chat/completions")
    assert response.status_code == 405
    assert "DELETE" in str(error_of(response)["message"])
    assert response.headers["allow"] == "OPTIONS, POST"
    assert response.headers["x-govern-request-id"].startswith("req_")


def test_embeddings_validation(sim_gateway: EmbeddedServer) -> None:
    response = post(
        sim_gateway, '{"model": "sim/gpt-4o-mini", "input": ["a", 1]}', path="/v1/embeddings"
    )
    assert response.status_code == 400
    assert error_of(response)["param"] == "input"


def test_absurd_output_limits_are_refused_before_any_work(sim_gateway: EmbeddedServer) -> None:
    huge = post(
        sim_gateway,
        '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],'
        ' "max_tokens": 100000000000}',
    )
    assert huge.status_code == 400
    assert error_of(huge)["param"] == "max_tokens"
    # within the wire limit but beyond what the sim model writes: the provider's 400
    large = post(
        sim_gateway,
        '{"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],'
        ' "max_tokens": 200000, "n": 2}',
    )
    assert large.status_code == 400
    assert "at most 131072 completion tokens" in str(error_of(large)["message"])


def test_a_bug_on_the_chat_path_is_a_plain_500_with_the_request_id(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve({"providers": {"sim": {"models": ["m"]}}})

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug with a secret sk-do-not-show")

    # A fault injected into the gateway itself: no request can make a correct one fail.
    monkeypatch.setattr(server.gateway, "chat", broken)
    response = post(server, '{"model": "sim/m", "messages": [{"role": "user", "content": "x"}]}')
    assert response.status_code == 500
    request_id = response.headers["x-govern-request-id"]
    error = error_of(response)
    assert error["message"] == (
        f"internal error in the gateway (request {request_id}); the server log has details"
    )
    assert "sk-do-not-show" not in response.text
    assert "RuntimeError: a bug" in caplog.text  # the traceback goes to the server log
