"""`python -m govern.replay`: replay an LLM traffic trace through a running gateway.

The trace is in the Azure LLM inference format (`TIMESTAMP,ContextTokens,GeneratedTokens`).
Each row becomes a chat request, sent with the official `openai` client, whose prompt is
ContextTokens words and whose `max_tokens` is GeneratedTokens, at the trace's arrival
times divided by `--rate` (`--rate 0`: as fast as `--concurrency` allows).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One request of a trace."""

    offset: float
    """Seconds after the trace's first arrival."""
    index: int
    """The row's position in the trace (0-based)."""
    context_tokens: int
    generated_tokens: int


@dataclass(slots=True)
class ReplaySummary:
    """What a replay did."""

    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    priced: int = 0
    wall_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        """Latency percentile `q` (0..100) in seconds, nearest-rank."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1]

    def render(self) -> str:
        """The human summary printed at the end of a replay."""
        errors = sum(self.errors.values())
        detail = ", ".join(f"{k}: {v}" for k, v in self.errors.most_common()) or "none"
        lines = [
            f"requests     {self.requests}",
            f"errors       {errors} ({detail})",
            f"tokens in    {self.input_tokens}",
            f"tokens out   {self.output_tokens}",
            f"wall time    {self.wall_seconds:.2f} s"
            f" ({self.requests / self.wall_seconds if self.wall_seconds else 0:.1f} req/s)",
            f"latency p50  {self.percentile(50) * 1000:.1f} ms",
            f"latency p99  {self.percentile(99) * 1000:.1f} ms",
        ]
        if self.priced:
            lines.append(f"cost         ${self.cost_usd:.6f} ({self.priced} priced responses)")
        return "\n".join(lines)


def parse_timestamp(text: str) -> datetime:
    """A trace timestamp; the Azure traces carry 7 fractional digits, Python wants 6."""
    head, dot, frac = text.strip().partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}" if dot else head)


def load_trace(path: str | Path, limit: int | None = None) -> list[TraceRow]:
    """Read a trace CSV; raises ValueError naming the row and column that is wrong."""
    rows: list[TraceRow] = []
    first: datetime | None = None
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, record in enumerate(reader, start=2):
            if limit is not None and len(rows) >= limit:
                break
            try:
                stamp = parse_timestamp(record["TIMESTAMP"])
                context = int(record["ContextTokens"])
                generated = int(record["GeneratedTokens"])
            except ValueError as exc:
                raise ValueError(f"{path}, line {line}: {exc}") from None
            if context < 1 or generated < 1:
                raise ValueError(f"{path}, line {line}: token counts must be >= 1")
            first = first or stamp
            rows.append(TraceRow((stamp - first).total_seconds(), len(rows), context, generated))
    return rows


def prompt_of(words: int, tag: str | None = None) -> str:
    """A prompt of exactly `words` whitespace-separated words; `tag` (one word, such as
    the row number) makes it unique, as real prompts are, so a cache does not merge rows
    that happen to have the same sizes."""
    body = [WORDS[i % len(WORDS)] for i in range(words)]
    if tag is not None and body:
        body[0] = tag
    return " ".join(body)


async def replay(
    rows: Sequence[TraceRow],
    *,
    model: str,
    base_url: str,
    key: str = "govern-replay",
    rate: float = 1.0,
    concurrency: int = 32,
    stream: bool = False,
    progress: bool = True,
) -> ReplaySummary:
    """Send every row through the gateway and summarise what came back."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=600)
    summary = ReplaySummary()
    gate = asyncio.Semaphore(concurrency)
    bar = _progress(len(rows), progress)
    start = time.perf_counter()

    async def one(row: TraceRow) -> None:
        if rate > 0:
            delay = start + row.offset / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        async with gate:
            sent = time.perf_counter()
            try:
                usage, cost = await _call(client, model, row, stream)
            except openai.APIStatusError as exc:
                summary.errors[f"HTTP {exc.status_code}"] += 1
            except openai.APIError as exc:
                summary.errors[type(exc).__name__] += 1
            else:
                summary.latencies.append(time.perf_counter() - sent)
                summary.input_tokens += usage[0]
                summary.output_tokens += usage[1]
                if cost is not None:
                    summary.cost_usd += cost
                    summary.priced += 1
            finally:
                summary.requests += 1
                bar.update(1)

    try:
        await asyncio.gather(*(one(row) for row in rows))
    finally:
        summary.wall_seconds = time.perf_counter() - start
        bar.close()
        await client.close()
    return summary


async def _call(
    client: object, model: str, row: TraceRow, stream: bool
) -> tuple[tuple[int, int], float | None]:
    """One request; returns (input, output) tokens and the gateway's cost header."""
    import openai

    assert isinstance(client, openai.AsyncOpenAI)
    messages: list[Any] = [
        {"role": "user", "content": prompt_of(row.context_tokens, f"row{row.index}")}
    ]
    if not stream:
        raw = await client.chat.completions.with_raw_response.create(
            model=model,
            messages=messages,
            max_tokens=row.generated_tokens,
        )
        completion = raw.parse()
        usage = completion.usage
        tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        return tokens, _cost(raw.headers.get("x-govern-cost-usd"))
    response = await client.chat.completions.with_raw_response.create(
        model=model,
        messages=messages,
        max_tokens=row.generated_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    tokens = (0, 0)
    async for chunk in response.parse():
        if chunk.usage is not None:
            tokens = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
    return tokens, _cost(response.headers.get("x-govern-cost-usd"))


def _cost(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> _NoBar:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    bar: _NoBar = tqdm(total=total, unit="req", file=sys.stderr, dynamic_ncols=True)
    return bar


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, replay, print the summary; exit 1 if any request failed."""
    parser = argparse.ArgumentParser(
        prog="python -m govern.replay",
        description="Replay an Azure-format LLM trace through a running govern gateway.",
    )
    parser.add_argument("trace", help="CSV with TIMESTAMP,ContextTokens,GeneratedTokens")
    parser.add_argument("--model", required=True, help="model to ask, e.g. sim/gpt-4o-mini")
    parser.add_argument(
        "--rate",
        type=float,
        default=1.0,
        help="time scale: 1 = real time, 10 = ten times faster, 0 = no waits",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    parser.add_argument("--limit", type=int, help="replay only the first N rows")
    parser.add_argument(
        "--base-url", default="http://127.0.0.1:4000/v1", help="the gateway's OpenAI base URL"
    )
    parser.add_argument("--key", default="govern-replay", help="API key sent to the gateway")
    parser.add_argument("--stream", action="store_true", help="send streaming requests")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.rate < 0:
        parser.error("--rate must be >= 0")
    if args.concurrency < 1:
        parser.error("--concurrency must be >= 1")
    try:
        rows = load_trace(args.trace, args.limit)
    except (OSError, ValueError) as exc:
        print(f"govern.replay: {exc}", file=sys.stderr)
        return 2
    summary = asyncio.run(
        replay(
            rows,
            model=args.model,
            base_url=args.base_url,
            key=args.key,
            rate=args.rate,
            concurrency=args.concurrency,
            stream=args.stream,
            progress=not args.no_progress,
        )
    )
    print(summary.render())
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
