"""/integrations/inventory-sources: every stock source with its status, and one source's monitoring panel
(status, "Sync now", run history with a chart of durations and changed rows, current levels, freshness)
with its settings forms; plus ``/events/sources``, the live stream these pages listen to.

Adding a source and changing its connection or mapping are in :mod:`fenicia.web.routes.inventory_setup`;
the unmapped SKUs report and its resolutions in :mod:`fenicia.web.routes.inventory_unmapped`. Both
re-render this module's source page through :func:`source_page_response`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from fenicia.accounts.sessions import SignedIn
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import FeniciaError, ValidationFailed
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.inventory import services, uploads
from fenicia.inventory.levels import list_levels
from fenicia.inventory.models import InventorySource
from fenicia.inventory.schemas import SourceUpdate
from fenicia.inventory.unmapped import list_unmapped, source_scope
from fenicia.inventory.views import level_count, open_unmapped_count, unfinished_sync
from fenicia.web.auth import FormUser, PageUser, safe_next
from fenicia.web.charts import duration_seconds, duration_words, run_charts
from fenicia.web.deps import BoxDep, DbDep, DispatcherDep, SettingsDep, dispatch
from fenicia.web.forms import FormError
from fenicia.web.pulse import read_sources, stream_topics
from fenicia.web.render import page_context, render
from fenicia.web.routing import WebRoute
from fenicia.web.source_views import source_line, upload_words
from fenicia.web.sources_form import choice_of, frequency_choices, parse_frequency

router = APIRouter(route_class=WebRoute)

BASE = "/integrations/inventory-sources"
RUNS_SHOWN = 30
LEVELS_SHOWN = 50
UNMAPPED_SHOWN = 50  # the panel's share of the report; the report page shows more
UPLOAD_CHUNK_BYTES = 256 * 1024
MIB = 1024 * 1024
GUARD_REASON = "truncation_guard"
DONE_MESSAGES = {
    "saved": "The source is saved; its first sync runs now and the status below follows it.",
    "sync": "Sync requested; the status below follows it live.",
    "sync-running": "A sync of this source was already queued or running; the status below follows it.",
    "accepted": "The smaller file is accepted; a sync of it runs now.",
    "frequency": "Sync frequency saved.",
    "paused": "The source is paused: it is not synced until you resume it.",
    "resumed": "The source is resumed; it syncs on its schedule again.",
    "deleted": "The source was deleted, with its runs, overrides and stock levels.",
    "uploaded": "File uploaded and checked; a sync of it runs now.",
    "mapping": "Mapping saved; the next sync reads the source with it.",
    "connection": "Connection settings saved (tested first); the next sync uses them.",
    "mapped": "Mapped: the code now counts as that product, and its last quantity was applied.",
    "created": "Product created from the code, and its last quantity applied.",
}


def done_message(request: Request) -> str | None:
    return DONE_MESSAGES.get(request.query_params.get("done", ""))


def _list(session: Session, workspace_id: int) -> dict[str, Any]:
    now = utcnow()
    sources = services.list_sources(session, workspace_id)
    open_rows = open_unmapped_count(session, workspace_id)
    return {"lines": [source_line(s, now) for s in sources], "open_unmapped": open_rows}


def _panel(session: Session, workspace_id: int, source_id: int) -> dict[str, Any]:
    source = services.get_source(session, workspace_id, source_id)
    runs = services.list_source_runs(session, workspace_id, source.id, limit=RUNS_SHOWN)
    syncs = [r for r in runs if not r.preview]
    latest = syncs[0] if syncs else None
    return {
        "source": source,
        "line": source_line(source, utcnow()),
        "runs": runs,
        "latest": latest,
        "running": unfinished_sync(runs),
        "charts": run_charts(runs),
        "levels": list_levels(session, workspace_id, source_id=source.id, limit=LEVELS_SHOWN),
        "level_total": level_count(session, workspace_id, source.id),
        "guard_refused": latest is not None and latest.status == "failed" and latest.error_code == GUARD_REASON,
        "duration": lambda run: duration_words(duration_seconds(run)),
    }


def unmapped_context(session: Session, workspace_id: int, source: InventorySource) -> dict[str, Any]:
    from fenicia.web.routes.inventory_unmapped import unmapped_lines

    scope = source_scope(source.id)
    rows = list_unmapped(session, workspace_id, scope=scope, limit=UNMAPPED_SHOWN)
    total = open_unmapped_count(session, workspace_id, scope) if len(rows) == UNMAPPED_SHOWN else len(rows)
    return {"unmapped": unmapped_lines(session, workspace_id, rows), "unmapped_total": total, "back": str(source.id)}


def source_page_response(
    request: Request,
    user: SignedIn,
    db: Database,
    source_id: int,
    *,
    error: FormError | None = None,
    tested: str | None = None,
    status: int = 200,
) -> Response:
    """The monitoring panel; after a form, with its outcome (``tested``: what the source answered) or error."""
    with db.read_session() as session:
        panel = _panel(session, user.workspace_id, source_id)
        source = panel["source"]
        context = page_context(
            session,
            user,
            request,
            **panel,
            **unmapped_context(session, user.workspace_id, source),
            done=done_message(request),
            choice=choice_of(source),
            frequencies=frequency_choices(source.frequency_seconds),
            uploaded=upload_words(source),
            error=error,
            tested=tested,
        )
    return render(request, "inventory_source.html", context, status=status)


# --- pages and partials -------------------------------------------------------------------------------


@router.get(BASE)
def sources_page(request: Request, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        context = page_context(session, user, request, **_list(session, user.workspace_id), done=done_message(request))
    return render(request, "inventory_sources.html", context)


@router.get("/partials/inventory-sources")
def sources_partial(request: Request, user: PageUser, db: DbDep) -> Response:
    """The sources table alone, re-fetched when the live stream says a source changed."""
    with db.read_session() as session:
        context = {"user": user, **_list(session, user.workspace_id)}
    return render(request, "partials/_source_list.html", context)


@router.get("/inventory/sources/{source_id}")
def old_source_address(source_id: int) -> Response:
    """Notifications link sources here (``inventory.status.source_link``): the panel's address."""
    return RedirectResponse(f"{BASE}/{source_id}", status_code=303)


