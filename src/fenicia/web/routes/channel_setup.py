"""Connecting a channel and changing a connection: the connect form (tested before anything is saved),
"Test connection", reconnect with new credentials, and the sync frequency.

A connection is saved only after the channel answered the test with the typed credentials; a failed
test shows what the channel said and what to do, keeps what was typed except the secrets, and stores
nothing. After a connection is saved its webhooks are subscribed, best effort: polling is the safety net.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from fenicia.accounts.sessions import SignedIn
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import build_connector, create_connection, get_connection, reconnect, set_frequency
from fenicia.channels.views import webhook_url
from fenicia.connectors.base import ChannelConnector, ChannelSpec
from fenicia.connectors.registry import channel_specs
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import FeniciaError, NotFoundError, ValidationFailed
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.web.auth import FormUser, PageUser
from fenicia.web.connect import (
    check_credentials,
    credential_fields,
    failed_check,
    frequency_choices,
    parse_frequency,
    picked,
    settings_fields,
    validated,
)
from fenicia.web.deps import BoxDep, DbDep, SettingsDep
from fenicia.web.forms import FormError
from fenicia.web.render import page_context, render
from fenicia.web.routes.channels import channel_page_response
from fenicia.web.routing import WebRoute

log = structlog.get_logger(__name__)
router = APIRouter(route_class=WebRoute)

MAX_NAME_LENGTH = 200


def _spec(channel: str) -> ChannelSpec:
    spec = channel_specs().get(channel)
    if spec is None:
        known = ", ".join(sorted(channel_specs()))
        raise NotFoundError(f"Fenicia has no '{channel}' channel.", resolution=f"Pick one of: {known}.")
    return spec


@router.get("/channels/new")
def choose_channel(request: Request, user: PageUser, db: DbDep) -> Response:
    specs = sorted(channel_specs().values(), key=lambda s: s.display_name)
    with db.read_session() as session:
        context = page_context(session, user, request, specs=specs)
    return render(request, "channel_choose.html", context)


def _connect_page(
    request: Request,
    user: SignedIn,
    db: Database,
    spec: ChannelSpec,
    values: dict[str, Any],
    error: FormError | None = None,
    status: int = 200,
) -> Response:
    """The form; after a failure, with the error and what was typed, never the secrets."""
    secret_names = {f.input_name for f in credential_fields(spec) if f.secret}
    kept = {k: v for k, v in values.items() if k not in secret_names and k != "csrf_token"}
    chosen = values.get("frequency")
    default = spec.default_poll_interval_seconds if chosen is None else _frequency_or_none(str(chosen))
    with db.read_session() as session:
        context = page_context(
            session,
            user,
            request,
            spec=spec,
            settings_fields=settings_fields(spec),
            credential_fields=credential_fields(spec),
            frequencies=frequency_choices(default),
            values=kept,
            error=error,
        )
    return render(request, "channel_connect.html", context, status=status)


def _frequency_or_none(value: str) -> int | None:
    try:
        return parse_frequency(value)
    except ValidationFailed:
        return None


@router.get("/channels/new/{channel}")
def connect_form(request: Request, channel: str, user: PageUser, db: DbDep) -> Response:
    spec = _spec(channel)
    return _connect_page(request, user, db, spec, {"name": f"My {spec.display_name}"})


def _checked_name(value: Any) -> str:
    name = str(value or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            f"The connection needs a name of 1 to {MAX_NAME_LENGTH} characters.",
            resolution="Type a name you will recognise, e.g. the shop's name.",
        )
    return name


async def _tested_create(
    form: dict[str, Any], spec: ChannelSpec, user: SignedIn, db: Database, box: SecretBox, allow_private: bool
) -> int:
    """Validates, tests with the channel, then saves; returns the new connection's id."""
    name = _checked_name(form.get("name"))
    interval = parse_frequency(str(form.get("frequency", "")))
    settings_values = picked(form, settings_fields(spec))
    credential_values = picked(form, credential_fields(spec))
    settings_model, credentials_model = validated(spec, settings_values, credential_values)
    try:
        await check_credentials(spec, settings_model, credentials_model, allow_private=allow_private)
    except FeniciaError as exc:
        raise failed_check(spec, exc) from exc
    data = ConnectionCreate(
        channel=spec.key,
        name=name,
        settings=settings_values,
        credentials=credential_values,
        poll_interval_seconds=interval,
        use_default_interval=False,
    )

    def save() -> int:
        with db.session() as session:
            return create_connection(session, box, user.workspace_id, data).id

    return await run_in_threadpool(save)


@router.post("/channels/new/{channel}")
async def connect(
    request: Request, channel: str, user: FormUser, db: DbDep, box: BoxDep, settings: SettingsDep
) -> Response:
    spec = _spec(channel)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        connection_id = await _tested_create(form, spec, user, db, box, settings.allow_private_source_urls)
    except FeniciaError as exc:
        error = FormError.of("connect", exc)
        return await run_in_threadpool(_connect_page, request, user, db, spec, form, error, exc.http_status)
    subscribed = await _subscribe_webhooks(db, box, settings, spec, user.workspace_id, connection_id)
    done = "connected" if subscribed else "connected-polling"
    return RedirectResponse(f"/channels/{connection_id}?done={done}", status_code=303)


