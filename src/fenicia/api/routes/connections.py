"""/api/v1/connections and /api/v1/runs: connect channels, change their schedule, test them, sync them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from fenicia.api.deps import BoxDep, DbDep, DispatcherDep, SettingsDep, WorkspaceId, after_commit
from fenicia.api.schemas import ConnectionTestResult
from fenicia.channels.schemas import (
    ChannelTypePublic,
    ConnectionCreate,
    ConnectionPublic,
    ConnectionUpdate,
    SyncRunPublic,
)
from fenicia.channels.services import (
    build_connector,
    create_connection,
    get_connection,
    get_run,
    list_connections,
    list_runs,
    request_sync,
)
from fenicia.channels.views import channel_types, connection_public, update_connection
from fenicia.connectors.base import ChannelConnector
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import FeniciaError
from fenicia.db.engine import Database

router = APIRouter(prefix="/api/v1", tags=["connections"])

MAX_RUNS_LISTED = 200


@router.get("/channels", tags=["channels"])
def list_channel_types(ws: WorkspaceId) -> list[ChannelTypePublic]:
    """The channels Fenicia connects, with the capability matrix (what each refuses, and why) and the
    default sync frequency; the settings and credentials each needs, as JSON Schema."""
    return channel_types()


@router.post("/connections", status_code=status.HTTP_201_CREATED)
def create(data: ConnectionCreate, ws: WorkspaceId, db: DbDep, box: BoxDep, settings: SettingsDep) -> ConnectionPublic:
    """Connects a channel account. Credentials are encrypted at rest and never returned."""
    with db.session() as session:
        conn = create_connection(session, box, ws, data)
        return connection_public(conn, settings.base_url())


@router.get("/connections")
def list_all(ws: WorkspaceId, db: DbDep, settings: SettingsDep) -> list[ConnectionPublic]:
    """Every connection of the workspace with its status, last success, next attempt and webhook URL."""
    with db.read_session() as session:
        return [connection_public(c, settings.base_url()) for c in list_connections(session, ws)]


@router.get("/connections/{connection_id}")
def read(connection_id: int, ws: WorkspaceId, db: DbDep, settings: SettingsDep) -> ConnectionPublic:
    with db.read_session() as session:
        return connection_public(get_connection(session, ws, connection_id), settings.base_url())


@router.patch("/connections/{connection_id}")
def update(
    connection_id: int, data: ConnectionUpdate, ws: WorkspaceId, db: DbDep, box: BoxDep, settings: SettingsDep
) -> ConnectionPublic:
    """Rename, change the sync frequency (``manual: true`` for manual only), or reconnect with new credentials."""
    with db.session() as session:
        conn = update_connection(session, box, ws, connection_id, data)
        return connection_public(conn, settings.base_url())


def _load_connector(db: Database, box: SecretBox, ws: int, connection_id: int, allow_private: bool) -> ChannelConnector:
    with db.read_session() as session:
        return build_connector(get_connection(session, ws, connection_id), box, db, allow_private=allow_private)


@router.post(
    "/connections/{connection_id}/test",
    response_model=ConnectionTestResult,
    responses={400: {"description": "Settings or credentials are wrong"}, 502: {"description": "The channel failed"}},
)
async def run_test(
    connection_id: int, ws: WorkspaceId, db: DbDep, box: BoxDep, settings: SettingsDep
) -> ConnectionTestResult | JSONResponse:
    """Calls the channel with the stored credentials. Changes nothing, whatever the outcome."""
    allowed = settings.allow_private_source_urls
    connector = await run_in_threadpool(_load_connector, db, box, ws, connection_id, allowed)
    try:
        message = await connector.test_connection()
    except FeniciaError as exc:
        return JSONResponse({"ok": False, "error": exc.to_dict()}, status_code=exc.http_status)
    finally:
        await connector.aclose()
    return ConnectionTestResult(ok=True, message=message)


@router.post(
    "/connections/{connection_id}/sync",
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"description": "A sync was already running; this is it"}},
)
def sync_orders(
    connection_id: int, response: Response, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> SyncRunPublic:
    """Sync orders now, whatever the schedule. While one sync runs, asking again returns that one (200)."""
    with db.session() as session:
        run, created = request_sync(session, ws, connection_id, kind="bulk", trigger="manual")
        public = SyncRunPublic.model_validate(run)
    if created:
        after_commit(dispatcher.run_sync, public.id, public.connection_id)
    else:
        response.status_code = status.HTTP_200_OK
    return public


@router.get("/connections/{connection_id}/runs")
def runs(
    connection_id: int, ws: WorkspaceId, db: DbDep, limit: Annotated[int, Query(ge=1, le=MAX_RUNS_LISTED)] = 50
) -> list[SyncRunPublic]:
    """The connection's sync runs, newest first."""
    with db.read_session() as session:
        get_connection(session, ws, connection_id)  # 404 for another workspace's connection
        rows = list_runs(session, ws, connection_id, limit=limit)
        return [SyncRunPublic.model_validate(r) for r in rows]


@router.get("/runs/{run_id}", tags=["runs"])
def run_progress(run_id: int, ws: WorkspaceId, db: DbDep) -> SyncRunPublic:
    """A run's progress: pages, orders seen/created/updated, errors and status."""
    with db.read_session() as session:
        return SyncRunPublic.model_validate(get_run(session, ws, run_id))
