"""/api/v1/inventory: stock sources (add, test, preview, sync, runs, levels, uploads), their overrides and
location mappings, and the unmapped SKUs report with its two resolutions. Everything is scoped to the
token's workspace: another workspace's ids answer 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from fenicia.api.deps import BoxDep, DbDep, DispatcherDep, SettingsDep, WorkspaceId, after_commit
from fenicia.api.errors import error_response
from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.source_registry import source_specs
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import FeniciaError, ValidationFailed
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher
from fenicia.inventory import overrides as links
from fenicia.inventory import services, unmapped, uploads
from fenicia.inventory.levels import list_levels
from fenicia.inventory.models import InventorySource, SourceRun
from fenicia.inventory.schemas import (
    LevelPublic,
    LocationMappingCreate,
    LocationMappingPublic,
    OverrideCreate,
    OverridePublic,
    ResolveByMapping,
    ResolveByNewProduct,
    ResolveResult,
    SourceCreate,
    SourcePublic,
    SourceRunPublic,
    SourceTestResult,
    SourceTypePublic,
    SourceUpdate,
    UnmappedPublic,
    UploadResult,
)

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory"])

MAX_LISTED = 500
UPLOAD_CHUNK_BYTES = 256 * 1024
Limit = Annotated[int, Query(ge=1, le=MAX_LISTED)]
Offset = Annotated[int, Query(ge=0)]
REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"description": "Settings or credentials are wrong"},
    502: {"description": "The source failed"},
}


# --- source types and sources ----------------------------------------------------------------------------


@router.get("/source-types")
def source_types(ws: WorkspaceId) -> list[SourceTypePublic]:
    """Every source type, with the JSON schemas of its settings and credentials forms."""
    return [
        SourceTypePublic(
            key=spec.key,
            display_name=spec.display_name,
            kind=spec.kind,
            supports_delta=spec.supports_delta,
            settings_schema=spec.settings_model.model_json_schema(),
            credentials_schema=spec.credentials_model.model_json_schema(),
        )
        for spec in sorted(source_specs().values(), key=lambda s: s.key)
    ]


@router.post("/sources", status_code=status.HTTP_201_CREATED)
def create(data: SourceCreate, ws: WorkspaceId, db: DbDep, box: BoxDep) -> SourcePublic:
    """Adds a source. Credentials are encrypted at rest and never returned."""
    with db.session() as session:
        return services.source_public(services.create_source(session, box, ws, data))


@router.post("/sources/test", response_model=SourceTestResult, responses=REFUSED)
async def test_unsaved(data: SourceCreate, ws: WorkspaceId, settings: SettingsDep) -> SourceTestResult | JSONResponse:
    """Tests a source form before saving it: says exactly what is wrong, stores nothing."""
    connector = services.build_unsaved_connector(data, settings)
    return await _test(connector)


@router.get("/sources")
def list_all(ws: WorkspaceId, db: DbDep) -> list[SourcePublic]:
    """Every source with its status, last success, next attempt and freshness."""
    with db.read_session() as session:
        return [services.source_public(s) for s in services.list_sources(session, ws)]


@router.get("/sources/{source_id}")
def read(source_id: int, ws: WorkspaceId, db: DbDep) -> SourcePublic:
    with db.read_session() as session:
        return services.source_public(services.get_source(session, ws, source_id))


@router.patch("/sources/{source_id}")
def update(source_id: int, data: SourceUpdate, ws: WorkspaceId, db: DbDep, box: BoxDep) -> SourcePublic:
    """Rename, change settings, credentials, frequency, mapping rules, guard, or pause/un-pause."""
    with db.session() as session:
        return services.source_public(services.update_source(session, box, ws, source_id, data))


@router.delete("/sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(source_id: int, ws: WorkspaceId, db: DbDep, settings: SettingsDep) -> Response:
    """Removes the source, its runs, overrides, location mappings, levels and uploaded files."""
    with db.session() as session:
        services.delete_source(session, ws, source_id)
    uploads.remove_files(settings, ws, source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _load_connector(db: Database, box: SecretBox, settings: Settings, ws: int, source_id: int) -> Any:
    with db.read_session() as session:
        return services.build_source_connector(services.get_source(session, ws, source_id), box, settings)


@router.post("/sources/{source_id}/test", response_model=SourceTestResult, responses=REFUSED)
async def test_saved(
    source_id: int, ws: WorkspaceId, db: DbDep, box: BoxDep, settings: SettingsDep
) -> SourceTestResult | JSONResponse:
    """Reaches the source with the stored credentials. Changes nothing, whatever the outcome."""
    connector = await run_in_threadpool(_load_connector, db, box, settings, ws, source_id)
    return await _test(connector)


async def _test(connector: InventorySourceConnector) -> SourceTestResult | JSONResponse:
    try:
        message = await connector.test_connection()
    except FeniciaError as exc:
        return JSONResponse({"ok": False, "error": exc.to_dict()}, status_code=exc.http_status)
    finally:
        await connector.aclose()
    return SourceTestResult(ok=True, message=message)


# --- runs ------------------------------------------------------------------------------------------------


def _hand_over(
    db: Database, dispatcher: Dispatcher, response: Response, request: Callable[[Any], tuple[SourceRun, bool]]
) -> SourceRunPublic:
    with db.session() as session:
        run, created = request(session)
        public = services.run_public(run)
    after_commit(dispatcher.sync_source, public.id, public.source_id)  # a run pulled forward starts now too
    if not created:
        response.status_code = status.HTTP_200_OK
    return public


@router.post(
    "/sources/{source_id}/sync",
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"description": "A sync was already queued or running; this is it"}},
)
def sync_now(
    source_id: int, response: Response, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep, accept_drop: bool = False
) -> SourceRunPublic:
    """Sync now, whatever the schedule. ``accept_drop=true`` accepts a file the truncation guard refused."""
    if accept_drop:
        return _hand_over(db, dispatcher, response, lambda s: services.accept_row_drop(s, ws, source_id))
    return _hand_over(db, dispatcher, response, lambda s: services.request_source_sync(s, ws, source_id))


@router.post("/sources/{source_id}/preview", status_code=status.HTTP_202_ACCEPTED)
def preview(
    source_id: int, response: Response, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> SourceRunPublic:
    """Reads and maps the source without applying anything; the run's ``preview_rows`` show the result."""
    return _hand_over(db, dispatcher, response, lambda s: services.request_source_sync(s, ws, source_id, preview=True))