def _load_connector(
    db: Database, box: SecretBox, settings: Settings, workspace_id: int, connection_id: int
) -> tuple[ChannelConnector, str]:
    """The stored connection's connector, and the address its webhooks go to."""
    with db.read_session() as session:
        conn = get_connection(session, workspace_id, connection_id)
        connector = build_connector(conn, box, db, allow_private=settings.allow_private_source_urls)
        return connector, webhook_url(settings.base_url(), conn)


async def _subscribe_webhooks(
    db: Database, box: SecretBox, settings: Settings, spec: ChannelSpec, workspace_id: int, connection_id: int
) -> bool:
    """Subscribes the new connection's webhook address; False (logged) when the channel refused."""
    if not spec.webhook_topics:
        return True
    loaded = await run_in_threadpool(_load_connector, db, box, settings, workspace_id, connection_id)
    connector, address = loaded
    try:
        await connector.ensure_webhooks(address, list(spec.webhook_topics))
    except FeniciaError as exc:
        log.warning("webhooks_not_subscribed", connection_id=connection_id, error=exc.message)
        return False
    finally:
        await connector.aclose()
    return True


@router.post("/channels/{connection_id}/test")
async def run_connection_test(
    request: Request, connection_id: int, user: FormUser, db: DbDep, box: BoxDep, settings: SettingsDep
) -> Response:
    """Calls the channel with the stored credentials; changes nothing, whatever the outcome."""
    connector, _ = await run_in_threadpool(_load_connector, db, box, settings, user.workspace_id, connection_id)
    try:
        answer = await connector.test_connection()
    except FeniciaError as exc:
        error = FormError("test", f"The connection test failed: {exc.message}", exc.resolution)
        return await run_in_threadpool(
            _channel_page, request, user, db, settings, connection_id, error, None, exc.http_status
        )
    finally:
        await connector.aclose()
    return await run_in_threadpool(_channel_page, request, user, db, settings, connection_id, None, answer, 200)


def _channel_page(
    request: Request,
    user: SignedIn,
    db: Database,
    settings: Settings,
    connection_id: int,
    error: FormError | None,
    tested: str | None,
    status: int,
) -> Response:
    days = settings.bulk_sync_days
    return channel_page_response(request, user, db, days, connection_id, error=error, tested=tested, status=status)


async def _tested_reconnect(
    form: dict[str, Any], user: SignedIn, db: Database, box: SecretBox, connection_id: int, allow_private: bool
) -> ChannelSpec:
    """Tests the new credentials with the stored settings, then saves them; returns the channel's spec."""

    def load() -> tuple[ChannelSpec, dict[str, Any]]:
        with db.read_session() as session:
            conn = get_connection(session, user.workspace_id, connection_id)
            return _spec(conn.channel), dict(conn.settings)

    spec, stored_settings = await run_in_threadpool(load)
    credential_values = picked(form, credential_fields(spec))
    settings_model, credentials_model = validated(spec, stored_settings, credential_values)
    try:
        await check_credentials(spec, settings_model, credentials_model, allow_private=allow_private)
    except FeniciaError as exc:
        raise failed_check(spec, exc) from exc

    def save() -> None:
        with db.session() as session:
            reconnect(session, box, user.workspace_id, connection_id, credential_values)

    await run_in_threadpool(save)
    return spec


@router.post("/channels/{connection_id}/reconnect")
async def reconnect_channel(
    request: Request, connection_id: int, user: FormUser, db: DbDep, box: BoxDep, settings: SettingsDep
) -> Response:
    """New credentials, tested first; a connection in Error starts syncing again at once."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        spec = await _tested_reconnect(form, user, db, box, connection_id, settings.allow_private_source_urls)
    except FeniciaError as exc:
        if exc.http_status == 404:
            raise
        error = FormError.of("reconnect", exc)
        return await run_in_threadpool(
            _channel_page, request, user, db, settings, connection_id, error, None, exc.http_status
        )
    subscribed = await _subscribe_webhooks(db, box, settings, spec, user.workspace_id, connection_id)
    done = "reconnected" if subscribed else "connected-polling"
    return RedirectResponse(f"/channels/{connection_id}?done={done}", status_code=303)


@router.post("/channels/{connection_id}/frequency")
def frequency(
    request: Request,
    connection_id: int,
    user: FormUser,
    db: DbDep,
    settings: SettingsDep,
    value: Annotated[str, Form(alias="frequency")] = "",
) -> Response:
    try:
        seconds = parse_frequency(value)
        with db.session() as session:
            set_frequency(session, user.workspace_id, connection_id, seconds)
    except ValidationFailed as exc:
        error = FormError.of("frequency", exc)
        return _channel_page(request, user, db, settings, connection_id, error, None, exc.http_status)
    return RedirectResponse(f"/channels/{connection_id}?done=frequency", status_code=303)
