"""The read phase of a source run: map each page and find what changed, writing no stock level.

For every page the connector yields: codes are mapped (overrides, then rules), location keys resolved,
rows landing on the same product and location added up, and the page compared with the stored levels
of those products (one indexed query). Only rows whose numbers differ go to the spool. A product and
location met again on a later page (two codes mapped to one product, a repeated row in a file) is
added up too: the amounts after the first are kept aside (``extras``) and added once the first
occurrence is written.

Which stored levels a read has seen is a bitmap over their ids, so a full read can then find the
missing ones (set to 0 when the source says so) without holding a million keys in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.orm import Session

from fenicia.catalog.models import Product
from fenicia.channels.context import SyncContext
from fenicia.connectors import base
from fenicia.inventory.levels import Change
from fenicia.inventory.lookups import InQuery
from fenicia.inventory.mapping import (
    AMBIGUOUS,
    AVAILABLE,
    LEVEL_ID,
    ON_HAND,
    RESERVED,
    LocationResolver,
    MappingRules,
    ProductMatcher,
    StoredLevel,
    load_locations,
    load_overrides,
    normalizer,
    remember_location,
)
from fenicia.inventory.models import StockLevel
from fenicia.inventory.spool import Spool
from fenicia.inventory.unmapped import UnmappedSeen, open_codes

PREVIEW_ROWS = 100
MAX_WARNINGS = 100
LOOKUP_CHUNK = 5000
ZERO_SCAN_CHUNK = 5000
UNRESOLVED = object()
PageRow = tuple[
    str, int, int | None, int | None
]  # one (product, location) of a page: code, available, on hand, reserved
LEVELS_OF_PRODUCTS = InQuery(
    "SELECT NULL, product_id, id, location_id, available, on_hand, reserved FROM stock_levels "
    "WHERE source_id = :source AND {values}",
    "product_id",
)


@dataclass(frozen=True)
class RunView:
    """What a run knows about its source, read once when it starts."""

    run_id: int
    source_id: int
    workspace_id: int
    name: str
    preview: bool
    trigger: str
    started_at: datetime
    update_mode: str
    missing_means_zero: bool
    guard_percent: int
    last_row_count: int | None
    cursor_value: datetime | None
    last_file: dict[str, Any] | None
    rules: MappingRules
    supports_delta: bool


@dataclass
class Extra:
    available: int = 0
    on_hand: int | None = None
    reserved: int | None = None

    def add(self, available: int, on_hand: int | None, reserved: int | None) -> None:
        self.available += available
        self.on_hand = _plus(self.on_hand, on_hand)
        self.reserved = _plus(self.reserved, reserved)


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


@dataclass
class ReadOutcome:
    spool: Spool
    rows_read: int = 0
    rows_mapped: int = 0
    rows_unmapped: int = 0
    rows_skipped: int = 0
    rows_zeroed: int = 0
    full_snapshot: bool = True
    snapshot_at: datetime | None = None
    file_info: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    more_warnings: int = 0
    preview_rows: list[dict[str, Any]] = field(default_factory=list)
    unmapped: dict[str, UnmappedSeen] = field(default_factory=dict)
    extras: dict[tuple[int, int], Extra] = field(default_factory=dict)
    now_mapped: dict[str, int] = field(default_factory=dict)  # open report rows whose code maps now

    def warn(self, text: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)
        else:
            self.more_warnings += 1

    def all_warnings(self) -> list[str]:
        return self.warnings + ([f"... and {self.more_warnings} more warnings."] if self.more_warnings else [])


class SeenLevels:
    """Ids of stored levels met by this read: one bit each over the source's id range at the start."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.bits = bytearray(((high - low) >> 3) + 1) if high >= low else bytearray()
        self.outside: set[int] = set()  # levels created during the run (a report resolution)
        self.count = 0

    def add(self, level_id: int) -> bool:
        """True the first time ``level_id`` is met."""
        return self.add_many([level_id])[0]

    def add_many(self, level_ids: list[int]) -> list[bool]:
        """``add`` for a page of ids at once (one call per page, not per row)."""
        low, span, bits, outside = self.low, self.high - self.low, self.bits, self.outside
        firsts: list[bool] = []
        first, added = firsts.append, 0
        for level_id in level_ids:
            offset = level_id - low
            if not 0 <= offset <= span:
                first(level_id not in outside)
                outside.add(level_id)
                continue
            index, mask = offset >> 3, 1 << (offset & 7)
            byte = bits[index]
            if byte & mask:
                first(False)
            else:
                bits[index] = byte | mask
                first(True)
                added += 1
        self.count += added
        return firsts

    def __contains__(self, level_id: int) -> bool:
        offset = level_id - self.low
        return 0 <= offset <= self.high - self.low and bool(self.bits[offset >> 3] & (1 << (offset & 7)))


