"""The unmapped SKUs report: every external code that matched no product, and its two resolutions.

One row per code and place it came from (``scope``: "source:{id}" for a source's rows, "channel:{id}"
for order lines of a channel connection), with first/last seen, how many reads or order lines carried it
(``occurrences``) and, for sources, the quantity of the last read (per location key in ``quantities``).

Resolving a row either maps the code to an existing product or creates the product from it. For a
source code, the mapping is an explicit override (it wins over the rules from then on) and the last
quantity is applied at once, so the merchant does not wait for the next sync; for an order-line code, the
connection's listings with that SKU are linked to the product. Either way the product's available-to-
sell is recomputed in the same transaction; the returned connection ids need a stock push after commit.
A code seen unmapped again after being resolved (its override was deleted) is open again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fenicia.catalog.models import Product
from fenicia.catalog.schemas import ProductCreate
from fenicia.catalog.services import create_product
from fenicia.channels.models import Listing
from fenicia.core.clock import utcnow
from fenicia.core.errors import ConflictError, NotFoundError, ValidationFailed
from fenicia.inventory import ats
from fenicia.inventory.levels import upsert_level
from fenicia.inventory.mapping import LocationResolver, MappingRules, load_locations, normalize, remember_location
from fenicia.inventory.models import InventorySource, SkuOverride, UnmappedSku

CHUNK = 1000
NAME_MAX = 500


def source_scope(source_id: int) -> str:
    return f"source:{source_id}"


def channel_scope(connection_id: int) -> str:
    return f"channel:{connection_id}"


@dataclass
class UnmappedSeen:
    """What one read said about one unmapped code: quantity per location key ("" = none), and a name."""

    quantities: dict[str, int] = field(default_factory=dict)
    name: str | None = None

    def add(self, location: str | None, quantity: int, name: str | None) -> None:
        key = (location or "").strip()
        self.quantities[key] = self.quantities.get(key, 0) + quantity
        self.name = self.name or name


def record_source_unmapped(
    session: Session, workspace_id: int, source_id: int, seen: Mapping[str, UnmappedSeen], now: datetime
) -> None:
    """Adds one occurrence per code to the report (one read = one occurrence), with the read's quantities."""
    codes = sorted(seen)
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        rows = _rows(session, workspace_id, source_scope(source_id), chunk)
        for code in chunk:
            info = seen[code]
            row = rows.get(code)
            if row is None:
                row = _new_row(session, workspace_id, source_scope(source_id), code, now)
            else:
                row.occurrences += 1
            row.source_id = source_id
            row.last_seen_at, row.resolved_at, row.resolved_product_id = now, None, None
            row.quantities = dict(info.quantities)
            row.last_quantity = sum(info.quantities.values())
            keys = [k for k in info.quantities if k]
            row.location = keys[0] if len(keys) == 1 else None
            name = info.name or row.name
            row.name = name[:NAME_MAX] if name else None


def record_unmapped_order_skus(session: Session, workspace_id: int, connection_id: int, skus: Iterable[str]) -> None:
    """Order lines whose SKU is unknown: one occurrence per line, in the same report as sources' codes."""
    counts: dict[str, int] = {}
    for sku in skus:
        code = (sku or "").strip()
        if code:
            counts[code] = counts.get(code, 0) + 1
    if not counts:
        return
    now = utcnow()
    scope = channel_scope(connection_id)
    rows = _rows(session, workspace_id, scope, sorted(counts))
    for code, count in counts.items():
        row = rows.get(code)
        if row is None:
            row = _new_row(session, workspace_id, scope, code, now)
            row.occurrences = count
        else:
            row.occurrences += count
            row.last_seen_at, row.resolved_at, row.resolved_product_id = now, None, None
        row.connection_id = connection_id


def _rows(session: Session, workspace_id: int, scope: str, codes: list[str]) -> dict[str, UnmappedSku]:
    query = select(UnmappedSku).where(
        UnmappedSku.workspace_id == workspace_id, UnmappedSku.scope == scope, UnmappedSku.code.in_(codes)
    )
    return {row.code: row for row in session.scalars(query)}


def _new_row(session: Session, workspace_id: int, scope: str, code: str, now: datetime) -> UnmappedSku:
    row = UnmappedSku(
        workspace_id=workspace_id, scope=scope, code=code, first_seen_at=now, last_seen_at=now, occurrences=1
    )
    session.add(row)
    return row


def mark_mapped(session: Session, workspace_id: int, source_id: int, mapped: Mapping[str, int]) -> None:
    """Open rows of codes a read has now mapped (a product was created since): resolved by the rules."""
    codes = sorted(mapped)
    now = utcnow()
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        query = select(UnmappedSku).where(
            UnmappedSku.workspace_id == workspace_id,
            UnmappedSku.scope == source_scope(source_id),
            UnmappedSku.code.in_(chunk),
            UnmappedSku.resolved_at.is_(None),
        )
        for row in session.scalars(query):
            row.resolved_at, row.resolved_product_id = now, mapped[row.code]


def open_codes(session: Session, workspace_id: int, source_id: int) -> set[str]:
    query = select(UnmappedSku.code).where(
        UnmappedSku.workspace_id == workspace_id,
        UnmappedSku.scope == source_scope(source_id),
        UnmappedSku.resolved_at.is_(None),
    )
    return set(session.scalars(query))