@router.get("/sources/{source_id}/runs")
def runs(source_id: int, ws: WorkspaceId, db: DbDep, limit: Limit = 50) -> list[SourceRunPublic]:
    """Run history, newest first (trigger, start, duration, rows read/mapped/unmapped/changed, error)."""
    with db.read_session() as session:
        return [
            services.run_public(r, with_preview=False) for r in services.list_source_runs(session, ws, source_id, limit)
        ]


@router.get("/source-runs/{run_id}")
def run_detail(run_id: int, ws: WorkspaceId, db: DbDep) -> SourceRunPublic:
    """One run, with its preview rows when it is a preview."""
    with db.read_session() as session:
        return services.run_public(services.get_source_run(session, ws, run_id))


# --- levels ----------------------------------------------------------------------------------------------


@router.get("/sources/{source_id}/levels")
def source_levels(
    source_id: int, ws: WorkspaceId, db: DbDep, sku: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> list[LevelPublic]:
    """The source's current levels (what it last said per product and location)."""
    with db.read_session() as session:
        services.get_source(session, ws, source_id)
        rows = list_levels(session, ws, source_id=source_id, sku=sku, limit=limit, offset=offset)
        return [LevelPublic.model_validate(r) for r in rows]


@router.get("/levels")
def levels(
    ws: WorkspaceId,
    db: DbDep,
    product_id: int | None = None,
    sku: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[LevelPublic]:
    """Current levels of every source, by product id or SKU."""
    with db.read_session() as session:
        rows = list_levels(session, ws, product_id=product_id, sku=sku, limit=limit, offset=offset)
        return [LevelPublic.model_validate(r) for r in rows]


# --- uploads ---------------------------------------------------------------------------------------------


def _upload_target(db: Database, ws: int, source_id: int) -> InventorySource:
    with db.read_session() as session:
        source = services.get_source(session, ws, source_id)
        uploads.check_accepts_uploads(source)
        return source


@router.post(
    "/sources/{source_id}/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadResult,
    responses={413: {"description": "The file is larger than the source's limit"}, 422: {"description": "Bad file"}},
    openapi_extra={
        "requestBody": {
            "description": "The file itself (text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml"
            ".sheet or application/octet-stream), or a multipart form with a 'file' field.",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload(
    source_id: int,
    request: Request,
    ws: WorkspaceId,
    db: DbDep,
    box: BoxDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
    filename: str | None = None,
    then: Literal["none", "preview", "sync"] = "none",
) -> UploadResult | JSONResponse:
    """Stores a CSV/XLSX file for an upload source after reading it whole; a bad file changes nothing.

    ``then``: also queue a preview or a sync of the new file."""
    source = await run_in_threadpool(_upload_target, db, ws, source_id)
    limit = uploads.upload_limit(source)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        return _too_large(limit)
    incoming = uploads.begin_upload(settings, source)
    try:
        name = await _receive(request, incoming, filename)
        if name is None:
            incoming.discard()
            return _too_large(limit)
        sha = incoming.close()
        if incoming.size == 0:
            raise ValidationFailed("The file is empty.", resolution="Send the file's content as the request body.")
        await uploads.check_file(source, box, settings, incoming, sha)
    except BaseException:
        incoming.discard()
        raise
    return await run_in_threadpool(_keep, db, dispatcher, settings, ws, source_id, incoming, sha, name, then)


async def _receive(request: Request, incoming: uploads.Incoming, filename: str | None) -> str | None:
    """Writes the body (raw, or a multipart form's 'file') to ``incoming``; None when over the limit."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        part = form.get("file")
        if part is None or isinstance(part, str):
            raise ValidationFailed("The form has no 'file' field.", resolution="Send the file as the 'file' field.")
        while chunk := await part.read(UPLOAD_CHUNK_BYTES):
            if not incoming.write(chunk):
                return None
        return uploads.clean_name(filename or part.filename)
    async for chunk in request.stream():
        if not incoming.write(chunk):
            return None
    return uploads.clean_name(filename)


def _keep(
    db: Database,
    dispatcher: Dispatcher,
    settings: Settings,
    ws: int,
    source_id: int,
    incoming: uploads.Incoming,
    sha: str,
    name: str,
    then: str,
) -> UploadResult:
    with db.session() as session:
        source = uploads.keep_upload(session, settings, ws, source_id, incoming, sha, name)
        run = None
        if then != "none":
            run, _ = services.request_source_sync(session, ws, source_id, preview=then == "preview")
        result = UploadResult(source=services.source_public(source), run=services.run_public(run) if run else None)
    if result.run is not None:
        after_commit(dispatcher.sync_source, result.run.id, source_id)
    return result


def _too_large(limit: int) -> JSONResponse:
    return error_response(
        413,
        "too_large",
        f"The file is larger than this source's limit of {limit // (1024 * 1024)} MB. Nothing was stored.",
        "Raise the source's 'max_file_bytes' setting, or split the file.",
    )


# --- overrides and location mappings ---------------------------------------------------------------------


def _kick(dispatcher: Dispatcher, connections: set[int]) -> None:
    for connection_id in sorted(connections):
        after_commit(dispatcher.push_stock, connection_id)


@router.get("/sources/{source_id}/overrides")
def overrides(source_id: int, ws: WorkspaceId, db: DbDep) -> list[OverridePublic]:
    with db.read_session() as session:
        return [OverridePublic.model_validate(o) for o in links.list_overrides(session, ws, source_id)]


@router.post("/sources/{source_id}/overrides", status_code=status.HTTP_201_CREATED)
def set_override(
    source_id: int, data: OverrideCreate, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> OverridePublic:
    """Maps one external code to a product (wins over the rules); an open report row for it is resolved."""
    with db.session() as session:
        row, pushed = links.set_override(session, ws, source_id, data.external_code, data.product_id)
        public = OverridePublic.model_validate(row)
    _kick(dispatcher, pushed)
    return public


@router.delete("/sources/{source_id}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_override(source_id: int, override_id: int, ws: WorkspaceId, db: DbDep) -> Response:
    with db.session() as session:
        links.delete_override(session, ws, source_id, override_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sources/{source_id}/locations")
def location_mappings(source_id: int, ws: WorkspaceId, db: DbDep) -> list[LocationMappingPublic]:
    with db.read_session() as session:
        rows = links.list_location_mappings(session, ws, source_id)
        return [LocationMappingPublic.model_validate(r) for r in rows]


@router.post("/sources/{source_id}/locations", status_code=status.HTTP_201_CREATED)
def set_location_mapping(
    source_id: int, data: LocationMappingCreate, ws: WorkspaceId, db: DbDep
) -> LocationMappingPublic:
    """Maps a source's location key ('' for its only location) to one of our locations."""
    with db.session() as session:
        row = links.set_location_mapping(session, ws, source_id, data.external_location, data.location_id)
        return LocationMappingPublic.model_validate(row)


@router.delete("/sources/{source_id}/locations/{mapping_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_location_mapping(source_id: int, mapping_id: int, ws: WorkspaceId, db: DbDep) -> Response:
    with db.session() as session:
        links.delete_location_mapping(session, ws, source_id, mapping_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the unmapped report ---------------------------------------------------------------------------------


@router.get("/unmapped")
def unmapped_report(
    ws: WorkspaceId,
    db: DbDep,
    source_id: int | None = None,
    connection_id: int | None = None,
    include_resolved: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[UnmappedPublic]:
    """Codes that matched no product, from sources' rows and from order lines, most recently seen first."""
    scope = None
    if source_id is not None:
        scope = unmapped.source_scope(source_id)
    elif connection_id is not None:
        scope = unmapped.channel_scope(connection_id)
    with db.read_session() as session:
        rows = unmapped.list_unmapped(
            session, ws, scope=scope, include_resolved=include_resolved, limit=limit, offset=offset
        )
        return [UnmappedPublic.model_validate(r) for r in rows]


@router.post("/unmapped/{unmapped_id}/map")
def resolve_map(
    unmapped_id: int, data: ResolveByMapping, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> ResolveResult:
    """Maps the code to an existing product; a source's last quantity is applied at once."""
    with db.session() as session:
        pushed = unmapped.resolve_by_mapping(session, ws, unmapped_id, data.product_id)
        row = unmapped.get_unmapped(session, ws, unmapped_id)
        result = ResolveResult(
            unmapped=UnmappedPublic.model_validate(row), product_id=data.product_id, connections_pushed=sorted(pushed)
        )
    _kick(dispatcher, pushed)
    return result


@router.post("/unmapped/{unmapped_id}/create-product", status_code=status.HTTP_201_CREATED)
def resolve_create(
    unmapped_id: int, data: ResolveByNewProduct, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> ResolveResult:
    """Creates the missing product from the code (and the source's name for it), then applies it."""
    with db.session() as session:
        product, pushed = unmapped.resolve_by_new_product(session, ws, unmapped_id, sku=data.sku, name=data.name)
        row = unmapped.get_unmapped(session, ws, unmapped_id)
        result = ResolveResult(
            unmapped=UnmappedPublic.model_validate(row), product_id=product.id, connections_pushed=sorted(pushed)
        )
    _kick(dispatcher, pushed)
    return result
