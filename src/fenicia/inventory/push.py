"""Sending queued sellable quantities to a channel, in its bulk form, and logging what became of each.

One batch at a time: claim (``sending``, ``claimed_by``) in one transaction, one ``set_stock`` call with
the whole batch (the connector speaks the channel's bulk form and paces inside its rate limit), then
record every item in the next transaction. Stock writes are absolute quantities, so sending an item
again after a lost answer is harmless.

Statuses of the push log (Channable's words): ``pending`` (queued, maybe with a retry time), ``sending``
(claimed now), ``sent``, ``superseded`` (a newer value replaced it before it went out), ``skipped`` (the
listing can't take stock: unlinked, nothing to address it with on the channel, or the channel answered
that the listing is not there any more: ``StockResult.skipped``), ``error``.

Failures of the whole call:
- rate limited: every item back to pending at the channel's ``Retry-After``; no retry spent.
- transient (network, timeout, 5xx): back to pending on the connection ladder (``retry_delays_seconds``,
  5 min / 15 min / 1 h by default, counted per push); after the last retry the item is ``error``. A later
  change of the product queues a fresh push anyway.
- authentication: the connection goes to Error ("Reconnect"), items stay pending; nothing is sent for a
  connection in that state until it is reconnected.
- anything else (settings, a refused request): every item of the batch is ``error`` with the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Table, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, ConnectionStatus, Listing
from fenicia.channels.services import build_connector, spec_of
from fenicia.channels.status import mark_failed
from fenicia.connectors.base import ChannelConnector, StockResult, StockUpdate
from fenicia.core.clock import utcnow
from fenicia.core.errors import AuthError, FeniciaError, RateLimitedError, TransientError
from fenicia.inventory.models import PushStatus, StockPush

RATE_LIMIT_MIN_WAIT_SECONDS = 1.0
ID_CHUNK = 500  # ids per IN (...) list: under SQLite's and PostgreSQL's bound-parameter limits
AUTH_ERROR_CODE = AuthError.code
GONE_RESOLUTION = (
    "Nothing was sent: the listing is gone from the channel. If the product was listed there again, "
    "import the channel's listings to link the new listing."
)
log = structlog.get_logger(__name__)
PUSHES = cast(Table, StockPush.__table__)
LISTINGS = cast(Table, Listing.__table__)
# Claiming and recording are Core statements over the two tables: a batch holds up to thousands of items, and
# the ORM's unit of work (an object per row, a flush per change) cost several times the database work.
LISTING_PUSHED = update(LISTINGS).where(LISTINGS.c.id == bindparam("b_id"))


@dataclass(frozen=True)
class ClaimedPush:
    push_id: int
    listing_id: int
    external_id: str
    inventory_ref: str | None
    quantity: int
    attempts: int


def _paused(conn: ChannelConnection) -> bool:
    """Disabled, or waiting for the merchant to reconnect: pushes wait in the queue."""
    return conn.disabled or (conn.status == ConnectionStatus.ERROR and conn.last_error_code == AUTH_ERROR_CODE)


async def push_stock(ctx: SyncContext, connection_id: int, batch_size: int | None = None) -> int:
    """Sends the connection's due pending pushes, batch after batch (``batch_size`` items per call, by
    default the channel's ``stock_batch_size``); returns how many were sent."""
    with ctx.db.read_session() as session:
        conn = session.get(ChannelConnection, connection_id)
        if conn is None or _paused(conn):
            return 0
        connector = build_connector(conn, ctx.box, ctx.db, allow_private=ctx.settings.allow_private_source_urls)
        batch_size = batch_size or spec_of(conn).stock_batch_size
    sent = 0
    try:
        while (claim := _claim(ctx, connection_id, batch_size)).seen:
            if not claim.items:
                continue  # every row taken was superseded or skipped: look again
            done, stop = await _send(ctx, connector, connection_id, claim.items)
            sent += done
            if stop:
                break
    finally:
        await connector.aclose()
    return sent


# --- claiming --------------------------------------------------------------------------------------


@dataclass
class Claim:
    items: list[ClaimedPush]  # to send now
    seen: int  # pending rows taken (sent, superseded or skipped); 0 means nothing is due


def _claim(ctx: SyncContext, connection_id: int, batch_size: int) -> Claim:
    with ctx.db.session() as session:
        return claim_batch(session, connection_id, ctx.worker_id, utcnow(), batch_size)