# --- the report and its resolutions ---------------------------------------------------------------------


def list_unmapped(
    session: Session,
    workspace_id: int,
    *,
    scope: str | None = None,
    include_resolved: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[UnmappedSku]:
    query = select(UnmappedSku).where(UnmappedSku.workspace_id == workspace_id)
    if scope is not None:
        query = query.where(UnmappedSku.scope == scope)
    if not include_resolved:
        query = query.where(UnmappedSku.resolved_at.is_(None))
    query = query.order_by(UnmappedSku.last_seen_at.desc(), UnmappedSku.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def get_unmapped(session: Session, workspace_id: int, unmapped_id: int) -> UnmappedSku:
    row = session.scalar(
        select(UnmappedSku).where(UnmappedSku.id == unmapped_id, UnmappedSku.workspace_id == workspace_id)
    )
    if row is None:
        raise NotFoundError(f"Unmapped SKU {unmapped_id} does not exist in this workspace.")
    return row


def resolve_by_mapping(session: Session, workspace_id: int, unmapped_id: int, product_id: int) -> set[int]:
    """Maps the code to an existing product; returns the connections that got new stock pushes."""
    row = get_unmapped(session, workspace_id, unmapped_id)
    product = _product(session, workspace_id, product_id)
    if row.source_id is not None:
        _set_override(session, workspace_id, row.source_id, row.code, product.id)
    return _settle(session, row, product)


def resolve_by_new_product(
    session: Session, workspace_id: int, unmapped_id: int, *, sku: str | None = None, name: str | None = None
) -> tuple[Product, set[int]]:
    """Creates the product from the code (SKU by the source's rules unless given) and applies it."""
    row = get_unmapped(session, workspace_id, unmapped_id)
    source = session.get(InventorySource, row.source_id) if row.source_id is not None else None
    rules = MappingRules.model_validate(source.mapping or {}) if source is not None else MappingRules()
    key = normalize(row.code, rules)
    product_sku = (sku or (row.code.strip() if rules.match_on == "barcode" else key)).strip()
    if not product_sku:
        raise ValidationFailed("A product needs a SKU.")
    if session.scalar(select(Product.id).where(Product.workspace_id == workspace_id, Product.sku == product_sku)):
        raise ConflictError(
            f"A product with SKU '{product_sku}' already exists.", resolution="Map the code to that product instead."
        )
    data = ProductCreate(
        sku=product_sku,
        name=(name or row.name or row.code)[:NAME_MAX],
        barcode=key if rules.match_on == "barcode" else None,
    )
    product, queued = create_product(session, workspace_id, data)  # also links listings with that SKU
    if source is not None and key != _matched_key(product, rules):
        _set_override(session, workspace_id, source.id, row.code, product.id)
    return product, queued | _settle(session, row, product)


def _matched_key(product: Product, rules: MappingRules) -> str:
    key = (product.barcode or "") if rules.match_on == "barcode" else product.sku
    return normalize(key, MappingRules(trim=rules.trim, case=rules.case))


def _settle(session: Session, row: UnmappedSku, product: Product) -> set[int]:
    now = utcnow()
    row.resolved_at, row.resolved_product_id = now, product.id
    if row.source_id is not None:
        _apply_last_quantities(session, row, product.id, now)
    elif row.connection_id is not None:
        session.execute(
            update(Listing)
            .where(Listing.connection_id == row.connection_id, Listing.sku == row.code, Listing.product_id.is_(None))
            .values(product_id=product.id)
        )
    return ats.recompute(session, row.workspace_id, {product.id}, reason=f"unmapped SKU '{row.code}' resolved")


def _apply_last_quantities(session: Session, row: UnmappedSku, product_id: int, now: datetime) -> None:
    source = session.get(InventorySource, row.source_id)
    assert source is not None
    rules = MappingRules.model_validate(source.mapping or {})
    mappings, by_code = load_locations(session, row.workspace_id, source.id)
    remember = partial(remember_location, session, row.workspace_id, source.id)
    resolver = LocationResolver(mappings, by_code, remember, rules.create_locations)
    quantities = row.quantities or ({row.location or "": row.last_quantity} if row.last_quantity is not None else {})
    snapshot = source.snapshot_at or row.last_seen_at
    for key, quantity in quantities.items():
        location_id = resolver.resolve(key)
        if location_id is not None:
            upsert_level(session, source, product_id, location_id, row.code, max(quantity, 0), snapshot, now)


def _product(session: Session, workspace_id: int, product_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id, Product.workspace_id == workspace_id))
    if product is None:
        raise NotFoundError(f"Product {product_id} does not exist in this workspace.")
    return product


def _set_override(session: Session, workspace_id: int, source_id: int, code: str, product_id: int) -> None:
    existing = session.scalar(
        select(SkuOverride).where(SkuOverride.source_id == source_id, SkuOverride.external_code == code.strip())
    )
    if existing is None:
        session.add(
            SkuOverride(
                workspace_id=workspace_id, source_id=source_id, external_code=code.strip(), product_id=product_id
            )
        )
    else:
        existing.product_id = product_id
