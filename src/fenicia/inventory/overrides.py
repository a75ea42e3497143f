"""Explicit SKU overrides and location → warehouse mappings of a source.

An override maps one external code to one product and wins over the normalization rules. Saving one
for a code that is open in the unmapped report resolves that row at once (its last quantity applied).
Any change clears the source's remembered file, so the next read applies the file again under the new
mapping even if the file itself did not change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.catalog.models import Location, Product
from fenicia.core.errors import NotFoundError
from fenicia.inventory.models import LocationMapping, SkuOverride, UnmappedSku
from fenicia.inventory.services import get_source
from fenicia.inventory.unmapped import resolve_by_mapping, source_scope


def list_overrides(session: Session, workspace_id: int, source_id: int) -> list[SkuOverride]:
    get_source(session, workspace_id, source_id)
    query = select(SkuOverride).where(SkuOverride.source_id == source_id).order_by(SkuOverride.external_code)
    return list(session.scalars(query))


def set_override(
    session: Session, workspace_id: int, source_id: int, external_code: str, product_id: int
) -> tuple[SkuOverride, set[int]]:
    """Creates or changes the override of ``external_code``; returns it and connections to push."""
    source = get_source(session, workspace_id, source_id)
    _product(session, workspace_id, product_id)
    code = external_code.strip()
    row = session.scalar(
        select(SkuOverride).where(SkuOverride.source_id == source.id, SkuOverride.external_code == code)
    )
    if row is None:
        row = SkuOverride(workspace_id=workspace_id, source_id=source.id, external_code=code, product_id=product_id)
        session.add(row)
    row.product_id = product_id
    source.last_file = None
    session.flush()
    pushed: set[int] = set()
    open_row = session.scalar(
        select(UnmappedSku.id).where(
            UnmappedSku.workspace_id == workspace_id,
            UnmappedSku.scope == source_scope(source.id),
            UnmappedSku.code == code,
            UnmappedSku.resolved_at.is_(None),
        )
    )
    if open_row is not None:
        pushed = resolve_by_mapping(session, workspace_id, open_row, product_id)
    return row, pushed


def delete_override(session: Session, workspace_id: int, source_id: int, override_id: int) -> None:
    source = get_source(session, workspace_id, source_id)
    row = session.scalar(select(SkuOverride).where(SkuOverride.id == override_id, SkuOverride.source_id == source.id))
    if row is None:
        raise NotFoundError(f"Override {override_id} does not exist on this source.")
    session.delete(row)
    source.last_file = None


def list_location_mappings(session: Session, workspace_id: int, source_id: int) -> list[LocationMapping]:
    get_source(session, workspace_id, source_id)
    query = select(LocationMapping).where(LocationMapping.source_id == source_id)
    return list(session.scalars(query.order_by(LocationMapping.external_location)))


def set_location_mapping(
    session: Session, workspace_id: int, source_id: int, external_location: str, location_id: int
) -> LocationMapping:
    """Maps the source's location key (``""``: its only location) to one of our locations."""
    source = get_source(session, workspace_id, source_id)
    location = session.scalar(select(Location).where(Location.id == location_id, Location.workspace_id == workspace_id))
    if location is None:
        raise NotFoundError(f"Location {location_id} does not exist in this workspace.")
    key = external_location.strip()
    row = session.scalar(
        select(LocationMapping).where(LocationMapping.source_id == source.id, LocationMapping.external_location == key)
    )
    if row is None:
        row = LocationMapping(workspace_id=workspace_id, source_id=source.id, external_location=key, location_id=0)
        session.add(row)
    row.location_id = location.id
    source.last_file = None
    session.flush()
    return row


def delete_location_mapping(session: Session, workspace_id: int, source_id: int, mapping_id: int) -> None:
    source = get_source(session, workspace_id, source_id)
    row = session.scalar(
        select(LocationMapping).where(LocationMapping.id == mapping_id, LocationMapping.source_id == source.id)
    )
    if row is None:
        raise NotFoundError(f"Location mapping {mapping_id} does not exist on this source.")
    session.delete(row)
    source.last_file = None


def _product(session: Session, workspace_id: int, product_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id, Product.workspace_id == workspace_id))
    if product is None:
        raise NotFoundError(f"Product {product_id} does not exist in this workspace.")
    return product
