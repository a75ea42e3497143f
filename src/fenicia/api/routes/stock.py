"""/api/v1 stock rules (per connection, per listing), listings with their available-to-sell, the push
log, and "recompute now"."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from fenicia.api.deps import DbDep, DispatcherDep, WorkspaceId
from fenicia.api.routes.products import kick_pushes
from fenicia.catalog.schemas import (
    ListingPublic,
    RecomputeRequest,
    RecomputeResult,
    StockPushList,
    StockPushPublic,
    StockRulePublic,
    StockRuleSet,
)
from fenicia.catalog.stock import (
    connection_rule,
    delete_connection_rule,
    delete_listing_rule,
    get_listing,
    list_listings,
    list_pushes,
    listing_rule,
    recompute_now,
    set_connection_rule,
    set_listing_rule,
)
from fenicia.channels.services import get_connection

router = APIRouter(prefix="/api/v1", tags=["stock"])

MAX_PAGE_SIZE = 500
PushStatusWord = Literal["pending", "sending", "sent", "superseded", "skipped", "error"]


@router.get("/connections/{connection_id}/stock-rule")
def read_connection_rule(connection_id: int, ws: WorkspaceId, db: DbDep) -> StockRulePublic:
    """The channel's rule, or the default (``id`` null: nothing held back, every location feeds it)."""
    with db.read_session() as session:
        return connection_rule(session, ws, connection_id)


@router.put("/connections/{connection_id}/stock-rule")
def put_connection_rule(
    connection_id: int, data: StockRuleSet, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> StockRulePublic:
    """Sets the channel's rule; every listing of the channel is recomputed and changed values are pushed."""
    with db.session() as session:
        rule, queued = set_connection_rule(session, ws, connection_id, data)
    kick_pushes(dispatcher, queued)
    return rule


@router.delete("/connections/{connection_id}/stock-rule", status_code=status.HTTP_204_NO_CONTENT)
def remove_connection_rule(connection_id: int, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep) -> Response:
    with db.session() as session:
        queued = delete_connection_rule(session, ws, connection_id)
    kick_pushes(dispatcher, queued)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/listings")
def listings(
    ws: WorkspaceId,
    db: DbDep,
    response: Response,
    connection_id: int | None = None,
    product_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ListingPublic]:
    """Listings with their available-to-sell, the explanation, and the last value pushed."""
    with db.read_session() as session:
        if connection_id is not None:
            get_connection(session, ws, connection_id)
        rows, total = list_listings(session, ws, connection_id, product_id, limit, offset)
        items = [ListingPublic.model_validate(row) for row in rows]
    response.headers["X-Total-Count"] = str(total)
    return items


@router.get("/listings/{listing_id}")
def read_listing(listing_id: int, ws: WorkspaceId, db: DbDep) -> ListingPublic:
    with db.read_session() as session:
        return ListingPublic.model_validate(get_listing(session, ws, listing_id))


@router.get("/listings/{listing_id}/stock-rule")
def read_listing_rule(listing_id: int, ws: WorkspaceId, db: DbDep) -> StockRulePublic:
    """The rule that applies to the listing: its own, else its channel's, else the default."""
    with db.read_session() as session:
        return listing_rule(session, ws, listing_id)


@router.put("/listings/{listing_id}/stock-rule")
def put_listing_rule(
    listing_id: int, data: StockRuleSet, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> StockRulePublic:
    """A rule for this listing only; it replaces the channel's rule for it entirely."""
    with db.session() as session:
        rule, queued = set_listing_rule(session, ws, listing_id, data)
    kick_pushes(dispatcher, queued)
    return rule


@router.delete("/listings/{listing_id}/stock-rule", status_code=status.HTTP_204_NO_CONTENT)
def remove_listing_rule(listing_id: int, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep) -> Response:
    with db.session() as session:
        queued = delete_listing_rule(session, ws, listing_id)
    kick_pushes(dispatcher, queued)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/stock/pushes")
def pushes(
    ws: WorkspaceId,
    db: DbDep,
    response: Response,
    status_: Annotated[PushStatusWord | None, Query(alias="status")] = None,
    connection_id: int | None = None,
    listing_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> StockPushList:
    """The push log, newest first: pending, sending, sent, superseded, skipped, error."""
    with db.read_session() as session:
        rows, total = list_pushes(
            session, ws, status=status_, connection_id=connection_id, listing_id=listing_id, limit=limit, offset=offset
        )
        items = [StockPushPublic.model_validate(row) for row in rows]
    response.headers["X-Total-Count"] = str(total)
    return StockPushList(items=items, total=total, limit=limit, offset=offset)


@router.post("/stock/recompute")
def recompute(
    ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep, data: RecomputeRequest | None = None
) -> RecomputeResult:
    """Recomputes available-to-sell now (the given products, or all) and pushes what changed."""
    with db.session() as session:
        count, queued = recompute_now(session, ws, data.product_ids if data is not None else None)
    kick_pushes(dispatcher, queued)
    return RecomputeResult(products=count, connections_queued=sorted(queued))
