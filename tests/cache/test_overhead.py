"""An exact hit adds well under a millisecond to the request path."""

from __future__ import annotations

import pytest

from benchmarks.cache_index import bench_exact_hit


@pytest.mark.slow
async def test_an_exact_hit_costs_under_a_millisecond() -> None:
    # The whole lookup: hash a 2-message request, find the entry, decode the stored
    # answer. Measured at ~15 us; 1 ms leaves room for a loaded CI machine.
    hit_us, miss_us = await bench_exact_hit(rounds=300)
    assert hit_us < 1000
    assert miss_us < 1000
