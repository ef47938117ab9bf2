"""Request records for the log tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from govern.logs import RequestRecord

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def record(n: int = 0, **overrides: Any) -> RequestRecord:
    """A priced, successful attempt `n` seconds after T0 (fields overridable)."""
    fields: dict[str, Any] = {
        "request_id": f"req_{n:06d}",
        "ts": T0 + timedelta(seconds=n),
        "latency_ms": 12.5,
        "provider": "openai",
        "model_requested": "gpt-4o-mini",
        "model_served": "gpt-4o-mini",
        "key_name": "default",
        "input_tokens": 1000,
        "output_tokens": 200,
        "cost_input_nanos": 150_000,
        "cost_output_nanos": 120_000,
        "cost_nanos": 270_000,
        "price_source": "catalog",
    }
    fields.update(overrides)
    return RequestRecord(**fields)