@router.get(BASE + "/{source_id}")
def source_page(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    return source_page_response(request, user, db, source_id)


@router.get("/partials/inventory-sources/{source_id}")
def source_live(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    """Status, "Sync now", the latest run, the chart, the run history and the levels, re-fetched live."""
    with db.read_session() as session:
        context = {"user": user, **_panel(session, user.workspace_id, source_id)}
    return render(request, "partials/_source_live.html", context)


@router.get("/partials/inventory-sources/{source_id}/unmapped")
def source_unmapped(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        source = services.get_source(session, user.workspace_id, source_id)
        context = {"user": user, "source": source, **unmapped_context(session, user.workspace_id, source)}
    return render(request, "partials/_source_unmapped.html", context)


# --- the live stream ----------------------------------------------------------------------------------


@router.get("/events/sources")
def source_events(request: Request, user: PageUser, db: DbDep) -> Response:
    """Like ``/events/stream`` (same tick, lifetime and reconnect rules), for the ``sources`` topic."""
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    stream = stream_topics(request, read_sources, db, user.workspace_id)
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


# --- actions ----------------------------------------------------------------------------------------------


def _sync(db: Database, dispatcher: Any, workspace_id: int, source_id: int, *, accept_drop: bool) -> bool:
    with db.session() as session:
        if accept_drop:
            run, created = services.accept_row_drop(session, workspace_id, source_id)
        else:
            run, created = services.request_source_sync(session, workspace_id, source_id, trigger="manual")
        run_id = run.id
    dispatch(dispatcher.sync_source, run_id, source_id)  # a queued retry pulled forward starts now too
    return created


@router.post(BASE + "/{source_id}/sync")
def sync_now(
    source_id: int,
    user: FormUser,
    db: DbDep,
    dispatcher: DispatcherDep,
    next_: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """ "Sync now": a run at once, whatever the schedule; a retry waiting for its time is pulled forward."""
    created = _sync(db, dispatcher, user.workspace_id, source_id, accept_drop=False)
    target = safe_next(next_ or f"{BASE}/{source_id}")
    return RedirectResponse(f"{target}?done={'sync' if created else 'sync-running'}", status_code=303)


@router.post(BASE + "/{source_id}/accept-drop")
def accept_drop(source_id: int, user: FormUser, db: DbDep, dispatcher: DispatcherDep) -> Response:
    """The merchant confirms that a much smaller file (refused by the truncation guard) is right."""
    _sync(db, dispatcher, user.workspace_id, source_id, accept_drop=True)
    return RedirectResponse(f"{BASE}/{source_id}?done=accepted", status_code=303)


def _update(db: Database, box: SecretBox, workspace_id: int, source_id: int, data: SourceUpdate) -> None:
    with db.session() as session:
        services.update_source(session, box, workspace_id, source_id, data)


@router.post(BASE + "/{source_id}/frequency")
def frequency(
    request: Request,
    source_id: int,
    user: FormUser,
    db: DbDep,
    box: BoxDep,
    value: Annotated[str, Form(alias="frequency")] = "",
) -> Response:
    try:
        seconds = parse_frequency(value)
    except ValidationFailed as exc:
        return source_page_response(
            request, user, db, source_id, error=FormError.of("frequency", exc), status=exc.http_status
        )
    _update(db, box, user.workspace_id, source_id, SourceUpdate(frequency_seconds=seconds))
    return RedirectResponse(f"{BASE}/{source_id}?done=frequency", status_code=303)


@router.post(BASE + "/{source_id}/pause")
def pause(source_id: int, user: FormUser, db: DbDep, box: BoxDep) -> Response:
    _update(db, box, user.workspace_id, source_id, SourceUpdate(paused=True))
    return RedirectResponse(f"{BASE}/{source_id}?done=paused", status_code=303)


@router.post(BASE + "/{source_id}/resume")
def resume(source_id: int, user: FormUser, db: DbDep, box: BoxDep) -> Response:
    _update(db, box, user.workspace_id, source_id, SourceUpdate(paused=False))
    return RedirectResponse(f"{BASE}/{source_id}?done=resumed", status_code=303)


@router.post(BASE + "/{source_id}/delete")
def delete(
    request: Request,
    source_id: int,
    user: FormUser,
    db: DbDep,
    settings: SettingsDep,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Removes the source with its runs, overrides, location mappings, levels and uploaded files."""
    if confirm != "yes":
        exc = ValidationFailed(
            "The source was not deleted: the box confirming it was not ticked.",
            resolution="Tick the box, then click Delete source again.",
        )
        return source_page_response(
            request, user, db, source_id, error=FormError.of("delete", exc), status=exc.http_status
        )
    with db.session() as session:
        services.delete_source(session, user.workspace_id, source_id)
    uploads.remove_files(settings, user.workspace_id, source_id)
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)


def _load_connector(db: Database, box: SecretBox, settings: Settings, workspace_id: int, source_id: int) -> Any:
    with db.read_session() as session:
        source = services.get_source(session, workspace_id, source_id)
        return services.build_source_connector(source, box, settings)


async def test_stored(db: Database, box: SecretBox, settings: Settings, workspace_id: int, source_id: int) -> str:
    """What the source answers with the stored settings and credentials; raises its error."""
    connector = await run_in_threadpool(_load_connector, db, box, settings, workspace_id, source_id)
    try:
        return str(await connector.test_connection())
    finally:
        await connector.aclose()


@router.post(BASE + "/{source_id}/test")
async def test_connection(
    request: Request, source_id: int, user: FormUser, db: DbDep, box: BoxDep, settings: SettingsDep
) -> Response:
    """Reaches the source with what is stored; changes nothing, whatever the outcome."""
    try:
        answer = await test_stored(db, box, settings, user.workspace_id, source_id)
    except FeniciaError as exc:
        if exc.http_status == 404:
            raise
        error = FormError("test", f"The connection test failed: {exc.message}", exc.resolution)
        status = exc.http_status
        return await run_in_threadpool(
            lambda: source_page_response(request, user, db, source_id, error=error, status=status)
        )
    return await run_in_threadpool(lambda: source_page_response(request, user, db, source_id, tested=answer))


# --- uploads ------------------------------------------------------------------------------------------------


def _upload_target(db: Database, workspace_id: int, source_id: int) -> InventorySource:
    with db.read_session() as session:
        source = services.get_source(session, workspace_id, source_id)
        uploads.check_accepts_uploads(source)
        return source


async def receive_upload(
    db: Database, box: SecretBox, settings: Settings, workspace_id: int, source_id: int, part: Any
) -> None:
    """Stores an uploaded stock file after reading it whole; a bad file raises and stores nothing."""
    if not isinstance(part, UploadFile) or not part.filename:
        raise ValidationFailed("No file was chosen.", resolution="Choose the stock file (CSV or XLSX), then upload.")
    source = await run_in_threadpool(_upload_target, db, workspace_id, source_id)
    incoming = uploads.begin_upload(settings, source)
    try:
        while chunk := await part.read(UPLOAD_CHUNK_BYTES):
            if not incoming.write(chunk):
                raise ValidationFailed(
                    f"The file is larger than this source's limit of {incoming.limit // MIB} MB. Nothing was stored.",
                    resolution="Raise the source's maximum file size under More settings, or split the file.",
                )
        sha = incoming.close()
        if incoming.size == 0:
            raise ValidationFailed("The file is empty.", resolution="Choose the stock file itself and upload it again.")
        try:
            await uploads.check_file(source, box, settings, incoming, sha)
        except FeniciaError as exc:
            raise refused_file(exc) from exc
    except BaseException:
        incoming.discard()
        raise
    name = uploads.clean_name(part.filename)

    def keep() -> None:
        with db.session() as session:
            uploads.keep_upload(session, settings, workspace_id, source_id, incoming, sha, name)

    await run_in_threadpool(keep)


def refused_file(exc: FeniciaError) -> FeniciaError:
    """A file the check refused, as the forms show it."""
    message = f"The file was refused, so nothing was stored: {exc.message}"
    return ValidationFailed(message, resolution=exc.resolution or "Correct the file, then upload it again.")


@router.post(BASE + "/{source_id}/upload")
async def upload(
    request: Request,
    source_id: int,
    user: FormUser,
    db: DbDep,
    box: BoxDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> Response:
    """A new file for an upload source: checked whole, stored, then synced at once."""
    form = await request.form()
    try:
        await receive_upload(db, box, settings, user.workspace_id, source_id, form.get("file"))
    except FeniciaError as exc:
        if exc.http_status == 404:
            raise
        error = FormError.of("upload", exc)
        status = exc.http_status
        return await run_in_threadpool(
            lambda: source_page_response(request, user, db, source_id, error=error, status=status)
        )
    await run_in_threadpool(_sync, db, dispatcher, user.workspace_id, source_id, accept_drop=False)
    return RedirectResponse(f"{BASE}/{source_id}?done=uploaded", status_code=303)
