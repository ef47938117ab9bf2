"""A zero-latency fake OpenAI upstream for the benchmark: canned answers, no validation.

`python -m govern.sim` validates every request and renders each answer afresh (about
5,500 req/s on the 2-core benchmark machine), so at the gateway's target rates it would
take a large share of the CPU the gateway needs. This server answers from prebuilt bytes
on a raw asyncio protocol (uvloop) and does tens of thousands of requests per second.

`POST .../chat/completions` gets a chat completion, or an SSE stream (16 content chunks,
the finish chunk, the usage chunk and `[DONE]`, sent chunked like OpenAI) when the body
asks for `"stream": true`. Anything else gets 404.

    python benchmarks/upstream.py --port 4810
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
from typing import cast

MODEL = "gpt-4o-mini"
WORDS = "many tokens come back and what they cost budgets hold caches hit and logs record each"
_ID = "chatcmpl-bench0000000000000000000000000"
_CREATED = 1_796_300_000
_USAGE = (
    b'{"prompt_tokens":14,"completion_tokens":16,"total_tokens":30,'
    b'"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},'
    b'"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
    b'"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}'
)
_STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')


def _completion() -> bytes:
    content = WORDS
    return (
        b'{"id":"'
        + _ID.encode()
        + b'","object":"chat.completion","created":'
        + str(_CREATED).encode()
        + b',"model":"'
        + MODEL.encode()
        + b'","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"' + content.encode() + b'","refusal":null},'
        b'"logprobs":null,"finish_reason":"length"}],"usage":'
        + _USAGE
        + b',"system_fingerprint":"fp_bench"}'
    )


def _chunk(delta: bytes, finish: bytes = b"null", usage: bytes | None = None) -> bytes:
    head = (
        b'{"id":"'
        + _ID.encode()
        + b'","object":"chat.completion.chunk","created":'
        + str(_CREATED).encode()
        + b',"model":"'
        + MODEL.encode()
        + b'",'
    )
    if usage is not None:
        return head + b'"choices":[],"usage":' + usage + b"}"
    return (
        head
        + b'"choices":[{"index":0,"delta":'
        + delta
        + b',"logprobs":null,"finish_reason":'
        + finish
        + b'}],"usage":null}'
    )


def _stream_events() -> list[bytes]:
    events = [_chunk(b'{"role":"assistant","content":"","refusal":null}')]
    words = WORDS.split(" ")
    for i, word in enumerate(words):
        text = word if i == len(words) - 1 else word + " "
        events.append(_chunk(b'{"content":"' + text.encode() + b'"}'))
    events.append(_chunk(b"{}", b'"length"'))
    events.append(_chunk(b"", usage=_USAGE))
    return [b"data: " + e + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def _chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


COMPLETION = _completion()
STREAM_BODY = _chunked(_stream_events())
JSON_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(COMPLETION)).encode()
    + b"\r\n\r\n"
    + COMPLETION
)
SSE_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n" + STREAM_BODY
)
_NOT_FOUND_BODY = b'{"error":{"message":"not found","type":"invalid_request_error"}}'
NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(_NOT_FOUND_BODY)).encode()
    + b"\r\n\r\n"
    + _NOT_FOUND_BODY
)


class _Http(asyncio.Protocol):
    """HTTP/1.1 keep-alive, pipelining-safe, Content-Length or chunked request bodies."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer = self._buffer + data if self._buffer else data
        out: list[bytes] = []
        close = False
        while True:
            parsed = _parse(self._buffer)
            if parsed is None:
                break
            used, answer, close = parsed
            self._buffer = self._buffer[used:]
            out.append(answer)
            if close:
                break
        assert self._transport is not None
        if out:
            self._transport.write(b"".join(out))
        if close:
            self._transport.close()


def _parse(buffer: bytes) -> tuple[int, bytes, bool] | None:
    """One complete request at the start of `buffer`: (bytes used, answer, close)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].lower()
    start = end + 4
    request_line, _, _ = head.partition(b"\r\n")
    if b"transfer-encoding: chunked" in head:
        parts: list[bytes] = []
        pos = start
        while True:
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(buffer[pos:line_end].split(b";")[0], 16)
            if len(buffer) < line_end + 2 + size + 2:
                return None
            parts.append(buffer[line_end + 2 : line_end + 2 + size])
            pos = line_end + 2 + size + 2
            if size == 0:
                break
        body, used = b"".join(parts), pos
    else:
        match = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        if len(buffer) < start + length:
            return None
        body, used = buffer[start : start + length], start + length
    close = b"\r\nconnection: close" in head
    if request_line.startswith(b"post ") and b"/chat/completions" in request_line:
        answer = SSE_RESPONSE if _STREAM_TRUE.search(body) else JSON_RESPONSE
    else:
        answer = NOT_FOUND
    return used, answer, close


async def serve(host: str, port: int) -> None:
    """Listen until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, host, port, backlog=1024, reuse_address=True)
    print(f"bench upstream on http://{host}:{port}/v1", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4810)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a govern dependency on Linux
            asyncio.run(serve(args.host, args.port))
        else:
            uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
