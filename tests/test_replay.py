"""`python -m govern.replay` on the shared production trace, through a real gateway."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from govern.replay import load_trace, main, parse_timestamp, prompt_of, replay
from govern.sim.engine import count_tokens
from tests.conftest import CONV_TRACE, ServeFactory


def test_prompt_has_exactly_the_requested_words() -> None:
    assert count_tokens(prompt_of(1)) == 1
    assert count_tokens(prompt_of(1234)) == 1234
    assert count_tokens(prompt_of(7, "row42")) == 7
    assert prompt_of(3, "row1") != prompt_of(3, "row2")


def test_timestamps_with_seven_fractional_digits() -> None:
    stamp = parse_timestamp("2023-11-16 18:15:46.6805900")
    assert (stamp.second, stamp.microsecond) == (46, 680590)


def test_bad_trace_names_the_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,12,x\n")
    with pytest.raises(ValueError, match="line 2"):
        load_trace(trace)
    assert main([str(trace), "--model", "sim/m"]) == 2


@pytest.mark.slow
async def test_replay_of_2000_rows_reports_the_trace_token_sums(serve: ServeFactory) -> None:
    server = serve({"providers": {"sim": {"models": ["gpt-4o-mini"]}}})
    rows = load_trace(CONV_TRACE, limit=2000)
    summary = await replay(
        rows, model="sim/gpt-4o-mini", base_url=f"{server.url}/v1", rate=0, progress=False
    )
    expected = pd.read_csv(CONV_TRACE).head(2000)
    assert summary.requests == 2000
    assert not summary.errors
    assert summary.input_tokens == int(expected["ContextTokens"].sum())
    assert summary.output_tokens == int(expected["GeneratedTokens"].sum())


async def test_streaming_replay_counts_the_same(serve: ServeFactory) -> None:
    server = serve({"providers": {"sim": {"models": ["gpt-4o-mini"]}}})
    rows = load_trace(CONV_TRACE, limit=50)
    summary = await replay(
        rows,
        model="sim/gpt-4o-mini",
        base_url=f"{server.url}/v1",
        rate=0,
        stream=True,
        progress=False,
    )
    expected = pd.read_csv(CONV_TRACE).head(50)
    assert not summary.errors
    assert summary.input_tokens == int(expected["ContextTokens"].sum())
    assert summary.output_tokens == int(expected["GeneratedTokens"].sum())


async def test_errors_are_counted_by_status(serve: ServeFactory) -> None:
    server = serve({"providers": {"sim": {"models": ["gpt-4o-mini"]}}})
    rows = load_trace(CONV_TRACE, limit=3)
    summary = await replay(rows, model="nope", base_url=f"{server.url}/v1", rate=0, progress=False)
    assert summary.errors == {"HTTP 404": 3}
