"""Finding and reading Azure-format traces."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from govern import traces
from tests.conftest import CONV_TRACE


def test_find_prefers_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(traces.TRACE_ENV, str(tmp_path / "mine.csv"))
    assert traces.find() == tmp_path / "mine.csv"


def test_find_looks_in_parent_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(traces.TRACE_ENV, raising=False)
    shared = tmp_path / traces.SHARED_TRACES
    shared.mkdir(parents=True)
    (shared / "conv.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n")
    deep = tmp_path / "main" / "notebooks"
    deep.mkdir(parents=True)
    assert traces.find(start=deep) == shared / "conv.csv"
    assert traces.find("code", start=deep) is None


def test_read_the_shared_trace() -> None:
    frame = traces.read(CONV_TRACE, limit=5)
    assert list(frame.columns) == list(traces.COLUMNS)
    assert str(frame["TIMESTAMP"].dt.tz) == "UTC"
    assert frame.loc[0, ["ContextTokens", "GeneratedTokens"]].tolist() == [374, 44]


def test_read_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("TIMESTAMP,ContextTokens\n2024-01-01 00:00:00,3\n")
    with pytest.raises(ValueError, match="missing column\\(s\\) GeneratedTokens"):
        traces.read(path)


def test_synthetic_is_deterministic() -> None:
    a, b = traces.synthetic(100, seed=3), traces.synthetic(100, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert (a["ContextTokens"] >= 16).all() and a["TIMESTAMP"].is_monotonic_increasing


def test_load_falls_back_to_a_synthetic_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(traces.TRACE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert len(traces.load("conv", limit=50)) == 50
