"""What-if analysis in plain Python returning DataFrames.

    trace = govern.traces.load("conv")                   # the shared trace, or a synthetic one
    govern.whatif.reprice(trace, models=["openai/gpt-4o-mini"], baseline="openai/gpt-4o")
    govern.whatif.reprice(govern.logs.requests("govern-data"), prices={"cheaper": {...}})

    govern.whatif.simulate({"teams": [...], "virtual_keys": [...]}, trace, "openai/gpt-4o-mini")

`reprice` answers with exact integer nano-dollars per row and per scenario; `simulate`
replays a trace through a budget hierarchy with the gateway's own ledger and windows.
"""

from govern.whatif.hierarchy import Hierarchy
from govern.whatif.reprice import PriceSpec, Repricing, reprice
from govern.whatif.simulate import Simulation, simulate

__all__ = ["Hierarchy", "PriceSpec", "Repricing", "Simulation", "reprice", "simulate"]