def claim_batch(session: Session, connection_id: int, worker_id: str, now: datetime, limit: int) -> Claim:
    """The oldest due pending pushes of the connection, one per listing (the newest value wins).

    A listing with a value still being sent waits: two values of one listing never travel at once,
    so an older one can't land after a newer one.
    """
    sending = PUSHES.alias("sending")
    in_flight = exists().where(sending.c.listing_id == PUSHES.c.listing_id, sending.c.status == PushStatus.SENDING)
    query = (
        select(
            PUSHES.c.id,
            PUSHES.c.listing_id,
            PUSHES.c.quantity,
            PUSHES.c.attempts,
            LISTINGS.c.external_id,
            LISTINGS.c.inventory_ref,
            LISTINGS.c.product_id,
        )
        .join(LISTINGS, LISTINGS.c.id == PUSHES.c.listing_id)
        .where(
            PUSHES.c.connection_id == connection_id,
            PUSHES.c.status == PushStatus.PENDING,
            or_(PUSHES.c.next_attempt_at.is_(None), PUSHES.c.next_attempt_at <= now),
            ~in_flight,
        )
        .order_by(PUSHES.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=PUSHES)
    )
    rows = session.execute(query).all()
    newest: dict[int, Any] = {}
    superseded: list[int] = []
    for row in rows:
        older = newest.get(row.listing_id)
        if older is not None:
            superseded.append(older.id)
        newest[row.listing_id] = row
    unlinked = [row.id for row in newest.values() if row.product_id is None]
    claimed = [
        ClaimedPush(row.id, row.listing_id, row.external_id, row.inventory_ref, row.quantity, row.attempts + 1)
        for row in newest.values()
        if row.product_id is not None
    ]
    _set(session, superseded, status=PushStatus.SUPERSEDED)
    _set(session, unlinked, **_finished(PushStatus.SKIPPED, now, "The listing is no longer linked to a product."))
    claimed_ids = [item.push_id for item in claimed]
    _set(
        session,
        claimed_ids,
        status=PushStatus.SENDING,
        claimed_by=worker_id,
        claimed_at=now,
        attempts=PUSHES.c.attempts + 1,
    )
    return Claim(claimed, len(rows))


def _finished(status: str, now: datetime, error: str | None = None) -> dict[str, Any]:
    """The columns of a push that reached ``status``: not claimed, no retry waiting, sent time if sent."""
    values: dict[str, Any] = {"status": status, "error": error, "claimed_by": None, "next_attempt_at": None}
    if status == PushStatus.SENT:
        values["sent_at"] = now
    return values


def _set(session: Session, push_ids: list[int], **values: Any) -> int:
    """The same new values on these pushes (one UPDATE per chunk of ids); returns how many rows changed."""
    changed = 0
    for start in range(0, len(push_ids), ID_CHUNK):
        chunk = push_ids[start : start + ID_CHUNK]
        result = session.execute(update(PUSHES).where(PUSHES.c.id.in_(chunk)).values(**values))
        changed += result.rowcount  # type: ignore[attr-defined]
    return changed


# --- sending and recording ------------------------------------------------------------------------


async def _send(
    ctx: SyncContext, connector: ChannelConnector, connection_id: int, batch: list[ClaimedPush]
) -> tuple[int, bool]:
    """Returns (items sent, stop pushing this connection for now)."""
    updates = [StockUpdate(item.external_id, item.inventory_ref, item.quantity) for item in batch]
    try:
        results = await connector.set_stock(updates)
    except FeniciaError as error:
        with ctx.db.session() as session:
            record_batch_failure(session, connection_id, batch, error, utcnow(), ctx.settings.retry_delays_seconds)
        log.info("stock_push_failed", connection_id=connection_id, items=len(batch), code=error.code)
        return 0, True
    with ctx.db.session() as session:
        sent = record_results(session, batch, results, utcnow())
    return sent, False


def record_results(session: Session, batch: list[ClaimedPush], results: list[StockResult], now: datetime) -> int:
    """Each item: sent (and the listing's last pushed value), skipped, or error. Returns how many were sent.

    Items are grouped by what became of them, and each group is written with set-based statements (a batch
    holds thousands of items)."""
    by_external = {result.external_id: result for result in results}
    sent: list[ClaimedPush] = []
    others: dict[tuple[str, str], list[int]] = {}  # (status, message) -> pushes
    for item in batch:
        outcome = _outcome(item, by_external.get(item.external_id))
        if outcome is None:
            sent.append(item)
        else:
            others.setdefault(outcome, []).append(item.push_id)
    for (status, message), push_ids in others.items():
        _set(session, push_ids, **_finished(status, now, message))
    if not sent:
        return 0
    pushed = [{"b_id": item.listing_id, "last_pushed_quantity": item.quantity, "last_pushed_at": now} for item in sent]
    session.execute(LISTING_PUSHED, pushed)
    return _set(session, [item.push_id for item in sent], **_finished(PushStatus.SENT, now))


