"""Stock levels: writing what changed (batched Core statements), reading them back, and freshness.

A ``StockLevel`` row is written only when one of its numbers changed. ``snapshot_at`` is the snapshot
time of the read that last wrote the row, and stays put while later reads confirm the same numbers: the
available-to-sell computation subtracts orders received after it until the source's number moves,
which is the safe side (an order the source has not absorbed yet is never counted back as stock). The
source's own ``snapshot_at`` says when the last applied read was taken, i.e. how fresh all its rows are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fenicia.catalog.models import Location, Product
from fenicia.inventory.models import InventorySource, StockLevel

LEVELS = cast(Table, StockLevel.__table__)
STALE_AFTER_FREQUENCIES = 2  # a source is stale when its last success is older than this many periods
MANUAL_STALE_AFTER_SECONDS = 24 * 3600


class Change(NamedTuple):
    """One row to write: ``level_id`` 0 means a new row."""

    level_id: int
    product_id: int
    location_id: int
    code: str
    available: int
    on_hand: int | None
    reserved: int | None


# Known rows by id, as a Core statement: the ORM's bulk update by primary key costs several times more per row
# for the same UPDATE (the SET columns are the keys of the rows given, as in ``_values``)
UPDATE_BY_ID = update(LEVELS).where(LEVELS.c.id == bindparam("b_id"))


def write_changes(
    session: Session, source: InventorySource, changes: Sequence[Change], snapshot_at: datetime, now: datetime
) -> None:
    """Updates known rows by id and upserts new ones, each in one executemany statement."""
    updates = [_values(c, snapshot_at, now) | {"b_id": c.level_id} for c in changes if c.level_id]
    inserts = [
        _values(c, snapshot_at, now) | {"workspace_id": source.workspace_id, "source_id": source.id}
        for c in changes
        if not c.level_id
    ]
    if updates:
        session.execute(UPDATE_BY_ID, updates)
    if inserts:
        session.execute(_upsert(session), inserts)


def _values(change: Change, snapshot_at: datetime, now: datetime) -> dict[str, Any]:
    return {
        "product_id": change.product_id,
        "location_id": change.location_id,
        "external_code": change.code,
        "available": change.available,
        "on_hand": change.on_hand,
        "reserved": change.reserved,
        "snapshot_at": snapshot_at,
        "changed_at": now,
    }


def _upsert(session: Session) -> Any:
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    stmt = insert(LEVELS)
    keep = ("external_code", "available", "on_hand", "reserved", "snapshot_at", "changed_at")
    return stmt.on_conflict_do_update(
        index_elements=["source_id", "product_id", "location_id"], set_={k: stmt.excluded[k] for k in keep}
    )


def upsert_level(
    session: Session,
    source: InventorySource,
    product_id: int,
    location_id: int,
    code: str,
    available: int,
    snapshot_at: datetime,
    now: datetime,
) -> None:
    """One level, written at once (an unmapped code resolved from the report)."""
    write_changes(session, source, [Change(0, product_id, location_id, code, available, None, None)], snapshot_at, now)


# --- reading -------------------------------------------------------------------------------------------


@dataclass
class LevelRow:
    id: int
    source_id: int
    product_id: int
    sku: str
    location_id: int
    location: str
    external_code: str
    available: int
    on_hand: int | None
    reserved: int | None
    snapshot_at: datetime
    changed_at: datetime


def list_levels(
    session: Session,
    workspace_id: int,
    *,
    source_id: int | None = None,
    product_id: int | None = None,
    sku: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[LevelRow]:
    """Current levels, with the product's SKU and the location's code, in id order."""
    query = (
        select(StockLevel, Product.sku, Location.code)
        .join(Product, Product.id == StockLevel.product_id)
        .join(Location, Location.id == StockLevel.location_id)
        .where(StockLevel.workspace_id == workspace_id)
    )
    if source_id is not None:
        query = query.where(StockLevel.source_id == source_id)
    if product_id is not None:
        query = query.where(StockLevel.product_id == product_id)
    if sku is not None:
        query = query.where(Product.sku == sku)
    rows = session.execute(query.order_by(StockLevel.id).limit(limit).offset(offset))
    return [_row(level, product_sku, location) for level, product_sku, location in rows]


def _row(level: StockLevel, sku: str, location: str) -> LevelRow:
    return LevelRow(
        level.id,
        level.source_id,
        level.product_id,
        sku,
        level.location_id,
        location,
        level.external_code,
        level.available,
        level.on_hand,
        level.reserved,
        level.snapshot_at,
        level.changed_at,
    )


@dataclass
class Freshness:
    last_success_at: datetime | None
    snapshot_at: datetime | None
    age_seconds: float | None  # since the snapshot of the last applied read
    stale: bool


def freshness(source: InventorySource, now: datetime) -> Freshness:
    """How old the source's numbers are; stale past two periods (a day for manual sources)."""
    taken = source.snapshot_at or source.last_success_at
    if taken is None:
        return Freshness(source.last_success_at, None, None, stale=True)
    age = max((now - taken).total_seconds(), 0.0)
    limit = (
        source.frequency_seconds * STALE_AFTER_FREQUENCIES if source.frequency_seconds else MANUAL_STALE_AFTER_SECONDS
    )
    return Freshness(source.last_success_at, source.snapshot_at, age, stale=age > limit)
