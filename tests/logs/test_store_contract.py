"""The contract every LogStore meets: run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from govern.errors import ConfigError
from govern.logs import MIGRATIONS, LoggedRequest, LogStore, Migration, RequestRecord, log_page
from govern.logs.record import COLUMNS
from tests.logs.conftest import StoreFactory
from tests.logs.records import T0, record

EVERY_FIELD = RequestRecord(
    request_id="req_every",
    attempt=3,
    ts=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
    latency_ms=812.25,
    ttft_ms=95.5,
    customer_id="cust-1",
    team_id="team-a",
    virtual_key_id="vk_1",
    provider="anthropic",
    model_requested="claude-sonnet-4-5",
    model_served="claude-sonnet-4-5-20250929",
    key_name="primary",
    fallback_index=1,
    stream=True,
    status=200,
    error_type=None,
    input_tokens=120_000,
    cache_read_tokens=100_000,
    cache_write_5m_tokens=5_000,
    cache_write_1h_tokens=10_000,
    output_tokens=4_000,
    reasoning_tokens=1_500,
    cost_input_nanos=15_000_000,
    cost_cache_read_nanos=30_000_000,
    cost_cache_write_5m_nanos=18_750_000,
    cost_cache_write_1h_nanos=60_000_000,
    cost_output_nanos=37_500_000,
    cost_reasoning_nanos=22_500_000,
    cost_nanos=2**62 + 1,  # beyond float precision: must come back exact
    unpriced=False,
    price_source="override:provider",
    cache="semantic",
    saved_nanos=183_750_000,
    prompt="Bonjour, ça va ? 🙂",
    completion="Très bien.\nMerci !",
)


def fields(r: RequestRecord) -> dict[str, object]:
    out = msgspec.structs.asdict(r)
    out.pop("id", None)
    return out


async def only_row(store: LogStore) -> LoggedRequest:
    page = await log_page(store, limit=10)
    assert len(page.items) == 1
    return page.items[0]


async def test_every_field_round_trips_exactly(store: LogStore) -> None:
    store.insert([EVERY_FIELD])
    row = await only_row(store)
    expected = fields(EVERY_FIELD)
    expected["ts"] = EVERY_FIELD.ts.astimezone(T0.tzinfo)  # read back in UTC
    assert fields(row) == expected
    assert row.ts.utcoffset() == timedelta(0)


async def test_nullable_fields_round_trip_as_null(store: LogStore) -> None:
    rejected = RequestRecord(
        request_id="req_rejected",
        attempt=0,
        ts=T0,
        latency_ms=0.4,
        status=402,
        error_type="budget_exceeded",
        model_requested="gpt-4o",
    )
    store.insert([rejected])
    assert fields(await only_row(store)) == fields(rejected)


async def test_naive_time_is_taken_as_utc(store: LogStore) -> None:
    store.insert([record(ts=T0.replace(tzinfo=None))])
    assert (await only_row(store)).ts == T0


def test_ids_increase_in_insertion_order(store: LogStore) -> None:
    store.insert([record(2), record(1)])
    store.insert([record(0)])
    _, rows = store.fetch("SELECT id, request_id FROM requests ORDER BY id")
    assert [r[1] for r in rows] == ["req_000002", "req_000001", "req_000000"]


async def test_a_nul_in_text_is_stored_as_the_replacement_character(store: LogStore) -> None:
    # PostgreSQL text cannot hold NUL; both stores keep the same text.
    store.insert([record(model_requested="gpt\x00-4o", prompt="a\x00b")])
    row = await only_row(store)
    assert (row.model_requested, row.prompt) == ("gpt\ufffd-4o", "a\ufffdb")


def test_a_large_batch_keeps_every_row_in_order(store: LogStore) -> None:
    # 341 = 256 + 64 + 16 + 4 + 1: SQLite inserts it in one statement of each size.
    store.insert([record(n, input_tokens=n) for n in range(341)])
    _, rows = store.fetch("SELECT request_id, input_tokens FROM requests ORDER BY id")
    assert [(r[0], int(r[1])) for r in rows] == [(f"req_{n:06d}", n) for n in range(341)]


def test_a_batch_is_one_transaction(store: LogStore) -> None:
    bad = record(1, request_id=None)  # violates NOT NULL
    with pytest.raises(Exception):  # noqa: B017 - each driver raises its own IntegrityError
        store.insert([record(0), bad, record(2)])
    with pytest.raises(Exception):  # noqa: B017 - a bad row in a later statement
        store.insert([*(record(n) for n in range(300)), bad])
    _, rows = store.fetch("SELECT COUNT(*) FROM requests")
    assert rows[0][0] == 0


def test_the_table_has_a_column_per_record_field(store: LogStore) -> None:
    names, _ = store.fetch("SELECT * FROM requests WHERE 1 = 0")
    assert names == ["id", *RequestRecord.__struct_fields__]


def test_a_new_store_is_at_the_latest_schema_version(store: LogStore) -> None:
    assert store.schema_version() == MIGRATIONS[-1].version


def test_reopening_keeps_rows_and_version(store_factory: StoreFactory) -> None:
    store_factory().insert([record(0)])
    again = store_factory()
    assert again.schema_version() == MIGRATIONS[-1].version
    _, rows = again.fetch("SELECT request_id FROM requests")
    assert rows == [("req_000000",)]


def _indexes(store: LogStore) -> set[str]:
    if store.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'requests'"
    return {r[0] for r in store.fetch(sql)[1]}


def test_an_old_version_store_is_migrated_at_open(store_factory: StoreFactory) -> None:
    old = store_factory(migrations=MIGRATIONS[:1])
    assert old.schema_version() == 1
    assert "requests_ts" not in _indexes(old)
    old.close()
    _insert_v1(store_factory, record(0))

    store = store_factory()
    assert store.schema_version() == MIGRATIONS[-1].version
    assert {"requests_ts", "requests_request_id", "requests_customer_ts"} <= _indexes(store)
    _, rows = store.fetch("SELECT request_id, cost_nanos FROM requests")
    assert rows == [("req_000000", 270_000)]


def test_a_later_migration_is_applied_to_existing_rows(store_factory: StoreFactory) -> None:
    store_factory().insert([record(0)])
    step = Migration(
        MIGRATIONS[-1].version + 1,
        "a region column",
        ("ALTER TABLE requests ADD COLUMN region TEXT NOT NULL DEFAULT 'eu'",),
    )
    store = store_factory(migrations=(*MIGRATIONS, step))
    assert store.schema_version() == step.version
    _, rows = store.fetch("SELECT request_id, region FROM requests")
    assert rows == [("req_000000", "eu")]
    _, versions = store.fetch("SELECT version, description FROM schema_version ORDER BY version")
    assert versions[-1] == (step.version, "a region column")


def test_a_store_newer_than_the_code_is_refused(store_factory: StoreFactory) -> None:
    future = Migration(99, "from the future", ("CREATE TABLE future (x INTEGER)",))
    store_factory(migrations=(*MIGRATIONS, future)).close()
    with pytest.raises(ConfigError, match="schema version 99, newer than this govern"):
        store_factory()


def test_a_failed_migration_changes_nothing(store_factory: StoreFactory) -> None:
    broken = Migration(
        MIGRATIONS[-1].version + 1,
        "broken",
        ("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL"),
    )
    with pytest.raises(Exception):  # noqa: B017 - each driver raises its own syntax error
        store_factory(migrations=(*MIGRATIONS[:1], broken))
    store = store_factory(migrations=())
    assert store.schema_version() == 0
    for table in ("requests", "half_done"):
        with pytest.raises(Exception):  # noqa: B017 - the table was rolled back
            store.fetch(f"SELECT * FROM {table}")


def _insert_v1(factory: StoreFactory, row: RequestRecord) -> None:
    """Write a row as code of schema version 1 would (without later columns)."""
    columns = [c for c in COLUMNS if c != "provider_config"]
    values = [getattr(row, c) for c in columns]
    if factory.kind == "sqlite":
        import sqlite3

        values = [v.isoformat() if hasattr(v, "isoformat") else v for v in values]
        with sqlite3.connect(factory.location) as db:
            marks = ", ".join("?" for _ in columns)
            db.execute(f"INSERT INTO requests ({', '.join(columns)}) VALUES ({marks})", values)
        return
    import psycopg

    with psycopg.connect(factory.location) as db:
        marks = ", ".join("%s" for _ in columns)
        db.execute(f"INSERT INTO requests ({', '.join(columns)}) VALUES ({marks})", values)
