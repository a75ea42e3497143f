"""Adding an inventory source step by step, and changing its connection or mapping afterwards.

1. ``/integrations/inventory-sources/new``: the system type (:func:`~fenicia.web.sources_form.choices`).
2. ``.../new/{choice}``: connection — name, settings, credentials, frequency, and for an upload the
   file itself. The source is tested first (the file read whole, or the remote system reached):
   a failed test shows what went wrong and what to do, keeps what was typed except secrets, and saves
   nothing. A passing one saves the source *paused* ("in set-up"), with what the test found.
3. ``.../{id}/setup/mapping``: normalization rules, explicit overrides, location → warehouse mapping
   and the full/delta semantics; saving queues a preview run.
4. ``.../{id}/setup/preview``: the preview's mapped and unmapped rows and counts, live; "Save and start
   syncing" un-pauses the source and runs its first sync.

The same connection and mapping forms change a saved source (``.../{id}/connection``, ``.../{id}/mapping``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from fenicia.accounts.sessions import SignedIn
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ConfigError, FeniciaError, NotFoundError, ValidationFailed
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.inventory import services, uploads
from fenicia.inventory.schemas import SourceCreate, SourceUpdate
from fenicia.inventory.views import (
    changed_connector,
    in_setup,
    latest_preview,
    note_tested,
)
from fenicia.web.auth import FormUser, PageUser
from fenicia.web.deps import BoxDep, DbDep, DispatcherDep, SettingsDep, dispatch
from fenicia.web.forms import FormError
from fenicia.web.render import page_context, render
from fenicia.web.routes.inventory import BASE, receive_upload, test_stored
from fenicia.web.routing import WebRoute
from fenicia.web.sources_form import (
    Choice,
    choice,
    choice_of,
    choices,
    frequency_choices,
    labels_of,
    parse_frequency,
    read_values,
    source_form,
    stored_values,
    validated,
)

router = APIRouter(route_class=WebRoute)

STEPS = ("System type", "Connection", "Mapping", "Preview")
MAX_NAME_LENGTH = 200
UPLOAD_DEFAULT_FREQUENCY: int | None = None  # a file changes when it is uploaded: scheduled reads add nothing
DEFAULT_FREQUENCY_SECONDS = 900


def _choice(key: str) -> Choice:
    found = choice(key)
    if found is None:
        known = ", ".join(c.key for c in choices())
        raise NotFoundError(f"Fenicia has no '{key}' kind of inventory source.", resolution=f"Pick one of: {known}.")
    return found


@router.get(BASE + "/new")
def choose(request: Request, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        context = page_context(session, user, request, choices=choices(), steps=STEPS, step=1)
    return render(request, "inventory_source_choose.html", context)


# --- step 2: connection ----------------------------------------------------------------------------------


def _connect_page(
    request: Request,
    user: SignedIn,
    db: Database,
    pick: Choice,
    values: dict[str, Any],
    *,
    source_id: int | None = None,
    error: FormError | None = None,
    status: int = 200,
) -> Response:
    """The connection form (new, or a stored source's); after a failure with what was typed, never secrets."""
    form = source_form(pick)
    secrets = {f.input_name for f in form.credentials if f.widget in ("password", "secret_text")}
    kept = {k: v for k, v in values.items() if k not in secrets and k != "csrf_token"}
    default = UPLOAD_DEFAULT_FREQUENCY if pick.upload else DEFAULT_FREQUENCY_SECONDS
    chosen = str(values.get("frequency", ""))
    with db.read_session() as session:
        source = services.get_source(session, user.workspace_id, source_id) if source_id is not None else None
        context = page_context(
            session,
            user,
            request,
            pick=pick,
            form=form,
            values=kept,
            source=source,
            frequencies=frequency_choices(_frequency_or(chosen, default)),
            error=error,
            steps=STEPS,
            step=2,
        )
    return render(request, "inventory_source_connect.html", context, status=status)


def _frequency_or(value: str, default: int | None) -> int | None:
    try:
        return parse_frequency(value) if value else default
    except ValidationFailed:
        return default


@router.get(BASE + "/new/{choice_key}")
def connect_form(request: Request, choice_key: str, user: PageUser, db: DbDep) -> Response:
    pick = _choice(choice_key)
    return _connect_page(request, user, db, pick, {"name": pick.name if pick.upload else f"My {pick.name}"})


def _checked_name(value: Any) -> str:
    name = str(value or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            f"The source needs a name of 1 to {MAX_NAME_LENGTH} characters.",
            resolution="Type a name you will recognise, e.g. 'Main warehouse ERP'.",
        )
    return name


def failed_test(pick: Choice, exc: FeniciaError) -> FeniciaError:
    message = f"The connection test failed, so nothing was saved. {pick.spec.display_name} said: {exc.message}"
    return ConfigError(message, resolution=exc.resolution or "Check the settings and credentials, then try again.")


def _new_source(values: dict[str, Any], pick: Choice) -> SourceCreate:
    """The form read and validated by the type's own models (the service validates them again)."""
    form = source_form(pick)
    name = _checked_name(values.get("name"))
    frequency = parse_frequency(str(values.get("frequency", "")))
    settings = {**read_values(values, form.all_settings()), **pick.preset}
    credentials = read_values(values, form.credentials)
    labels = labels_of([*form.all_settings(), *form.credentials])
    validated(pick.spec.settings_model, settings, labels)
    validated(pick.spec.credentials_model, credentials, labels)
    return SourceCreate(
        kind=pick.kind,
        name=name,
        settings=settings,
        credentials=credentials,
        frequency_seconds=frequency,
        paused=True,
    )


async def _tested_create(
    values: dict[str, Any], file: Any, pick: Choice, user: SignedIn, db: Database, box: SecretBox, settings: Settings
) -> int:
    """Validates, tests (reads the uploaded file whole, or reaches the system), saves paused; the new id."""
    data = _new_source(values, pick)
    if pick.upload:
        return await _create_with_upload(data, file, user.workspace_id, db, box, settings)
    connector = services.build_unsaved_connector(data, settings)
    try:
        answer = await connector.test_connection()
    except FeniciaError as exc:
        raise failed_test(pick, exc) from exc
    finally:
        await connector.aclose()

    def save() -> int:
        with db.session() as session:
            source_id = services.create_source(session, box, user.workspace_id, data).id
            note_tested(session, user.workspace_id, source_id, answer)
            return source_id

    return await run_in_threadpool(save)


async def _create_with_upload(
    data: SourceCreate, file: Any, workspace_id: int, db: Database, box: SecretBox, settings: Settings
) -> int:
    """An upload source exists before its file (files are kept per source): a refused file removes it."""
    if not getattr(file, "filename", ""):
        raise ValidationFailed("No file was chosen.", resolution="Choose the stock file (CSV or XLSX), then continue.")

    def save() -> int:
        with db.session() as session:
            return services.create_source(session, box, workspace_id, data).id

    source_id = await run_in_threadpool(save)
    try:
        await receive_upload(db, box, settings, workspace_id, source_id, file)
        answer = await test_stored(db, box, settings, workspace_id, source_id)
    except BaseException:
        await run_in_threadpool(_discard, db, settings, workspace_id, source_id)
        raise

    def note() -> None:
        with db.session() as session:
            note_tested(session, workspace_id, source_id, answer)

    await run_in_threadpool(note)
    return source_id


def _discard(db: Database, settings: Settings, workspace_id: int, source_id: int) -> None:
    with db.session() as session:
        services.delete_source(session, workspace_id, source_id)
    uploads.remove_files(settings, workspace_id, source_id)


@router.post(BASE + "/new/{choice_key}")
async def create(
    request: Request, choice_key: str, user: FormUser, db: DbDep, box: BoxDep, settings: SettingsDep
) -> Response:
    pick = _choice(choice_key)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        source_id = await _tested_create(values, form.get("file"), pick, user, db, box, settings)
    except FeniciaError as exc:
        error = FormError.of("connect", exc)
        status = exc.http_status
        return await run_in_threadpool(
            lambda: _connect_page(request, user, db, pick, values, error=error, status=status)
        )
    return RedirectResponse(f"{BASE}/{source_id}/setup/mapping", status_code=303)


# --- changing a stored source's connection ------------------------------------------------------------


def _stored(db: Database, workspace_id: int, source_id: int) -> tuple[Choice, dict[str, Any]]:
    with db.read_session() as session:
        source = services.get_source(session, workspace_id, source_id)
        pick = choice_of(source)
        values = {"name": source.name, **stored_values(source.settings or {}, source_form(pick).all_settings())}
        return pick, values


@router.get(BASE + "/{source_id}/connection")
def connection_form(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    pick, values = _stored(db, user.workspace_id, source_id)
    return _connect_page(request, user, db, pick, values, source_id=source_id)


async def _tested_change(
    values: dict[str, Any], pick: Choice, user: SignedIn, db: Database, box: SecretBox, settings: Settings, sid: int
) -> None:
    """Tests the source as it would be with the change (blank secrets: the stored ones), then saves it."""
    form = source_form(pick)
    name = _checked_name(values.get("name"))
    changed = {**read_values(values, form.all_settings(), blank_is_default=True), **pick.preset}
    credentials = read_values(values, form.credentials)

    def build() -> Any:
        with db.read_session() as session:
            source = services.get_source(session, user.workspace_id, sid)
            return changed_connector(source, box, settings, changed, credentials)

    connector = await run_in_threadpool(build)
    try:
        await connector.test_connection()
    except FeniciaError as exc:
        message = f"The connection test failed, so nothing was changed. {pick.spec.display_name} said: {exc.message}"
        raise ConfigError(message, resolution=exc.resolution or "Check the settings, then save again.") from exc
    finally:
        await connector.aclose()
    data = SourceUpdate(name=name, settings=changed, credentials=credentials or None)

    def save() -> None:
        with db.session() as session:
            services.update_source(session, box, user.workspace_id, sid, data)

    await run_in_threadpool(save)


@router.post(BASE + "/{source_id}/connection")
async def change_connection(
    request: Request, source_id: int, user: FormUser, db: DbDep, box: BoxDep, settings: SettingsDep
) -> Response:
    pick, _ = await run_in_threadpool(_stored, db, user.workspace_id, source_id)
    values = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        await _tested_change(values, pick, user, db, box, settings, source_id)
    except FeniciaError as exc:
        if isinstance(exc, NotFoundError):
            raise
        error = FormError.of("connect", exc)
        status = exc.http_status
        return await run_in_threadpool(
            lambda: _connect_page(request, user, db, pick, values, source_id=source_id, error=error, status=status)
        )
    return RedirectResponse(f"{BASE}/{source_id}?done=connection", status_code=303)


# --- step 4: preview, then save ------------------------------------------------------------------------------


def queue_preview(db: Database, dispatcher: Any, workspace_id: int, source_id: int) -> None:
    with db.session() as session:
        run, _ = services.request_source_sync(session, workspace_id, source_id, preview=True)
        run_id = run.id
    dispatch(dispatcher.sync_source, run_id, source_id)


def _preview_context(session: Session, user: SignedIn, source_id: int) -> dict[str, Any]:
    source = services.get_source(session, user.workspace_id, source_id)
    run = latest_preview(session, user.workspace_id, source.id)
    return {"source": source, "run": run, "setup": in_setup(source)}


def _preview_page(
    request: Request, user: SignedIn, db: Database, source_id: int, error: FormError | None = None, status: int = 200
) -> Response:
    with db.read_session() as session:
        context = page_context(
            session, user, request, **_preview_context(session, user, source_id), error=error, steps=STEPS, step=4
        )
    return render(request, "inventory_source_preview.html", context, status=status)


@router.get(BASE + "/{source_id}/setup/preview")
def setup_preview(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    return _preview_page(request, user, db, source_id)


@router.get("/partials/inventory-sources/{source_id}/preview")
def preview_live(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    """The preview's progress, counts and rows, re-fetched while it runs."""
    with db.read_session() as session:
        context = {"user": user, **_preview_context(session, user, source_id)}
    return render(request, "partials/_source_preview.html", context)


@router.post(BASE + "/{source_id}/preview")
def preview_again(source_id: int, user: FormUser, db: DbDep, dispatcher: DispatcherDep) -> Response:
    queue_preview(db, dispatcher, user.workspace_id, source_id)
    return RedirectResponse(f"{BASE}/{source_id}/setup/preview", status_code=303)


@router.post(BASE + "/{source_id}/setup/finish")
def finish(
    request: Request, source_id: int, user: FormUser, db: DbDep, box: BoxDep, dispatcher: DispatcherDep
) -> Response:
    """ "Save and start syncing": after a preview that read the source, un-pause it and run its first sync."""
    with db.read_session() as session:
        source = services.get_source(session, user.workspace_id, source_id)
        run = latest_preview(session, user.workspace_id, source.id)
        ready = run is not None and run.status == "succeeded"
    if not ready:
        exc = ValidationFailed(
            "The source is not saved yet: it needs a preview that read it without errors first.",
            resolution="Wait for the preview to finish, or fix what it reports and preview again.",
        )
        return _preview_page(request, user, db, source_id, FormError.of("finish", exc), exc.http_status)
    with db.session() as session:
        services.update_source(session, box, user.workspace_id, source_id, SourceUpdate(paused=False))
        first, _ = services.request_source_sync(session, user.workspace_id, source_id, trigger="initial")
        run_id = first.id
    dispatch(dispatcher.sync_source, run_id, source_id)
    return RedirectResponse(f"{BASE}/{source_id}?done=saved", status_code=303)
