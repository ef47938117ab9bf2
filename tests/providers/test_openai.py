"""The OpenAI provider against the simulated upstream, and against recorded OpenAI payloads
replayed by a real HTTP server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from aiohttp import web

from govern.config import ProviderConfig, ProviderKey
from govern.errors import (
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from govern.providers.base import Call
from govern.providers.openai import OpenAIProvider
from govern.sim.server import Fault, SimUpstreamThread
from govern.transport import AiohttpTransport, HttpxTransport, Transport
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    EmbeddingRequest,
)
from tests.conftest import FIXTURES

SECRET = "sk-test-5ecret-provider-key"
KEY = ProviderKey(name="main", value=SECRET)
WORDS = "one two three four"  # 4 prompt tokens for the sim


def chat_request(**fields: Any) -> ChatCompletionRequest:
    """A request as the gateway decodes it from a client."""
    body = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": WORDS}],
        **fields,
    }
    return msgspec.json.decode(msgspec.json.encode(body), type=ChatCompletionRequest)


def call(model: str = "gpt-4o-mini", **extra: bytes) -> Call:
    """One attempt on `model` with the test key and raw extra fields."""
    return Call(
        provider="openai",
        model=model,
        key=KEY,
        extra_body={k: msgspec.Raw(v) for k, v in extra.items()},
    )


def recorded_body(sim: SimUpstreamThread) -> dict[str, Any]:
    """The JSON body of the last request the simulated upstream received."""
    body: dict[str, Any] = msgspec.json.decode(sim.sim.requests[-1].body)
    return body


async def collect(stream: Any) -> list[ChatCompletionChunk]:
    """Every chunk of a provider stream."""
    return [chunk async for chunk in stream]


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    """The default (aiohttp) transport, closed after the test."""
    t = AiohttpTransport()
    yield t
    await t.aclose()


@pytest.fixture
async def httpx_transport() -> AsyncIterator[Transport]:
    """The httpx transport, closed after the test."""
    t = HttpxTransport()
    yield t
    await t.aclose()


def provider_for(url: str, transport: Transport, **config: Any) -> OpenAIProvider:
    """An OpenAI provider whose upstream is `url`."""
    return OpenAIProvider("openai", ProviderConfig(base_url=url, **config), transport)


@pytest.fixture
def sim_provider(sim_upstream: SimUpstreamThread, transport: Transport) -> OpenAIProvider:
    """The provider pointed at the simulated OpenAI upstream."""
    return provider_for(sim_upstream.url + "/v1", transport, timeout=5)


# --- a replay upstream for recorded payloads ----------------------------------------------


@dataclass
class Replay:
    """A real HTTP server answering each request with the next queued answer."""

    url: str = ""
    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def answer(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Queue one answer."""
        self.answers.append((status, headers or {}, body))


