"""`EntityStore`: governance entities persisted next to the request log.

Every edit is one write transaction: read the current entities, let the caller decide
the changes, check the result (references resolve, key hashes are unique), delete
limits whose owner is gone, write, and bump the revision that replicas poll.

`seed` applies a config file's declarations: an entity missing from the store is
created, one whose declaration changed since it was last applied is overwritten (its
`created_at`, the anchor of rolling windows, kept), one the file no longer declares is
deleted; entities the management API created or edited are left alone otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import msgspec

from govern.governance.database import Database, Tx
from govern.governance.declared import EPOCH, Declared
from govern.governance.model import Budget, Entities, Entity, RateLimit
from govern.governance.rows import TABLES, table_of

T = TypeVar("T")
Ident = tuple[str, str]
"""(table name, id)."""


class IntegrityProblem(ValueError):
    """An edit would leave an entity referring to one that does not exist."""


@dataclass
class Changes:
    """Entities to write (upserted by id) and to delete."""

    put: list[Entity] = field(default_factory=list)
    delete: list[Entity] = field(default_factory=list)
    fingerprints: dict[Ident, str] = field(default_factory=dict)
    """Seeding only: the config declaration now applied to each row put."""

    def __bool__(self) -> bool:
        return bool(self.put or self.delete)


def ident(entity: Entity) -> Ident:
    """The row an entity is kept in."""
    return (table_of(entity).name, entity.id)


def fingerprint(entity: Entity) -> str:
    """A hash of a declaration's content (its timestamps left out)."""
    bare = msgspec.structs.replace(entity, created_at=EPOCH, updated_at=EPOCH)
    return hashlib.sha256(msgspec.json.encode(bare)).hexdigest()


def apply(before: Entities, changes: Changes, revision: int) -> tuple[Entities, list[Entity]]:
    """The entities after `changes`, and the orphaned limits this also deletes."""
    maps: dict[str, dict[str, Entity]] = {
        "customers": dict(before.customers),
        "teams": dict(before.teams),
        "keys": dict(before.keys),
        "budgets": dict(before.budgets),
        "rate_limits": dict(before.rate_limits),
    }
    names = dict(zip((t.name for t in TABLES), maps, strict=True))
    for entity in changes.delete:
        maps[names[table_of(entity).name]].pop(entity.id, None)
    for entity in changes.put:
        maps[names[table_of(entity).name]][entity.id] = entity
    after = Entities(**maps, revision=revision)  # type: ignore[arg-type]
    limits: list[Budget | RateLimit] = [*after.budgets.values(), *after.rate_limits.values()]
    orphans: list[Entity] = [x for x in limits if not after.exists(x.owner)]
    if orphans:
        for x in orphans:
            maps[names[table_of(x).name]].pop(x.id)
        after = Entities(**maps, revision=revision)  # type: ignore[arg-type]
    problems = integrity_problems(after)
    if problems:
        raise IntegrityProblem("; ".join(problems))
    return after, orphans


def integrity_problems(entities: Entities) -> list[str]:
    """What in `entities` refers to something missing, or repeats a key hash."""
    out = []
    for team in entities.teams.values():
        if team.customer_id is not None and team.customer_id not in entities.customers:
            out.append(f"team {team.id!r} belongs to missing customer {team.customer_id!r}")
    hashes: dict[str, str] = {}
    for key in entities.keys.values():
        if key.team_id is not None and key.team_id not in entities.teams:
            out.append(f"virtual key {key.id!r} belongs to missing team {key.team_id!r}")
        if key.customer_id is not None and key.customer_id not in entities.customers:
            out.append(f"virtual key {key.id!r} belongs to missing customer {key.customer_id!r}")
        other = hashes.setdefault(key.key_hash, key.id)
        if other != key.id:
            out.append(f"virtual keys {other!r} and {key.id!r} have the same value")
    return out


def _all(entities: Entities) -> Iterable[Entity]:
    yield from entities.customers.values()
    yield from entities.teams.values()
    yield from entities.keys.values()
    yield from entities.budgets.values()
    yield from entities.rate_limits.values()


class EntityStore:
    """Governance entities in a `Database`. Methods block: async callers use a thread."""

    def __init__(self, db: Database):
        self.db = db

    def _read(self, tx: Tx) -> tuple[Entities, dict[Ident, str | None]]:
        dialect = self.db.dialect
        maps: list[dict[str, Entity]] = []
        prints: dict[Ident, str | None] = {}
        for table in TABLES:
            rows = {}
            for row in tx.run(table.select()):
                entity = table.from_row(row[:-1], dialect)
                rows[entity.id] = entity
                prints[(table.name, entity.id)] = row[-1]
            maps.append(rows)
        revision = int(tx.run("SELECT revision FROM governance_revision WHERE id = 1")[0][0])
        customers, teams, keys, budgets, rate_limits = maps
        entities = Entities(
            customers,  # type: ignore[arg-type]
            teams,  # type: ignore[arg-type]
            keys,  # type: ignore[arg-type]
            budgets,  # type: ignore[arg-type]
            rate_limits,  # type: ignore[arg-type]
            revision=revision,
        )
        return entities, prints

    def load(self) -> Entities:
        """Every entity, from one consistent snapshot."""
        with self.db.transaction(write=False) as tx:
            return self._read(tx)[0]

    def revision(self) -> int:
        """The store's revision: it grows with every edit (from any process)."""
        with self.db.transaction(write=False) as tx:
            return int(tx.run("SELECT revision FROM governance_revision WHERE id = 1")[0][0])

    def edit(self, decide: Callable[[Entities], tuple[Changes, T]]) -> tuple[Entities, T]:
        """Apply the changes `decide` makes of the current entities, atomically; the
        entities after, and what `decide` returned. `decide` may raise to abort."""
        with self.db.transaction(write=True) as tx:
            before, _ = self._read(tx)
            changes, result = decide(before)
            return self._write(tx, before, changes), result

    def seed(self, declared: Declared, now: datetime) -> Entities:
        """Apply a config file's declarations (see the module docstring)."""
        with self.db.transaction(write=True) as tx:
            before, prints = self._read(tx)
            changes = Changes()
            index = {ident(e): e for e in _all(before)}
            wanted: set[Ident] = set()
            for entity in declared.all():
                row = ident(entity)
                wanted.add(row)
                current = index.get(row)
                digest = fingerprint(entity)
                if current is not None and prints.get(row) == digest:
                    continue
                if current is not None:
                    entity = msgspec.structs.replace(
                        entity, created_at=current.created_at, updated_at=now
                    )
                changes.put.append(entity)
                changes.fingerprints[row] = digest
            changes.delete = [
                e for e in _all(before) if e.source == "config" and ident(e) not in wanted
            ]
            return self._write(tx, before, changes)

    def _write(self, tx: Tx, before: Entities, changes: Changes) -> Entities:
        if not changes:
            return before
        revision = before.revision + 1
        after, orphans = apply(before, changes, revision)
        dialect = self.db.dialect
        for entity in [*changes.delete, *orphans]:
            tx.run(table_of(entity).delete(), (entity.id,))
        for entity in changes.put:
            table = table_of(entity)
            digest = changes.fingerprints.get(ident(entity))
            tx.run(table.upsert(), (*table.to_row(entity, dialect), digest))
        tx.run("UPDATE governance_revision SET revision = ? WHERE id = 1", (revision,))
        return after

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()
