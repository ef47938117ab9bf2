"""LLM traces in the Azure format (`TIMESTAMP, ContextTokens, GeneratedTokens`) as
pandas DataFrames, for what-if analysis and the notebook panels.

    >>> from govern import traces
    >>> trace = traces.read(traces.find())      # the shared conv trace, or $GOVERN_TRACE
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TRACE_ENV = "GOVERN_TRACE"
"""Environment variable naming a trace CSV; `find()` prefers it."""

SHARED_TRACES = Path("shared") / "data" / "azure-llm-trace-2023"
"""Where the project's shared Azure traces live, relative to a parent of the work tree."""

COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
"""The columns of a trace CSV."""


def find(name: str = "conv", start: str | os.PathLike[str] | None = None) -> Path | None:
    """A trace CSV: `$GOVERN_TRACE`, else `shared/data/azure-llm-trace-2023/<name>.csv`
    in `start` (default: the working directory) or any of its parents; None if absent."""
    if os.environ.get(TRACE_ENV):
        return Path(os.environ[TRACE_ENV])
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / SHARED_TRACES / f"{name}.csv"
        if candidate.is_file():
            return candidate
    return None


def read(path: str | os.PathLike[str], limit: int | None = None) -> pd.DataFrame:
    """A trace CSV as a DataFrame: `TIMESTAMP` (UTC datetimes), `ContextTokens` and
    `GeneratedTokens` (int64); raises ValueError naming a missing column."""
    import pandas as pd

    frame = pd.read_csv(path, nrows=limit)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    frame["TIMESTAMP"] = pd.to_datetime(frame["TIMESTAMP"], utc=True, format="ISO8601")
    for column in ("ContextTokens", "GeneratedTokens"):
        frame[column] = frame[column].astype("int64")
    return frame


def synthetic(rows: int = 2000, seed: int = 7, rate_per_s: float = 3.0) -> pd.DataFrame:
    """A deterministic trace shaped like a chat workload (long-tailed prompts, shorter
    replies, Poisson arrivals), for machines without the shared traces."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    context = np.clip(rng.lognormal(6.8, 0.9, rows), 16, 30_000).astype("int64")
    generated = np.clip(rng.lognormal(5.2, 0.8, rows), 4, 4_000).astype("int64")
    seconds = np.cumsum(rng.exponential(1 / rate_per_s, rows))
    start = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "TIMESTAMP": start + pd.to_timedelta(seconds, unit="s"),
            "ContextTokens": context,
            "GeneratedTokens": generated,
        }
    )


def load(name: str = "conv", *, limit: int | None = None) -> pd.DataFrame:
    """The named shared trace if `find()` finds it, else a `synthetic()` one (same columns)."""
    path = find(name)
    if path is None:
        return synthetic(limit or 2000)
    return read(path, limit)