@pytest.fixture
async def replay() -> AsyncIterator[Replay]:
    """A replay upstream on a free port of this test's event loop."""
    state = Replay()

    async def handle(request: web.Request) -> web.Response:
        state.requests.append((request.path_qs, dict(request.headers), await request.read()))
        status, headers, body = state.answers.pop(0)
        return web.Response(status=status, headers=headers, body=body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/v1"
    yield state
    await runner.cleanup()


def fixture_bytes(name: str) -> bytes:
    """A recorded OpenAI payload."""
    return (FIXTURES / "openai" / name).read_bytes()


def sse_body(name: str) -> bytes:
    """A recorded stream (a JSON list of `data:` payloads) as the SSE bytes OpenAI sends."""
    events = msgspec.json.decode(fixture_bytes(name))
    return b"".join(
        b"data: " + (e.encode() if isinstance(e, str) else msgspec.json.encode(e)) + b"\n\n"
        for e in events
    )


SSE = {"Content-Type": "text/event-stream"}

# --- non-streaming -----------------------------------------------------------------------


async def test_chat_returns_the_completion_with_normalised_usage(
    sim_provider: OpenAIProvider,
) -> None:
    result = await sim_provider.chat(chat_request(max_tokens=5), call())
    assert len((result.completion.choices[0].message.content or "").split()) == 5
    assert result.usage == Usage(input_tokens=4, output_tokens=5)


async def test_chat_over_the_httpx_transport(
    sim_upstream: SimUpstreamThread, httpx_transport: Transport
) -> None:
    provider = provider_for(sim_upstream.url + "/v1", httpx_transport)
    result = await provider.chat(chat_request(max_tokens=3), call())
    assert result.usage == Usage(input_tokens=4, output_tokens=3)


async def test_chat_sends_the_upstream_model_and_bearer_key(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    await sim_provider.chat(chat_request(), call("gpt-4.1-mini"))
    assert recorded_body(sim_upstream)["model"] == "gpt-4.1-mini"
    assert sim_upstream.sim.requests[-1].headers["Authorization"] == f"Bearer {SECRET}"


async def test_fallbacks_are_never_sent_upstream(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    await sim_provider.chat(chat_request(fallbacks=["anthropic/claude-sonnet-4-5"]), call())
    assert "fallbacks" not in recorded_body(sim_upstream)


async def test_extra_body_fields_are_passed_through(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    extra = call(store=b"true", metadata=b'{"team":"research"}')
    await sim_provider.chat(chat_request(), extra)
    body = recorded_body(sim_upstream)
    assert body["store"] is True
    assert body["metadata"] == {"team": "research"}


async def test_configured_headers_are_sent(
    sim_upstream: SimUpstreamThread, transport: Transport
) -> None:
    provider = provider_for(
        sim_upstream.url + "/v1", transport, headers={"OpenAI-Organization": "org-govern"}
    )
    await provider.chat(chat_request(), call())
    assert sim_upstream.sim.requests[-1].headers["OpenAI-Organization"] == "org-govern"


async def test_keyless_upstream_gets_no_authorization_header(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(fixture_bytes("chat_completion_tool_calls.json"))
    provider = provider_for(replay.url, transport)
    await provider.chat(
        chat_request(), Call(provider="ollama", model="llama3.2", key=ProviderKey(name="anonymous"))
    )
    path, headers, _ = replay.requests[-1]
    assert path == "/v1/chat/completions"
    assert "Authorization" not in headers


async def test_embeddings_pass_through(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    request = EmbeddingRequest(model="openai/text-embedding-3-small", input=["a b", "c d e"])
    result = await sim_provider.embed(request, call("text-embedding-3-small"))
    assert [e.index for e in result.response.data] == [0, 1]
    assert result.usage == Usage(input_tokens=5)
    assert recorded_body(sim_upstream)["model"] == "text-embedding-3-small"


# --- recorded payloads -------------------------------------------------------------------


async def test_usage_counts_cached_and_reasoning_tokens_inside_their_totals(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(fixture_bytes("chat_completion_cached_reasoning.json"))
    result = await provider_for(replay.url, transport).chat(chat_request(), call("o3-mini"))
    assert result.usage == Usage(
        input_tokens=1117, cache_read_tokens=1024, output_tokens=946, reasoning_tokens=640
    )
    assert result.usage.uncached_input_tokens == 93


async def test_tool_call_completion_is_decoded(replay: Replay, transport: Transport) -> None:
    replay.answer(fixture_bytes("chat_completion_tool_calls.json"))
    result = await provider_for(replay.url, transport).chat(chat_request(), call())
    choice = result.completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    assert choice.message.tool_calls[0].function.name == "get_current_weather"
    assert result.usage == Usage(input_tokens=82, output_tokens=17)


async def test_recorded_stream_yields_content_and_swallows_the_usage_chunk(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(sse_body("chat_stream_with_usage.json"), headers=SSE)
    stream = await provider_for(replay.url, transport).stream(chat_request(stream=True), call())
    chunks = await collect(stream)
    assert all(c.choices and c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello! How can I help?"
    assert stream.usage == Usage(input_tokens=2066, cache_read_tokens=1920, output_tokens=9)


async def test_azure_prompt_filter_event_is_skipped(replay: Replay, transport: Transport) -> None:
    replay.answer(sse_body("chat_stream_azure.json"), headers=SSE)
    provider = provider_for(replay.url, transport, api_version="2024-10-21")
    stream = await provider.stream(chat_request(stream=True), call("gpt-4o"))
    chunks = await collect(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["", "Hi", None]
    assert stream.usage == Usage(input_tokens=8, output_tokens=1)


async def test_error_event_in_a_stream_raises_with_the_provider_message(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(sse_body("chat_stream_error_event.json"), headers=SSE)
    stream = await provider_for(replay.url, transport).stream(chat_request(stream=True), call())
    seen: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError, match="The server had an error while processing"):
        async for chunk in stream:
            seen.append(chunk)
    assert len(seen) == 2


async def test_usage_on_the_last_content_chunk_is_taken_and_stripped(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(sse_body("mistral_stream_usage_on_last_chunk.json"), headers=SSE)
    provider = provider_for(replay.url, transport)
    stream = await provider.stream(chat_request(stream=True), call("mistral-small-latest"))
    chunks = await collect(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["", "Bonjour", " !"]
    assert all(c.usage is None for c in chunks)
    assert stream.usage == Usage(input_tokens=10, output_tokens=3)


@pytest.mark.parametrize(
    ("name", "status", "message", "code"),
    [
        (
            "ollama_error_model_not_found.json",
            404,
            'model "llama9" not found, try pulling it first',
            None,
        ),
        (
            "vllm_error_bad_request.json",
            400,
            "This model's maximum context length is 8192 tokens.",
            "400",
        ),
    ],
    ids=["ollama", "vllm"],
)
async def test_compatible_servers_error_shapes(
    replay: Replay,
    transport: Transport,
    name: str,
    status: int,
    message: str,
    code: str | None,
) -> None:
    replay.answer(fixture_bytes(name), status=status)
    with pytest.raises(UpstreamStatusError) as caught:
        await provider_for(replay.url, transport).chat(chat_request(), call())
    assert caught.value.message.startswith(message)
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize(
    "event",
    [b"[1, 2]", b'{"choices": 3}', b'{"id": "x", "choices": [{}]}'],
    ids=["array", "choices-not-a-list", "choice-without-fields"],
)
async def test_stream_event_outside_the_protocol_raises(
    replay: Replay, transport: Transport, event: bytes
) -> None:
    replay.answer(b"data: " + event + b"\n\ndata: [DONE]\n\n", headers=SSE)
    stream = await provider_for(replay.url, transport).stream(chat_request(stream=True), call())
    with pytest.raises(UpstreamUnavailable, match="outside the protocol"):
        await collect(stream)


async def test_stream_without_done_raises(replay: Replay, transport: Transport) -> None:
    body = sse_body("chat_stream_with_usage.json").replace(b"data: [DONE]\n\n", b"")
    replay.answer(body, headers=SSE)
    stream = await provider_for(replay.url, transport).stream(chat_request(stream=True), call())
    with pytest.raises(UpstreamUnavailable, match=r"ended before \[DONE\]"):
        await collect(stream)


async def test_recorded_rate_limit_body_gives_message_code_and_retry_after(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(
        fixture_bytes("error_rate_limit.json"), status=429, headers={"retry-after-ms": "250"}
    )
    with pytest.raises(UpstreamStatusError) as caught:
        await provider_for(replay.url, transport).chat(chat_request(), call())
    assert caught.value.message.startswith("Rate limit reached for gpt-4o-mini")
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.retry_after == 0.25
    assert caught.value.retryable


async def test_recorded_invalid_request_passes_through_with_param(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(fixture_bytes("error_context_length.json"), status=400)
    with pytest.raises(UpstreamStatusError) as caught:
        await provider_for(replay.url, transport).chat(chat_request(), call())
    error = caught.value
    assert (error.status, error.type, error.param, error.code) == (
        400,
        "invalid_request_error",
        "messages",
        "context_length_exceeded",
    )
    assert error.message.startswith("This model's maximum context length is 128000 tokens.")


async def test_error_body_that_is_not_json_is_quoted_truncated(
    replay: Replay, transport: Transport
) -> None:
    replay.answer(
        b"<html><body>502 Bad Gateway</body></html>" + b" " * 10 + b"x" * 2000, status=502
    )
    with pytest.raises(UpstreamStatusError) as caught:
        await provider_for(replay.url, transport).chat(chat_request(), call())
    assert caught.value.message.startswith("openai answered HTTP 502: <html><body>502 Bad")
    assert len(caught.value.message) < 600


# --- streaming against the simulated upstream ---------------------------------------------


async def test_stream_yields_the_answer_and_sets_usage(sim_provider: OpenAIProvider) -> None:
    expected = await sim_provider.chat(chat_request(max_tokens=6), call())
    stream = await sim_provider.stream(chat_request(max_tokens=6, stream=True), call())
    chunks = await collect(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == expected.completion.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "length"
    assert stream.usage == Usage(input_tokens=4, output_tokens=6)


async def test_stream_never_yields_a_usage_only_chunk(sim_provider: OpenAIProvider) -> None:
    request = chat_request(max_tokens=2, stream=True, stream_options={"include_usage": True})
    chunks = await collect(await sim_provider.stream(request, call()))
    assert all(c.choices and c.usage is None for c in chunks)


async def test_stream_always_asks_the_upstream_for_usage(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    stream = await sim_provider.stream(chat_request(stream=True), call())
    await collect(stream)
    body = recorded_body(sim_upstream)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_stream_over_the_httpx_transport(
    sim_upstream: SimUpstreamThread, httpx_transport: Transport
) -> None:
    provider = provider_for(sim_upstream.url + "/v1", httpx_transport)
    stream = await provider.stream(chat_request(max_tokens=3, stream=True), call())
    chunks = await collect(stream)
    assert sum(1 for c in chunks if c.choices[0].delta.content) == 3
    assert stream.usage == Usage(input_tokens=4, output_tokens=3)


async def test_stream_of_a_tool_call(sim_provider: OpenAIProvider) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    request = chat_request(stream=True, tools=tools, tool_choice="required")
    chunks = await collect(await sim_provider.stream(request, call()))
    deltas = [tc for c in chunks for tc in c.choices[0].delta.tool_calls or []]
    assert deltas[0].function is not None
    assert (deltas[0].function.name, deltas[0].function.arguments) == ("lookup", '{"q":"sim"}')
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_closing_a_stream_early_releases_it(sim_provider: OpenAIProvider) -> None:
    stream = await sim_provider.stream(chat_request(max_tokens=50, stream=True), call())
    async for _ in stream:
        break
    await stream.aclose()
    again = await sim_provider.chat(chat_request(max_tokens=1), call())
    assert again.usage.output_tokens == 1


# --- Azure OpenAI ------------------------------------------------------------------------


@pytest.fixture
def azure_provider(sim_upstream: SimUpstreamThread, transport: Transport) -> OpenAIProvider:
    """The provider in Azure mode, pointed at the simulated upstream's Azure routes."""
    return provider_for(sim_upstream.url, transport, api_version="2024-10-21")


async def test_azure_uses_the_deployment_url_and_api_key_header(
    azure_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    result = await azure_provider.chat(chat_request(max_tokens=2), call("prod-4o-mini"))
    recorded = sim_upstream.sim.requests[-1]
    assert recorded.path == "/openai/deployments/prod-4o-mini/chat/completions"
    assert recorded.query == "api-version=2024-10-21"
    assert recorded.headers["api-key"] == SECRET
    assert "Authorization" not in recorded.headers
    assert result.usage == Usage(input_tokens=4, output_tokens=2)


async def test_azure_stream(azure_provider: OpenAIProvider) -> None:
    stream = await azure_provider.stream(
        chat_request(max_tokens=2, stream=True), call("prod-4o-mini")
    )
    chunks = await collect(stream)
    assert sum(1 for c in chunks if c.choices[0].delta.content) == 2
    assert stream.usage == Usage(input_tokens=4, output_tokens=2)


async def test_azure_embeddings(
    azure_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    request = EmbeddingRequest(model="azure/embed", input="a b c")
    result = await azure_provider.embed(request, call("embed-small"))
    assert result.usage == Usage(input_tokens=3)
    assert sim_upstream.sim.requests[-1].path == "/openai/deployments/embed-small/embeddings"


# --- upstream errors ---------------------------------------------------------------------


async def test_upstream_400_passes_through_with_the_provider_message(
    sim_provider: OpenAIProvider,
) -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        await sim_provider.chat(chat_request(temperature=3.5), call())
    error = caught.value
    assert (error.status, error.upstream_status, error.retryable) == (400, 400, False)
    assert error.param == "temperature"
    assert error.message == (
        "Invalid 'temperature': decimal above maximum value. "
        "Expected a value <= 2, but got 3.5 instead."
    )


async def test_upstream_429_is_retryable_with_retry_after(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, message="Rate limit reached", retry_after=7))
    with pytest.raises(UpstreamStatusError) as caught:
        await sim_provider.chat(chat_request(), call())
    error = caught.value
    assert (error.upstream_status, error.retryable, error.retry_after) == (429, True, 7.0)
    assert error.message == "Rate limit reached"
    assert error.code == "rate_limit_exceeded"


async def test_upstream_500_is_retryable(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=500, message="The server had an error"))
    with pytest.raises(UpstreamStatusError) as caught:
        await sim_provider.chat(chat_request(), call())
    assert (caught.value.status, caught.value.retryable) == (502, True)
    assert caught.value.message == "The server had an error"


async def test_stream_error_status_raises_before_returning(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=503, message="overloaded"))
    with pytest.raises(UpstreamStatusError, match="overloaded"):
        await sim_provider.stream(chat_request(stream=True), call())


async def test_hanging_upstream_times_out(
    sim_upstream: SimUpstreamThread, transport: Transport
) -> None:
    sim_upstream.sim.add_fault(Fault(hang=True))
    provider = provider_for(sim_upstream.url + "/v1", transport, timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        await provider.chat(chat_request(), call())


async def test_hanging_stream_times_out(
    sim_upstream: SimUpstreamThread, httpx_transport: Transport
) -> None:
    sim_upstream.sim.add_fault(Fault(hang=True))
    provider = provider_for(sim_upstream.url + "/v1", httpx_transport, timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        await provider.stream(chat_request(stream=True), call())


async def test_connection_refused_is_unavailable(transport: Transport) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = provider_for(f"http://127.0.0.1:{port}/v1", transport, timeout=2)
    with pytest.raises(UpstreamUnavailable, match="openai is unreachable"):
        await provider.chat(chat_request(), call())


@pytest.mark.parametrize("use_httpx", [False, True], ids=["aiohttp", "httpx"])
async def test_cut_off_stream_raises_from_iteration(
    sim_upstream: SimUpstreamThread,
    transport: Transport,
    httpx_transport: Transport,
    use_httpx: bool,
) -> None:
    sim_upstream.sim.add_fault(Fault(cut_after=3))
    provider = provider_for(sim_upstream.url + "/v1", httpx_transport if use_httpx else transport)
    stream = await provider.stream(chat_request(max_tokens=10, stream=True), call())
    seen: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamUnavailable):
        async for chunk in stream:
            seen.append(chunk)
    assert len(seen) == 3
    assert stream.usage is None


async def test_malformed_stream_raises_from_iteration(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True))
    stream = await sim_provider.stream(chat_request(stream=True), call())
    with pytest.raises(UpstreamUnavailable, match="malformed stream event"):
        await collect(stream)


async def test_malformed_completion_is_unavailable(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True))
    with pytest.raises(UpstreamUnavailable, match="invalid chat completion"):
        await sim_provider.chat(chat_request(), call())


async def test_completion_cut_mid_body_is_unavailable(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(cut_after=0))
    with pytest.raises(UpstreamUnavailable):
        await sim_provider.chat(chat_request(), call())


# --- secrets -----------------------------------------------------------------------------


@pytest.fixture
def only_other_keys(sim_upstream: SimUpstreamThread) -> Any:
    """The simulated upstream accepts only a key that is not the provider's."""
    sim_upstream.sim.settings.api_keys = {"sk-some-other-key"}
    yield
    sim_upstream.sim.settings.api_keys = None


async def test_rejected_key_never_appears_in_the_error(
    sim_provider: OpenAIProvider, only_other_keys: None
) -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        await sim_provider.chat(chat_request(), call())
    assert caught.value.upstream_status == 401
    assert caught.value.message.startswith("Incorrect API key provided")
    assert SECRET not in str(caught.value)


async def test_key_echoed_by_the_upstream_is_redacted(
    sim_provider: OpenAIProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=403, message=f"key {SECRET} is blocked"))
    with pytest.raises(UpstreamStatusError) as caught:
        await sim_provider.chat(chat_request(), call())
    assert str(caught.value) == "key *** is blocked"


async def test_key_echoed_in_a_stream_error_event_is_redacted(
    replay: Replay, transport: Transport
) -> None:
    event = {"error": {"message": f"bad key {SECRET}", "type": "invalid_request_error"}}
    replay.answer(b"data: " + msgspec.json.encode(event) + b"\n\n", headers=SSE)
    stream = await provider_for(replay.url, transport).stream(chat_request(stream=True), call())
    with pytest.raises(UpstreamError) as caught:
        await collect(stream)
    assert SECRET not in str(caught.value)
