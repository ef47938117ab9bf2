"""`python -m govern.sim`: run the simulated upstream (OpenAI, Anthropic, Bedrock)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from govern.sim.server import SimSettings, SimUpstream


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m govern.sim",
        description="Simulated OpenAI, Anthropic and Bedrock upstreams for offline use.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before the first byte of every answer"
    )
    parser.add_argument(
        "--chunk-interval-ms", type=float, default=0.0, help="delay between two stream events"
    )
    parser.add_argument(
        "--default-output-tokens",
        type=int,
        default=16,
        help="words generated when a request sets no output limit",
    )
    args = parser.parse_args(argv)
    settings = SimSettings(
        latency_ms=args.latency_ms,
        chunk_interval_ms=args.chunk_interval_ms,
        default_output_tokens=args.default_output_tokens,
    )

    async def serve() -> None:
        sim = SimUpstream(settings)
        url = await sim.start(args.host, args.port)
        creds = ", ".join(settings.aws_credentials)
        print(
            f"govern sim upstream on {url}: OpenAI {url}/v1, Anthropic {url}, "
            f"Bedrock {url} (AWS access key ids: {creds})",
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