def _outcome(item: ClaimedPush, result: StockResult | None) -> tuple[str, str] | None:
    """None when the item was sent; else its status and the message the push log shows."""
    if result is None:
        return PushStatus.ERROR, "The channel did not answer for this listing."
    if result.ok:
        return None
    if not item.inventory_ref:
        why = result.error or "The channel has no inventory reference for this listing."
        return PushStatus.SKIPPED, f"{why} Import the channel's listings again to link it."
    if result.skipped:
        why = result.error or "The channel no longer has this listing."
        return PushStatus.SKIPPED, f"{why} {GONE_RESOLUTION}"
    return PushStatus.ERROR, result.error or "The channel refused this quantity."


def record_batch_failure(
    session: Session,
    connection_id: int,
    batch: list[ClaimedPush],
    error: FeniciaError,
    now: datetime,
    delays: tuple[float, ...],
) -> None:
    """The whole call failed: wait (rate limit), retry on the ladder (transient), pause (auth) or fail."""
    for push in _pushes(session, [item.push_id for item in batch]):
        _fail_one(push, error, now, delays)
    if isinstance(error, AuthError):
        conn = session.get(ChannelConnection, connection_id)
        if conn is not None:
            mark_failed(session, conn, error, now, delays)


def _pushes(session: Session, ids: list[int]) -> list[StockPush]:
    """Pushes by primary key, a chunk of ids per query."""
    found: list[StockPush] = []
    for start in range(0, len(ids), ID_CHUNK):
        found.extend(session.scalars(select(StockPush).where(StockPush.id.in_(ids[start : start + ID_CHUNK]))))
    return found


def _fail_one(push: StockPush, error: FeniciaError, now: datetime, delays: tuple[float, ...]) -> None:
    push.claimed_by = None
    if isinstance(error, RateLimitedError):
        push.attempts -= 1  # waiting for the limit to reset spends no retry
        wait = max(error.retry_after or RATE_LIMIT_MIN_WAIT_SECONDS, RATE_LIMIT_MIN_WAIT_SECONDS)
        _retry_at(push, now + timedelta(seconds=wait), f"{error.message} Waiting for the rate limit to reset.")
    elif isinstance(error, AuthError):
        push.attempts -= 1
        _retry_at(push, None, f"{error.message} Reconnect the channel in Settings; the quantity waits until then.")
    elif isinstance(error, TransientError) and push.attempts <= len(delays):
        delay = max(delays[push.attempts - 1], error.retry_after or 0.0)
        retry_at = now + timedelta(seconds=delay)
        _retry_at(push, retry_at, f"{error.message} Retry {push.attempts} of {len(delays)} at {retry_at:%H:%M:%S} UTC.")
    elif isinstance(error, TransientError):
        _finish(push, PushStatus.ERROR, now, f"{error.message} Gave up after {len(delays)} retries.")
    else:
        _finish(push, PushStatus.ERROR, now, f"{error.message} {error.resolution}".strip())


def _finish(push: StockPush, status: str, now: datetime, error: str | None = None) -> None:
    for column, value in _finished(status, now, error).items():
        setattr(push, column, value)


def _retry_at(push: StockPush, when: datetime | None, message: str) -> None:
    push.status, push.next_attempt_at, push.error = PushStatus.PENDING, when, message


# --- for the reconciler ----------------------------------------------------------------------------


def connections_with_pending_pushes(session: Session, now: datetime | None = None) -> list[int]:
    """Connections with pushes due now (no retry time, or one that has passed) that may send them."""
    now = now or utcnow()
    query = (
        select(StockPush.connection_id)
        .join(ChannelConnection, ChannelConnection.id == StockPush.connection_id)
        .where(
            StockPush.status == PushStatus.PENDING,
            or_(StockPush.next_attempt_at.is_(None), StockPush.next_attempt_at <= now),
            ChannelConnection.disabled.is_(False),
            or_(
                ChannelConnection.status != ConnectionStatus.ERROR,
                ChannelConnection.last_error_code.is_(None),
                ChannelConnection.last_error_code != AUTH_ERROR_CODE,
            ),
        )
        .distinct()
        .order_by(StockPush.connection_id)
    )
    return list(session.scalars(query))


def release_claims(session: Session, worker_ids: list[str]) -> list[int]:
    """Pushes a dead worker was sending go back to pending; returns their connections to push again."""
    if not worker_ids:
        return []
    query = select(StockPush).where(StockPush.status == PushStatus.SENDING, StockPush.claimed_by.in_(worker_ids))
    connections: set[int] = set()
    for push in session.scalars(query.with_for_update(skip_locked=True)):
        push.status, push.claimed_by, push.next_attempt_at = PushStatus.PENDING, None, None
        connections.add(push.connection_id)
    return sorted(connections)
