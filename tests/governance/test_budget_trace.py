"""The Done-when trace check: a $0.50 budget admits exactly what a greedy check admits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import govern.logs
from govern.config import config_from_dict
from govern.gateway import Gateway
from govern.governance.gate import BudgetExceeded
from govern.replay import load_trace, prompt_of
from govern.replies import RequestContext
from govern.wire.openai import ChatCompletionRequest, UserMessage
from tests.conftest import CONV_TRACE

pytestmark = pytest.mark.slow

KEY = "gk-trace-key"
BUDGET_NANOS = 500_000_000  # $0.50


async def test_replayed_trace_admits_exactly_the_greedy_rows(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "providers": {"sim": {"models": ["gpt-4o-mini"]}},
            "pricing": {
                "overrides": [{"model": "sim/gpt-4o-mini", "pricing_as": "openai/gpt-4o-mini"}]
            },
            "governance": {
                "virtual_keys": [
                    {
                        "id": "trace",
                        "value": KEY,
                        "budgets": [{"max_usd": "0.50", "reset": "never"}],
                    }
                ]
            },
        }
    )
    rows = load_trace(CONV_TRACE)
    admitted: list[bool] = []
    async with Gateway(config, data_dir=tmp_path) as gateway:
        for row in rows:
            request = ChatCompletionRequest(
                model="sim/gpt-4o-mini",
                messages=[UserMessage(content=prompt_of(row.context_tokens))],
                max_tokens=row.generated_tokens,
            )
            try:
                await gateway.chat(request, ctx=RequestContext(api_key=KEY))
            except BudgetExceeded as exc:
                assert exc.status == 402
                admitted.append(False)
            else:
                admitted.append(True)

    trace = pd.read_csv(CONV_TRACE)
    # openai/gpt-4o-mini: $0.15 and $0.60 per million tokens = 150 and 600 nano-dollars
    trace["cost"] = trace["ContextTokens"] * 150 + trace["GeneratedTokens"] * 600
    spent, greedy = 0, []
    for cost in trace["cost"]:
        fits = spent + cost <= BUDGET_NANOS
        greedy.append(fits)
        spent += cost if fits else 0
    assert admitted == greedy
    assert 0 < sum(admitted) < len(admitted)

    logged = govern.logs.spend(tmp_path)
    assert int(logged["cost_nanos"].iloc[0]) == spent == int(trace["cost"][greedy].sum())
    assert spent <= BUDGET_NANOS
