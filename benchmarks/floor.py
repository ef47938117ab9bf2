"""The floor: the least a Python gateway can do, a Litestar + aiohttp pass-through.

It reads the body, posts it unchanged to the upstream over a pooled aiohttp session and
relays the answer (bytes, or the stream as it arrives). No decoding, no pricing, no log:
whatever govern spends above this is the cost of what it does. Served by uvicorn with the
same loop and HTTP parser as `python -m govern.serve`.

    python benchmarks/floor.py --port 4820 --upstream http://127.0.0.1:4810/v1
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import uvicorn
from litestar import Litestar, Request, Response, post
from litestar.response import Stream


def create_app(upstream: str) -> Litestar:
    """The pass-through app for `upstream` (an OpenAI base URL)."""
    url = upstream.rstrip("/") + "/chat/completions"
    state: dict[str, aiohttp.ClientSession] = {}

    async def open_session() -> None:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
        state["session"] = aiohttp.ClientSession(connector=connector)

    async def close_session() -> None:
        await state["session"].close()

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.body()
        headers = {
            "Content-Type": "application/json",
            "Authorization": request.headers.get("authorization", ""),
        }
        upstream_response = await state["session"].post(url, data=body, headers=headers)
        media_type = upstream_response.headers.get("content-type", "application/json")
        if media_type.startswith("text/event-stream"):

            async def relay() -> AsyncIterator[bytes]:
                try:
                    async for chunk in upstream_response.content.iter_any():
                        yield chunk
                finally:
                    upstream_response.release()

            return Stream(relay(), media_type="text/event-stream")
        data = await upstream_response.read()
        upstream_response.release()
        return Response(data, media_type=media_type, status_code=upstream_response.status)

    return Litestar(
        route_handlers=[chat],
        on_startup=[open_session],
        on_shutdown=[close_session],
        openapi_config=None,
        logging_config=None,
    )


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4820)
    parser.add_argument("--upstream", required=True, help="OpenAI base URL of the upstream")
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.upstream),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
