"""Stored completions replayed as streams, and finished streams assembled for storage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import openai
import pytest

from govern.cache.stream import chunks_to_completion, completion_to_chunks
from govern.sse import DONE, encode_data
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    CompletionUsage,
    Delta,
    FunctionCall,
    FunctionCallDelta,
    ResponseMessage,
    ToolCall,
    ToolCallDelta,
)

USAGE = Usage(input_tokens=20, cache_read_tokens=4, output_tokens=7, reasoning_tokens=2)


def text_completion(n: int = 1) -> ChatCompletion:
    return ChatCompletion(
        id="chatcmpl-1",
        created=1_750_000_000,
        model="gpt-4o-mini",
        choices=[
            Choice(
                index=i,
                message=ResponseMessage(content=f"Answer {i}: four."),
                finish_reason="stop",
            )
            for i in range(n)
        ],
        usage=CompletionUsage(prompt_tokens=20, completion_tokens=7, total_tokens=27),
        system_fingerprint="fp_1",
    )


def tool_completion() -> ChatCompletion:
    calls = [
        ToolCall(id="call_a", function=FunctionCall(name="add", arguments='{"a": 2, "b": 2}')),
        ToolCall(id="call_b", function=FunctionCall(name="log", arguments="{}")),
    ]
    return ChatCompletion(
        id="chatcmpl-2",
        created=1_750_000_000,
        model="gpt-4o-mini",
        choices=[
            Choice(
                index=0,
                message=ResponseMessage(content=None, tool_calls=calls),
                finish_reason="tool_calls",
            )
        ],
    )


class SSEServer:
    """A real HTTP server answering every POST with one fixed SSE body."""

    def __init__(self, body: bytes):
        body_bytes = body

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(body_bytes)))
                self.end_headers()
                self.wfile.write(body_bytes)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sse(chunks: list[ChatCompletionChunk]) -> bytes:
    return b"".join(encode_data(msgspec.json.encode(c)) for c in chunks) + DONE


@pytest.fixture
def replay() -> Iterator[object]:
    def run(chunks: list[ChatCompletionChunk]) -> list[openai.types.chat.ChatCompletionChunk]:
        with SSEServer(sse(chunks)) as url:
            client = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0)
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "What is 2+2?"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            return list(stream)

    yield run


def test_the_openai_sdk_reads_a_replayed_text_answer(replay: object) -> None:
    got = replay(completion_to_chunks(text_completion(), USAGE))  # type: ignore[operator]
    text = "".join(c.choices[0].delta.content or "" for c in got if c.choices)
    finish = [c.choices[0].finish_reason for c in got if c.choices and c.choices[0].finish_reason]
    assert (text, finish) == ("Answer 0: four.", ["stop"])
    last = got[-1]
    assert last.choices == [] and last.usage is not None
    # usage comes from the normalised Usage: 20 in (4 cached), 7 out (2 reasoning)
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        20,
        7,
        27,
    )
    assert last.usage.prompt_tokens_details.cached_tokens == 4  # type: ignore[union-attr]
    assert {c.id for c in got} == {"chatcmpl-1"}


def test_the_openai_sdk_reads_replayed_tool_calls(replay: object) -> None:
    got = replay(completion_to_chunks(tool_completion()))  # type: ignore[operator]
    calls = [tc for c in got if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [(tc.index, tc.id, tc.function.name, tc.function.arguments) for tc in calls] == [  # type: ignore[union-attr]
        (0, "call_a", "add", '{"a": 2, "b": 2}'),
        (1, "call_b", "log", "{}"),
    ]


def test_a_replay_without_usage_has_no_usage_chunk() -> None:
    chunks = completion_to_chunks(text_completion(), USAGE, include_usage=False)
    assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize("completion", [text_completion(), text_completion(n=3), tool_completion()])
def test_replayed_chunks_assemble_back_to_the_completion(completion: ChatCompletion) -> None:
    assert chunks_to_completion(completion_to_chunks(completion)) == completion


def _chunk(
    delta: Delta | None = None, finish: str | None = None, index: int = 0, logprobs: bytes = b""
) -> ChatCompletionChunk:
    choice = ChunkChoice(index=index, delta=delta or Delta(), finish_reason=finish)
    if logprobs:
        choice.logprobs = msgspec.Raw(logprobs)
    return ChatCompletionChunk(id="c", created=1, model="m", choices=[choice])


def test_a_stream_in_pieces_assembles_into_one_completion() -> None:
    usage = CompletionUsage(prompt_tokens=5, completion_tokens=3, total_tokens=8, cost_usd="0.1")
    chunks = [
        _chunk(Delta(role="assistant", content="")),
        _chunk(Delta(content="Hel")),
        _chunk(Delta(content="lo")),
        _chunk(
            Delta(
                tool_calls=[
                    ToolCallDelta(
                        index=0,
                        id="call_1",
                        type="function",
                        function=FunctionCallDelta(name="f", arguments='{"x":'),
                    )
                ]
            )
        ),
        _chunk(
            Delta(tool_calls=[ToolCallDelta(index=0, function=FunctionCallDelta(arguments="1}"))])
        ),
        _chunk(finish="tool_calls"),
        ChatCompletionChunk(id="c", created=1, model="m", choices=[], usage=usage),
    ]
    done = chunks_to_completion(chunks)
    assert done is not None
    message = done.choices[0].message
    assert message.content == "Hello"
    assert message.tool_calls == [
        ToolCall(id="call_1", function=FunctionCall(name="f", arguments='{"x":1}'))
    ]
    assert done.choices[0].finish_reason == "tool_calls"
    assert done.usage == CompletionUsage(prompt_tokens=5, completion_tokens=3, total_tokens=8)


def test_logprobs_of_every_chunk_are_kept() -> None:
    token = b'{"token":"%s","logprob":-0.1,"bytes":null,"top_logprobs":[]}'
    chunks = [
        _chunk(Delta(content="a"), logprobs=b'{"content":[' + token % b"a" + b"]}"),
        _chunk(Delta(content="b"), logprobs=b'{"content":[' + token % b"b" + b"]}"),
        _chunk(finish="stop"),
    ]
    done = chunks_to_completion(chunks)
    assert done is not None
    logprobs = msgspec.json.decode(done.choices[0].logprobs)
    assert [t["token"] for t in logprobs["content"]] == ["a", "b"]


def test_a_cut_off_stream_assembles_to_nothing() -> None:
    chunks = [_chunk(Delta(role="assistant", content="Hel")), _chunk(Delta(content="lo"))]
    assert chunks_to_completion(chunks) is None


def test_a_stream_with_one_unfinished_choice_assembles_to_nothing() -> None:
    chunks = [
        _chunk(Delta(content="a"), index=0),
        _chunk(finish="stop", index=0),
        _chunk(Delta(content="b"), index=1),
    ]
    assert chunks_to_completion(chunks) is None


def test_an_empty_stream_assembles_to_nothing() -> None:
    assert chunks_to_completion([]) is None


def test_the_openai_sdk_reads_replayed_logprobs(replay: object) -> None:
    completion = text_completion()
    completion.choices[0].logprobs = msgspec.Raw(
        b'{"content":[{"token":"Answer","logprob":-0.5,"bytes":null,"top_logprobs":[]}]}'
    )
    got = replay(completion_to_chunks(completion, USAGE))  # type: ignore[operator]
    tokens = [
        t.token
        for c in got
        if c.choices and c.choices[0].logprobs
        for t in c.choices[0].logprobs.content or ()
    ]
    assert tokens == ["Answer"]
