"""Request ids: `req_` + 24 hex digits, time first so they sort (and index) by time."""

from __future__ import annotations

import re
import time

from govern.replies import new_request_id


def test_an_id_is_req_and_24_hex_digits_starting_with_the_time_in_ms() -> None:
    before = time.time_ns() // 1_000_000
    request_id = new_request_id()
    after = time.time_ns() // 1_000_000
    assert re.fullmatch(r"req_[0-9a-f]{24}", request_id)
    assert before <= int(request_id[4:16], 16) <= after


def test_ids_made_later_sort_later_and_never_repeat() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    times = [i[4:16] for i in ids]
    assert times == sorted(times)