class PageMapper:
    """Maps the pages of one read; ``map_page`` runs in a worker thread, one page at a time."""

    def __init__(self, ctx: SyncContext, view: RunView, outcome: ReadOutcome) -> None:
        self.ctx, self.view, self.outcome = ctx, view, outcome
        self.matcher = ProductMatcher(view.workspace_id, view.rules)
        self.key = normalizer(view.rules)
        self.location_ids: dict[str | None, Any] = {}  # a row's location key → its location id (or None)
        self.new_keys: set[int] = set()
        self.warned_codes: set[str] = set()
        with ctx.db.read_session() as session:
            self.overrides = load_overrides(session, view.source_id)
            mappings, by_code = load_locations(session, view.workspace_id, view.source_id)
            self.open_codes = open_codes(session, view.workspace_id, view.source_id)
            count, low, high = session.execute(
                select(func.count(StockLevel.id), func.min(StockLevel.id), func.max(StockLevel.id)).where(
                    StockLevel.source_id == view.source_id
                )
            ).one()
        self.level_count = int(count or 0)
        self.seen = SeenLevels(int(low or 1), int(high or 0))
        remember = None if view.preview else self._remember
        self.locations = LocationResolver(mappings, by_code, remember, view.rules.create_locations)

    def _remember(self, key: str, location_id: int | None) -> int:
        with self.ctx.db.session() as session:
            return remember_location(session, self.view.workspace_id, self.view.source_id, key, location_id)

    def map_page(self, levels: Sequence[base.StockLevel]) -> None:
        rows = base.level_rows(levels)
        self.outcome.rows_read += len(rows)
        codes = [row[0].strip() for row in rows]
        existing: dict[tuple[int, int], StoredLevel] = {}
        with self.ctx.db.read_session() as session:
            products, uncovered = self._products(session, rows, codes, existing)
            page = self._group(rows, codes, products)
            if uncovered:
                existing.update(self._existing(session, {pid for pid, _ in page if pid in uncovered}))
        self.outcome.spool.add(self._changes(page, existing))

    def _products(
        self,
        session: Session,
        rows: list[base.LevelRow],
        codes: list[str],
        existing: dict[tuple[int, int], StoredLevel],
    ) -> tuple[list[int | None], set[int]]:
        """Overrides first (by the trimmed code), then the rules (``self.key``) and one lookup, which also
        brings the stored levels of the products it finds (into ``existing``). Returns each row's product
        and the products whose stored levels are still to be loaded."""
        key = self.key
        keys = [key(row[0]) for row in rows] if key is not str.strip else codes
        if not self.overrides:
            chosen, covered = self.matcher.match_with_levels(session, keys, self.view.source_id, existing)
            # matched in memory (no levels came with the match): every product's levels are still to load
            uncovered = set() if covered else {pid for pid in chosen if pid is not None}
        else:
            chosen = [self.overrides.get(code) for code in codes]
            todo = [index for index, pid in enumerate(chosen) if pid is None]
            uncovered = {pid for pid in chosen if pid is not None}  # chosen by an override
            found, covered = self.matcher.match_with_levels(
                session, [keys[index] for index in todo], self.view.source_id, existing
            )
            for index, pid in zip(todo, found, strict=True):
                chosen[index] = pid
            if not covered:
                uncovered |= {pid for pid in found if pid is not None}
        if self.view.preview:
            self._preview(rows, keys, chosen)
        return chosen, uncovered - covered

    def _group(
        self, rows: list[base.LevelRow], codes: list[str], products: list[int | None]
    ) -> dict[tuple[int, int], PageRow]:
        """Mapped rows by (product, location), added up; the rest to the report or skipped. Values are tuples:
        the garbage collector stops tracking those at its next pass, while a million lists would slow it."""
        page: dict[tuple[int, int], PageRow] = {}
        out, open_codes, where = self.outcome, self.open_codes, self.location_ids
        mapped = 0
        for level, code, product_id in zip(rows, codes, products, strict=True):
            _, available, location, on_hand, reserved, _, _ = level
            if available < 0:
                out.warn(f"{_where(level)}: {available} read as 0.")
                available = 0
            if product_id is None or product_id == AMBIGUOUS:
                self._unmapped(level, available, product_id)
                continue
            location_id = where.get(location, UNRESOLVED)
            if location_id is UNRESOLVED:
                location_id = where[location] = self.locations.resolve(location)
            if location_id is None:
                out.rows_skipped += 1
                continue
            mapped += 1
            if open_codes and code in open_codes:
                out.now_mapped[code] = product_id
            key, row = (product_id, location_id), (code, available, on_hand, reserved)
            known = page.setdefault(key, row)
            if known is row:  # the first row of this product and location
                continue
            self._warn_summed(code)
            page[key] = (
                known[0],
                known[1] + available,
                _plus(known[2], on_hand),
                _plus(known[3], reserved),
            )
        out.rows_mapped += mapped
        return page

    def _unmapped(self, level: base.LevelRow, available: int, product_id: int | None) -> None:
        code, _, location, _, _, name, _ = level
        code = code.strip()
        self.outcome.rows_unmapped += 1
        self.outcome.unmapped.setdefault(code, UnmappedSeen()).add(location, available, name)
        if product_id == AMBIGUOUS and code not in self.warned_codes:
            self.warned_codes.add(code)
            self.outcome.warn(f"Code '{code}' matches several products; it was left unmapped (add an override).")

    def _warn_summed(self, code: str) -> None:
        if code not in self.warned_codes:
            self.warned_codes.add(code)
            self.outcome.warn(f"Code '{code}' appears in several rows for one location; the quantities were added.")

    def _existing(self, session: Session, product_ids: set[int]) -> dict[tuple[int, int], StoredLevel]:
        """The stored levels of these products: (product, location) → the stored row (``StoredLevel``)."""
        ids = sorted(product_ids)
        found: dict[tuple[int, int], StoredLevel] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            for row in LEVELS_OF_PRODUCTS.run(session, ids[start : start + LOOKUP_CHUNK], source=self.view.source_id):
                found[(row[1], row[3])] = row
        return found

    def _changes(
        self, page: dict[tuple[int, int], PageRow], existing: dict[tuple[int, int], StoredLevel]
    ) -> list[Change]:
        """The page's rows whose numbers differ from the stored ones, and the new ones; rows of a stored level
        already met earlier in the read are put aside to be added up (``extras``)."""
        changes: list[Change] = []
        stored_rows = list(map(existing.get, page))  # in the page's order
        firsts = iter(self.seen.add_many([row[LEVEL_ID] for row in stored_rows if row is not None]))
        for (key, values), stored in zip(page.items(), stored_rows, strict=True):
            if stored is not None:
                if not next(firsts):
                    self._extra(key, *values)
                elif values[1] != stored[AVAILABLE] or values[2] != stored[ON_HAND] or values[3] != stored[RESERVED]:
                    changes.append(Change(stored[LEVEL_ID], key[0], key[1], *values))
                continue
            packed = (key[0] << 32) | (key[1] & 0xFFFFFFFF)  # a preview location yet to be created is negative
            if packed in self.new_keys:
                self._extra(key, *values)
                continue
            self.new_keys.add(packed)
            changes.append(Change(0, key[0], key[1], *values))
        return changes

    def _extra(
        self, key: tuple[int, int], code: str, available: int, on_hand: int | None, reserved: int | None
    ) -> None:
        self._warn_summed(code)
        self.outcome.extras.setdefault(key, Extra()).add(available, on_hand, reserved)

    # -- after the read -----------------------------------------------------------------------------------

    def spool_missing(self) -> None:
        """A full read: every stored level it did not meet goes to 0 (those not at 0 already)."""
        if self.seen.count >= self.level_count:
            return
        after = self.seen.low - 1
        while True:
            with self.ctx.db.read_session() as session:
                rows = session.execute(self._missing_query(after)).all()
            if not rows:
                return
            after = rows[-1][0]
            zeroed = [_zeroed(row) for row in rows if row[0] not in self.seen]
            self.outcome.rows_zeroed += len(zeroed)
            self.outcome.spool.add(zeroed)

    def _missing_query(self, after: int) -> Any:
        level = StockLevel
        return (
            select(
                level.id,
                level.product_id,
                level.location_id,
                level.external_code,
                level.on_hand,
                level.reserved,
            )
            .where(
                # "+source_id": walk the primary key in id order; the (source, product, location) index
                # would make SQLite read the whole source for each chunk
                literal_column("+stock_levels.source_id") == self.view.source_id,
                level.id > after,
                level.id <= self.seen.high,
                or_(level.available != 0, level.on_hand != 0, level.reserved != 0),
            )
            .order_by(level.id)
            .limit(ZERO_SCAN_CHUNK)
        )

    def _preview(self, rows: list[base.LevelRow], keys: list[str], products: list[int | None]) -> None:
        shown = self.outcome.preview_rows
        for row, key, product_id in zip(rows, keys, products, strict=True):
            if len(shown) >= PREVIEW_ROWS:
                return
            shown.append(_preview_row(base.StockLevel(*row), key, product_id, self.locations))

    def finish_preview(self) -> None:
        """Adds each mapped preview row's SKU (one query for the whole preview)."""
        ids = {r["product_id"] for r in self.outcome.preview_rows if r["product_id"]}
        if not ids:
            return
        with self.ctx.db.read_session() as session:
            rows = session.execute(select(Product.id, Product.sku).where(Product.id.in_(ids)))
            skus = {product_id: sku for product_id, sku in rows}
        for row in self.outcome.preview_rows:
            row["sku"] = skus.get(row["product_id"])


