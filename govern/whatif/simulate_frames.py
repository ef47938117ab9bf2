"""The DataFrames of a `simulate` run: requests, the per-cap timeline, a summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from govern.catalog.cost import from_nanos
from govern.governance.caps import Cap

if TYPE_CHECKING:
    from govern.whatif.simulate import Simulation

ROW_FIELDS = (
    "row",
    "ts",
    "model",
    "input_tokens",
    "output_tokens",
    "provider_config",
    "status",
    "rejected_tier",
    "rejected_entity",
    "rejected_by",
    "cost_nanos",
    "message",
)
"""The order of the tuples `_Replay` records per request."""

REQUEST_COLUMNS = (
    "row",
    "ts",
    "model",
    "provider_config",
    "status",
    "admitted",
    "rejected_tier",
    "rejected_entity",
    "rejected_by",
    "input_tokens",
    "output_tokens",
    "cost_nanos",
    "cost_usd",
    "message",
)
TIMELINE_FIELDS = ("row", "ts", "cap", "amount", "used", "limit", "window_start")


def simulation_frames(
    rows: Sequence[tuple[Any, ...]],
    timeline: Sequence[tuple[Any, ...]],
    caps: Mapping[str, Cap],
    index: Sequence[Any],
    names: Sequence[str],
) -> Simulation:
    """The three frames of a run from what the replay recorded."""
    import pandas as pd

    from govern.whatif.simulate import Simulation

    requests = pd.DataFrame.from_records(rows, columns=list(ROW_FIELDS))
    requests["row"] = [index[i] for i in requests["row"]]
    requests["ts"] = pd.to_datetime(requests["ts"], unit="s", utc=True)
    requests["model"] = [names[i] for i in requests["model"]]
    requests["admitted"] = requests["status"] == 200
    requests["cost_usd"] = requests["cost_nanos"] / 1e9  # display only
    text = ("provider_config", "rejected_tier", "rejected_entity", "rejected_by", "message")
    for column in text:
        requests[column] = requests[column].astype("string")
    requests = requests[list(REQUEST_COLUMNS)]

    steps = pd.DataFrame.from_records(timeline, columns=list(TIMELINE_FIELDS))
    steps["row"] = [index[i] for i in steps["row"]]
    for column in ("ts", "window_start"):
        steps[column] = pd.to_datetime(steps[column], unit="s", utc=True)
    meta = {cap_id: (c.tier, c.entity_id, c.kind) for cap_id, c in caps.items()}
    steps.insert(2, "tier", [meta[c][0] for c in steps["cap"]])
    steps.insert(3, "entity", [meta[c][1] for c in steps["cap"]])
    steps.insert(5, "kind", [meta[c][2] for c in steps["cap"]])
    # Display only: the integer counters stay exact.
    steps["used_share"] = steps["used"] / steps["limit"].where(steps["limit"] > 0)
    return Simulation(requests=requests, timeline=steps, summary=_summary(requests, steps, caps))


def _summary(requests: Any, steps: Any, caps: Mapping[str, Cap]) -> Any:
    import pandas as pd

    admitted = steps.groupby("cap").size()
    charged = steps.groupby("cap")["amount"].sum()
    rejected = requests[~requests["admitted"]]
    out = []
    for cap_id, cap in caps.items():
        mine = rejected[rejected["rejected_by"] == cap_id]
        out.append(
            {
                "tier": cap.tier,
                "entity": cap.entity_id,
                "cap": cap_id,
                "kind": cap.kind,
                "period": cap.period,
                "limit": _amount(cap, cap.amount),
                "admitted": int(admitted.get(cap_id, 0)),
                "charged": _amount(cap, int(charged.get(cap_id, 0))),
                "rejected": len(mine),
                "first_rejected": mine["ts"].min() if len(mine) else pd.NaT,
            }
        )
    frame = pd.DataFrame(out)
    if not frame.empty:
        frame["first_rejected"] = pd.to_datetime(frame["first_rejected"], utc=True)
    return frame


def _amount(cap: Cap, value: int) -> Any:
    """Exact dollars for a budget, else the count."""
    return from_nanos(value) if cap.kind == "usd" else value
