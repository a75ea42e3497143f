"""Use-cases for inventory sources: add, change, test, sync, preview, and their runs.

Settings and credentials are validated against the source type's models (and the connector must accept
them together) before anything is stored; credentials are Fernet-encrypted and never returned. Every
function takes the workspace explicitly and answers 404 for another workspace's ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.channels.models import RunStatus
from fenicia.connectors.base import InventorySourceConnector, SourceSpec
from fenicia.connectors.source_registry import source_spec
from fenicia.core import netguard
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ConfigError, NotFoundError, ValidationFailed
from fenicia.core.settings import Settings
from fenicia.inventory.levels import freshness
from fenicia.inventory.models import InventorySource, SourceRun, SourceStatus
from fenicia.inventory.schemas import (
    ALLOWED_FREQUENCIES_SECONDS,
    FreshnessPublic,
    SourceCreate,
    SourcePublic,
    SourceRunPublic,
    SourceUpdate,
)

UPLOADS_DIR = "uploads"
RUNTIME_FILES_ROOT = "files_root"  # a settings field some source types have, filled in at build time
UPLOAD_FIELDS = ("upload_file", "upload_name", "upload_sha256", "upload_size", "uploaded_at")


def uploads_root(settings: Settings) -> str:
    return str((settings.data_dir / UPLOADS_DIR).resolve())


def _validate(model: type[BaseModel], data: dict[str, Any], what: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(f"Invalid {what}: {problems}.") from exc


def _check_frequency(seconds: int | None) -> None:
    if seconds is not None and seconds not in ALLOWED_FREQUENCIES_SECONDS:
        raise ValidationFailed(
            f"Unsupported sync frequency {seconds}s.",
            resolution="Use 300 (5 min), 900 (15 min), 3600 (1 hour) or null for manual.",
        )


def _secret_dump(model: BaseModel) -> dict[str, Any]:
    """Reveals SecretStr values only to encrypt them."""
    out: dict[str, Any] = {}
    for key, value in model:
        out[key] = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return out


def _checked_models(spec: SourceSpec, settings: dict[str, Any], credentials: dict[str, Any]) -> tuple[Any, Any]:
    """Both models, and the connector built from them (settings that only make sense together)."""
    settings_model = _validate(spec.settings_model, settings, f"{spec.display_name} settings")
    credentials_model = _validate(spec.credentials_model, credentials, f"{spec.display_name} credentials")
    try:
        spec.build(settings_model, credentials_model)
    except ConfigError as exc:
        raise ValidationFailed(exc.message, resolution=exc.resolution) from exc
    return settings_model, credentials_model


def create_source(session: Session, box: SecretBox, workspace_id: int, data: SourceCreate) -> InventorySource:
    spec = source_spec(data.kind)
    settings, credentials = _checked_models(spec, _without_upload(data.settings), data.credentials)
    _check_frequency(data.frequency_seconds)
    if data.update_mode == "delta" and not spec.supports_delta:
        raise ValidationFailed(f"{spec.display_name} sources are always read whole.", resolution="Use 'full'.")
    source = InventorySource(
        workspace_id=workspace_id,
        kind=spec.key,
        name=data.name.strip(),
        settings=settings.model_dump(mode="json"),
        credentials_encrypted=box.encrypt(_secret_dump(credentials)),
        frequency_seconds=data.frequency_seconds,
        mapping=data.mapping.model_dump(mode="json"),
        update_mode=data.update_mode,
        missing_means_zero=data.missing_means_zero,
        truncation_guard_percent=data.truncation_guard_percent,
        status=SourceStatus.PENDING,
        status_message="Waiting for the first sync." if not data.paused else "Paused: preview, then un-pause.",
        next_sync_at=utcnow() if data.frequency_seconds is not None else None,
        disabled=data.paused,
    )
    session.add(source)
    session.flush()
    return source


def _without_upload(settings: dict[str, Any]) -> dict[str, Any]:
    """Upload fields are Fenicia's to set (the upload endpoint), never the caller's."""
    return {k: v for k, v in settings.items() if k not in UPLOAD_FIELDS and k != RUNTIME_FILES_ROOT}


def get_source(session: Session, workspace_id: int, source_id: int, *, lock: bool = False) -> InventorySource:
    query = select(InventorySource).where(InventorySource.id == source_id, InventorySource.workspace_id == workspace_id)
    source = session.scalar(query.with_for_update() if lock else query)
    if source is None:
        raise NotFoundError(f"Inventory source {source_id} does not exist in this workspace.")
    return source


def list_sources(session: Session, workspace_id: int) -> list[InventorySource]:
    query = select(InventorySource).where(InventorySource.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(InventorySource.id)))


def update_source(
    session: Session, box: SecretBox, workspace_id: int, source_id: int, data: SourceUpdate
) -> InventorySource:
    """Applies a PATCH. New credentials clear an Error (the next sync runs at once)."""
    source = get_source(session, workspace_id, source_id)
    sent = data.model_fields_set
    if data.name is not None:
        source.name = data.name.strip()
    if data.settings is not None or data.credentials is not None:
        _update_connection(source, box, data)
    if "frequency_seconds" in sent:
        _check_frequency(data.frequency_seconds)
        source.frequency_seconds = data.frequency_seconds
        source.next_sync_at = utcnow() if data.frequency_seconds is not None else None
    if data.mapping is not None:
        source.mapping = data.mapping.model_dump(mode="json")
        source.last_file = None  # new rules: the next read applies the file even if it is unchanged
    if data.update_mode is not None:
        if data.update_mode == "delta" and not source_spec(source.kind).supports_delta:
            raise ValidationFailed("This source type is always read whole.", resolution="Use 'full'.")
        source.update_mode = data.update_mode
    if data.missing_means_zero is not None:
        source.missing_means_zero = data.missing_means_zero
    if data.truncation_guard_percent is not None:
        source.truncation_guard_percent = data.truncation_guard_percent
    if data.paused is not None:
        _set_paused(source, data.paused)
    session.flush()
    return source


def _update_connection(source: InventorySource, box: SecretBox, data: SourceUpdate) -> None:
    spec = source_spec(source.kind)
    kept_upload = {k: source.settings[k] for k in UPLOAD_FIELDS if k in (source.settings or {})}
    settings = {**(source.settings or {}), **_without_upload(data.settings or {}), **kept_upload}
    credentials = {**box.decrypt(source.credentials_encrypted), **(data.credentials or {})}
    settings_model, credentials_model = _checked_models(spec, settings, credentials)
    source.settings = settings_model.model_dump(mode="json")
    source.credentials_encrypted = box.encrypt(_secret_dump(credentials_model))
    source.last_file = None  # new parameters: the next read applies the file even if it is unchanged
    if data.credentials is not None:
        _clear_error(source, "New credentials saved; waiting for the next sync.")


def _clear_error(source: InventorySource, message: str) -> None:
    source.status = SourceStatus.PENDING
    source.status_message = message
    source.resolution = None
    source.last_error_code = None
    source.retry_count = 0
    source.next_attempt_at = None
    source.next_sync_at = utcnow() if source.frequency_seconds is not None else None


def _set_paused(source: InventorySource, paused: bool) -> None:
    source.disabled = paused
    if paused:
        source.status_message = "Paused."
    elif source.status != SourceStatus.ERROR:
        _clear_error(source, "Waiting for the next sync.")


def delete_source(session: Session, workspace_id: int, source_id: int) -> None:
    """Removes the source with its runs, overrides, location mappings and levels (cascade)."""
    source = get_source(session, workspace_id, source_id)
    session.delete(source)


def decrypted_models(source: InventorySource, box: SecretBox, settings: Settings) -> tuple[Any, Any]:
    spec = source_spec(source.kind)
    values = dict(source.settings or {})
    if RUNTIME_FILES_ROOT in spec.settings_model.model_fields:
        values[RUNTIME_FILES_ROOT] = uploads_root(settings)
    return (
        spec.settings_model.model_validate(values),
        spec.credentials_model.model_validate(box.decrypt(source.credentials_encrypted)),
    )


def build_source_connector(source: InventorySource, box: SecretBox, settings: Settings) -> InventorySourceConnector:
    """The connector of one source, with its credentials decrypted (never logged, never returned)."""
    spec = source_spec(source.kind)
    connector: InventorySourceConnector = spec.build(*decrypted_models(source, box, settings))
    netguard.apply_policy(connector, settings.allow_private_source_urls)  # merchants' URLs: public only
    return connector


# --- runs ------------------------------------------------------------------------------------------------


def unfinished_source_run(session: Session, source_id: int, *, preview: bool) -> SourceRun | None:
    query = (
        select(SourceRun)
        .where(
            SourceRun.source_id == source_id,
            SourceRun.preview.is_(preview),
            SourceRun.status.in_(RunStatus.UNFINISHED),
        )
        .order_by(SourceRun.id)
        .limit(1)
    )
    return session.scalar(query)


def request_source_sync(
    session: Session,
    workspace_id: int,
    source_id: int,
    *,
    trigger: str = "manual",
    preview: bool = False,
    scheduled_for: datetime | None = None,
) -> tuple[SourceRun, bool]:
    """A queued run, or the source's unfinished one of the same kind (one sync and one preview at a time).

    Returns ``(run, created)``; the caller hands a created run to the engine after commit. "Sync now" on
    a retry waiting for its time pulls it forward.
    """
    source = get_source(session, workspace_id, source_id, lock=True)  # serializes two concurrent requests
    running = unfinished_source_run(session, source.id, preview=preview)
    if running is not None:
        if trigger == "manual" and running.status == RunStatus.QUEUED:
            running.scheduled_for = None
            running.trigger = "manual"  # a person asked: read the file even if it was applied before
        return running, False
    if trigger == "schedule" and source.last_attempt_at is None:
        trigger = "initial"  # the first read of a new source
    run = SourceRun(
        workspace_id=workspace_id,
        source_id=source.id,
        trigger="preview" if preview else trigger,
        preview=preview,
        status=RunStatus.QUEUED,
        scheduled_for=scheduled_for,
    )
    session.add(run)
    session.flush()
    return run, True


def accept_row_drop(session: Session, workspace_id: int, source_id: int) -> tuple[SourceRun, bool]:
    """The merchant confirms a much smaller file is right: forget the last row count, sync now."""
    source = get_source(session, workspace_id, source_id)
    source.last_row_count = None
    source.last_file = None
    return request_source_sync(session, workspace_id, source_id, trigger="manual")


def get_source_run(session: Session, workspace_id: int, run_id: int) -> SourceRun:
    run = session.scalar(select(SourceRun).where(SourceRun.id == run_id, SourceRun.workspace_id == workspace_id))
    if run is None:
        raise NotFoundError(f"Source run {run_id} does not exist in this workspace.")
    return run


def list_source_runs(session: Session, workspace_id: int, source_id: int, limit: int = 50) -> list[SourceRun]:
    get_source(session, workspace_id, source_id)
    query = select(SourceRun).where(SourceRun.workspace_id == workspace_id, SourceRun.source_id == source_id)
    return list(session.scalars(query.order_by(SourceRun.id.desc()).limit(limit)))


# --- read shapes -------------------------------------------------------------------------------------------


def source_public(source: InventorySource, now: datetime | None = None) -> SourcePublic:
    public = SourcePublic.model_validate(source)
    public.paused = source.disabled
    public.freshness = FreshnessPublic.model_validate(freshness(source, now or utcnow()))
    return public


def run_public(run: SourceRun, *, with_preview: bool = True) -> SourceRunPublic:
    public = SourceRunPublic.model_validate(run)
    if run.started_at is not None and run.finished_at is not None:
        public.duration_seconds = (run.finished_at - run.started_at).total_seconds()
    if not with_preview:
        public.preview_rows = None
    return public


def build_unsaved_connector(data: SourceCreate, settings: Settings) -> InventorySourceConnector:
    """A connector from a form not saved yet ("Test connection" before "Save"); validated the same way."""
    spec = source_spec(data.kind)
    values = _without_upload(data.settings)
    if RUNTIME_FILES_ROOT in spec.settings_model.model_fields:
        values[RUNTIME_FILES_ROOT] = uploads_root(settings)
    settings_model, credentials_model = _checked_models(spec, values, data.credentials)
    connector: InventorySourceConnector = spec.build(settings_model, credentials_model)
    netguard.apply_policy(connector, settings.allow_private_source_urls)  # merchants' URLs: public only
    return connector