def _zeroed(row: Any) -> Change:
    level_id, product_id, location_id, code, on_hand, reserved = row
    return Change(
        level_id,
        product_id,
        location_id,
        code,
        0,
        0 if on_hand is not None else None,
        0 if reserved is not None else None,
    )


def _preview_row(
    level: base.StockLevel, key: str, product_id: int | None, locations: LocationResolver
) -> dict[str, Any]:
    location_id = locations.resolve(level.location) if product_id not in (None, AMBIGUOUS) else None
    if product_id is None or product_id == AMBIGUOUS:
        status = "ambiguous" if product_id == AMBIGUOUS else "unmapped"
    else:
        status = "mapped" if location_id is not None else "unknown_location"
    new_location = location_id is not None and location_id < 0  # a preview: created by the first sync
    return {
        "row": level.row,
        "code": level.code,
        "normalized": key or level.code.strip(),
        "status": status,
        "product_id": product_id if status in ("mapped", "unknown_location") else None,
        "sku": None,
        "location": level.location,
        "location_id": None if new_location else location_id,
        "new_location": new_location,
        "available": level.available,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "name": level.name,
    }


def _where(level: base.LevelRow) -> str:
    code, row = level[0], level[6]
    return f"Row {row} ('{code}')" if row is not None else f"Code '{code}'"
