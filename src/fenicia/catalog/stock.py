"""The stock controls of the products page: rules per connection and per listing, listings with their
available-to-sell, the push log, and "recompute now".

Every change here recomputes the affected listings in the same transaction and returns the connections
whose pushes the caller kicks after commit.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fenicia.catalog.models import Product
from fenicia.catalog.schemas import StockRulePublic, StockRuleSet
from fenicia.catalog.services import check_locations
from fenicia.channels.models import Listing
from fenicia.channels.services import get_connection
from fenicia.core.errors import NotFoundError
from fenicia.inventory import ats
from fenicia.inventory.models import StockPush, StockRule
from fenicia.inventory.rules import DEFAULT_RULE, connection_scope, listing_scope

PUSH_STATUSES = ("pending", "sending", "sent", "superseded", "skipped", "error")


def get_listing(session: Session, workspace_id: int, listing_id: int) -> Listing:
    listing = session.scalar(select(Listing).where(Listing.id == listing_id, Listing.workspace_id == workspace_id))
    if listing is None:
        raise NotFoundError(f"Listing {listing_id} does not exist in this workspace.")
    return listing


def list_listings(
    session: Session,
    workspace_id: int,
    connection_id: int | None = None,
    product_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Listing], int]:
    query = select(Listing).where(Listing.workspace_id == workspace_id)
    if connection_id is not None:
        query = query.where(Listing.connection_id == connection_id)
    if product_id is not None:
        query = query.where(Listing.product_id == product_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(Listing.id).limit(limit).offset(offset))), total


# --- rules -----------------------------------------------------------------------------------------------


def _rule_public(row: StockRule | None, scope: str, connection_id: int, listing_id: int | None) -> StockRulePublic:
    if row is not None:
        return StockRulePublic.model_validate(row)
    default = DEFAULT_RULE
    return StockRulePublic(
        id=None,
        scope="default",
        connection_id=connection_id,
        listing_id=listing_id,
        buffer_fixed=default.buffer_fixed,
        buffer_percent=default.buffer_percent,
        floor=default.floor,
        max_quantity=default.max_quantity,
        location_ids=None,
    )


def _stored(session: Session, workspace_id: int, scope: str) -> StockRule | None:
    return session.scalar(select(StockRule).where(StockRule.workspace_id == workspace_id, StockRule.scope == scope))


def connection_rule(session: Session, workspace_id: int, connection_id: int) -> StockRulePublic:
    """The connection's rule, or the default one (nothing held back, every location) when none is stored."""
    get_connection(session, workspace_id, connection_id)
    scope = connection_scope(connection_id)
    return _rule_public(_stored(session, workspace_id, scope), scope, connection_id, None)


def listing_rule(session: Session, workspace_id: int, listing_id: int) -> StockRulePublic:
    """The rule that applies to the listing: its own, else its connection's, else the default."""
    listing = get_listing(session, workspace_id, listing_id)
    own = _stored(session, workspace_id, listing_scope(listing.id))
    if own is not None:
        return StockRulePublic.model_validate(own)
    return connection_rule(session, workspace_id, listing.connection_id)


def _save(
    session: Session, workspace_id: int, scope: str, connection_id: int, listing_id: int | None, data: StockRuleSet
) -> StockRule:
    if data.location_ids is not None:
        check_locations(session, workspace_id, data.location_ids)
    row = _stored(session, workspace_id, scope)
    if row is None:
        row = StockRule(workspace_id=workspace_id, scope=scope, connection_id=connection_id, listing_id=listing_id)
        session.add(row)
    row.buffer_fixed, row.buffer_percent = data.buffer_fixed, data.buffer_percent
    row.floor, row.max_quantity = data.floor, data.max_quantity
    row.location_ids = None if data.location_ids is None else sorted(set(data.location_ids))
    session.flush()
    return row


def set_connection_rule(
    session: Session, workspace_id: int, connection_id: int, data: StockRuleSet
) -> tuple[StockRulePublic, set[int]]:
    get_connection(session, workspace_id, connection_id)
    row = _save(session, workspace_id, connection_scope(connection_id), connection_id, None, data)
    queued = _recompute_connection(session, workspace_id, connection_id, "connection stock rule changed")
    return StockRulePublic.model_validate(row), queued


def set_listing_rule(
    session: Session, workspace_id: int, listing_id: int, data: StockRuleSet
) -> tuple[StockRulePublic, set[int]]:
    listing = get_listing(session, workspace_id, listing_id)
    row = _save(session, workspace_id, listing_scope(listing.id), listing.connection_id, listing.id, data)
    queued = _recompute_listing(session, workspace_id, listing, "listing stock rule changed")
    return StockRulePublic.model_validate(row), queued


def delete_connection_rule(session: Session, workspace_id: int, connection_id: int) -> set[int]:
    get_connection(session, workspace_id, connection_id)
    row = _stored(session, workspace_id, connection_scope(connection_id))
    if row is None:
        return set()
    session.delete(row)
    session.flush()
    return _recompute_connection(session, workspace_id, connection_id, "connection stock rule removed")


def delete_listing_rule(session: Session, workspace_id: int, listing_id: int) -> set[int]:
    listing = get_listing(session, workspace_id, listing_id)
    row = _stored(session, workspace_id, listing_scope(listing.id))
    if row is None:
        return set()
    session.delete(row)
    session.flush()
    return _recompute_listing(session, workspace_id, listing, "listing stock rule removed")


def _recompute_connection(session: Session, workspace_id: int, connection_id: int, reason: str) -> set[int]:
    query = select(Listing.product_id).where(Listing.connection_id == connection_id, Listing.product_id.is_not(None))
    product_ids = {pid for pid in session.scalars(query.distinct()) if pid is not None}
    return ats.recompute(session, workspace_id, product_ids, reason)


def _recompute_listing(session: Session, workspace_id: int, listing: Listing, reason: str) -> set[int]:
    if listing.product_id is None:
        return set()
    return ats.recompute(session, workspace_id, {listing.product_id}, reason)


def recompute_now(session: Session, workspace_id: int, product_ids: list[int] | None) -> tuple[int, set[int]]:
    """Recomputes the given products (every product when None); returns how many and the connections queued."""
    query = select(Product.id).where(Product.workspace_id == workspace_id)
    if product_ids is not None:
        query = query.where(Product.id.in_(product_ids))
    ids = set(session.scalars(query))
    return len(ids), ats.recompute(session, workspace_id, ids, "recompute requested")


# --- the push log -----------------------------------------------------------------------------------------


def list_pushes(
    session: Session,
    workspace_id: int,
    *,
    status: str | None = None,
    connection_id: int | None = None,
    listing_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[StockPush], int]:
    """The push log, newest first, optionally one status / connection / listing."""
    query = select(StockPush).where(StockPush.workspace_id == workspace_id)
    if status is not None:
        query = query.where(StockPush.status == status)
    if connection_id is not None:
        query = query.where(StockPush.connection_id == connection_id)
    if listing_id is not None:
        query = query.where(StockPush.listing_id == listing_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(StockPush.id.desc()).limit(limit).offset(offset))), total
