"""Use-cases for channel connections: connect, reconnect, frequency, webhook inbox, sync runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fenicia.channels.models import ChannelConnection, ConnectionStatus, RunStatus, SyncRun, WebhookDelivery
from fenicia.channels.schemas import ALLOWED_POLL_INTERVALS_SECONDS, ConnectionCreate
from fenicia.channels.tokens import DbTokenStore
from fenicia.connectors.base import ChannelConnector, ChannelSpec, MemoryTokenStore, TokenStore
from fenicia.connectors.registry import channel_spec
from fenicia.core import netguard
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import NotFoundError, ValidationFailed
from fenicia.db.engine import Database

RUN_KINDS_ONE_AT_A_TIME = ("poll", "bulk")


def _validate(model: type[BaseModel], data: dict[str, Any], what: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(f"Invalid {what}: {problems}.") from exc


def _check_interval(seconds: int | None) -> None:
    if seconds is not None and seconds not in ALLOWED_POLL_INTERVALS_SECONDS:
        raise ValidationFailed(
            f"Unsupported sync frequency {seconds}s.",
            resolution="Use 300 (5 min), 900 (15 min), 3600 (1 hour) or manual.",
        )


def create_connection(session: Session, box: SecretBox, workspace_id: int, data: ConnectionCreate) -> ChannelConnection:
    spec = channel_spec(data.channel)
    settings = _validate(spec.settings_model, data.settings, f"{spec.display_name} settings")
    credentials = _validate(spec.credentials_model, data.credentials, f"{spec.display_name} credentials")
    interval = data.poll_interval_seconds
    if interval is None and data.use_default_interval:
        interval = spec.default_poll_interval_seconds
    _check_interval(interval)
    conn = ChannelConnection(
        workspace_id=workspace_id,
        channel=spec.key,
        name=data.name,
        settings=settings.model_dump(mode="json"),
        credentials_encrypted=box.encrypt(_secret_dump(credentials)),
        poll_interval_seconds=interval,
        status=ConnectionStatus.PENDING,
        status_message="Waiting for the first sync.",
        next_poll_at=utcnow(),
    )
    session.add(conn)
    session.flush()
    return conn


def _secret_dump(model: BaseModel) -> dict[str, Any]:
    """Reveals SecretStr values only to encrypt them."""
    out: dict[str, Any] = {}
    for key, value in model:
        out[key] = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return out


def get_connection(session: Session, workspace_id: int, connection_id: int) -> ChannelConnection:
    conn = session.scalar(
        select(ChannelConnection).where(
            ChannelConnection.id == connection_id, ChannelConnection.workspace_id == workspace_id
        )
    )
    if conn is None:
        raise NotFoundError(f"Channel connection {connection_id} does not exist in this workspace.")
    return conn


def list_connections(session: Session, workspace_id: int) -> list[ChannelConnection]:
    query = select(ChannelConnection).where(ChannelConnection.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(ChannelConnection.id)))


def set_frequency(session: Session, workspace_id: int, connection_id: int, seconds: int | None) -> ChannelConnection:
    _check_interval(seconds)
    conn = get_connection(session, workspace_id, connection_id)
    conn.poll_interval_seconds = seconds
    conn.next_poll_at = utcnow() if seconds is not None else None
    return conn


def reconnect(
    session: Session, box: SecretBox, workspace_id: int, connection_id: int, credentials: dict[str, Any]
) -> ChannelConnection:
    """New credentials: clears Error so the next sync runs at once."""
    conn = get_connection(session, workspace_id, connection_id)
    spec = channel_spec(conn.channel)
    model = _validate(spec.credentials_model, credentials, f"{spec.display_name} credentials")
    conn.credentials_encrypted = box.encrypt(_secret_dump(model))
    conn.token_encrypted = None  # a token obtained with the old credentials must not outlive them
    conn.last_error_code = None  # the outage is over as far as we know: the next failure notifies again
    conn.status = ConnectionStatus.PENDING
    conn.status_message = "Reconnected; waiting for the next sync."
    conn.resolution = None
    conn.retry_count = 0
    conn.next_attempt_at = None
    conn.next_poll_at = utcnow()
    return conn


def build_connector(
    conn: ChannelConnection, box: SecretBox, db: Database | None = None, *, allow_private: bool = False
) -> ChannelConnector:
    """The connector of one connection. With ``db`` its access token is shared through the connection
    row (runs, pushes, processes); without, the token lives as long as the connector.

    ``allow_private``: the operator's ``Settings.allow_private_source_urls``. The connection's addresses
    (shop URL, API and token endpoints) are typed by a merchant: unless allowed, a non-public one is refused
    at the first call with ``netguard.AddressRefused`` (``core.netguard``). Without it, never allowed."""
    spec = channel_spec(conn.channel)
    settings = spec.settings_model.model_validate(conn.settings)
    credentials = spec.credentials_model.model_validate(box.decrypt(conn.credentials_encrypted))
    tokens: TokenStore = MemoryTokenStore() if db is None else DbTokenStore(db, box, conn.id)
    connector: ChannelConnector = spec.build(settings, credentials, tokens)
    netguard.apply_policy(connector, allow_private)
    return connector


def spec_of(conn: ChannelConnection) -> ChannelSpec:
    return channel_spec(conn.channel)


# --- webhook inbox -----------------------------------------------------------------------------


def store_webhook_delivery(
    session: Session,
    conn: ChannelConnection,
    *,
    delivery_id: str,
    topic: str,
    body: bytes,
    triggered_at: datetime | None,
    headers: Mapping[str, str] | None = None,
) -> int | None:
    """Inserts the raw delivery; returns its id, or None when this delivery id was already stored."""
    values = {
        "workspace_id": conn.workspace_id,
        "connection_id": conn.id,
        "delivery_id": delivery_id,
        "topic": topic,
        "body": body.decode("utf-8", errors="replace"),
        "headers": _keep_headers(headers or {}),
        "triggered_at": triggered_at,
        "received_at": utcnow(),
        "status": "received",
        "attempts": 0,
    }
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = insert(WebhookDelivery).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["connection_id", "delivery_id"])
    row_id = session.scalar(stmt.returning(WebhookDelivery.id))
    return int(row_id) if row_id is not None else None


SECRET_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})


def _keep_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The delivery's headers, lower-cased, minus anything that could carry a credential."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


# --- sync runs ---------------------------------------------------------------------------------


def unfinished_run(session: Session, connection_id: int, kinds: tuple[str, ...]) -> SyncRun | None:
    query = (
        select(SyncRun)
        .where(
            SyncRun.connection_id == connection_id,
            SyncRun.kind.in_(kinds),
            SyncRun.status.in_(RunStatus.UNFINISHED),
        )
        .order_by(SyncRun.id)
        .limit(1)
    )
    return session.scalar(query)


def request_sync(
    session: Session,
    workspace_id: int,
    connection_id: int,
    *,
    kind: str = "poll",
    trigger: str = "manual",
    window_start: datetime | None = None,
    target_external_id: str | None = None,
    scheduled_for: datetime | None = None,
) -> tuple[SyncRun, bool]:
    """Creates a queued run, or returns the connection's unfinished one (one poll/bulk at a time).

    Returns ``(run, created)``. The caller enqueues the run on the engine after commit.
    """
    conn = get_connection(session, workspace_id, connection_id)
    if kind in RUN_KINDS_ONE_AT_A_TIME:
        # Lock the connection row so two requests can't both see "nothing running" (PostgreSQL);
        # on SQLite the write transaction (BEGIN IMMEDIATE) already serializes them.
        session.execute(select(ChannelConnection.id).where(ChannelConnection.id == conn.id).with_for_update())
        running = unfinished_run(session, conn.id, RUN_KINDS_ONE_AT_A_TIME)
        if running is not None:
            if trigger == "manual" and running.status == RunStatus.QUEUED:
                running.scheduled_for = None  # "sync now" pulls a scheduled retry forward
            return running, False
    run = SyncRun(
        workspace_id=workspace_id,
        connection_id=conn.id,
        kind=kind,
        trigger=trigger,
        status=RunStatus.QUEUED,
        window_start=window_start,
        target_external_id=target_external_id,
        scheduled_for=scheduled_for,
    )
    session.add(run)
    session.flush()
    return run, True


def get_run(session: Session, workspace_id: int, run_id: int) -> SyncRun:
    run = session.scalar(select(SyncRun).where(SyncRun.id == run_id, SyncRun.workspace_id == workspace_id))
    if run is None:
        raise NotFoundError(f"Sync run {run_id} does not exist in this workspace.")
    return run


def list_runs(session: Session, workspace_id: int, connection_id: int | None = None, limit: int = 50) -> list[SyncRun]:
    query = select(SyncRun).where(SyncRun.workspace_id == workspace_id)
    if connection_id is not None:
        query = query.where(SyncRun.connection_id == connection_id)
    return list(session.scalars(query.order_by(SyncRun.id.desc()).limit(limit)))
