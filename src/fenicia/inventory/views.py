"""Read shapes and small use-cases the dashboard needs on top of :mod:`fenicia.inventory.services`.

Everything takes the workspace explicitly; another workspace's ids answer NotFoundError (through
``get_source``). Writes run in the caller's transaction and return the channel connections whose stock
pushes the caller kicks after commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fenicia.catalog.models import Location, Product
from fenicia.channels.models import RunStatus
from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.source_registry import source_spec
from fenicia.core import netguard
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ConfigError, ValidationFailed
from fenicia.core.settings import Settings
from fenicia.inventory import overrides as links
from fenicia.inventory.models import (
    InventorySource,
    LocationMapping,
    SkuOverride,
    SourceRun,
    SourceStatus,
    StockLevel,
    UnmappedSku,
)
from fenicia.inventory.services import (
    RUNTIME_FILES_ROOT,
    UPLOAD_FIELDS,
    get_source,
    list_sources,
    uploads_root,
)

NEEDS_ATTENTION = (SourceStatus.ERROR, SourceStatus.PENDING)
SETUP_MESSAGE_SUFFIX = "Paused until the set-up is finished (preview, then save)."


def sources_stamp(session: Session, workspace_id: int) -> str:
    """A fingerprint that changes when any source, or the workspace's newest source run, is written.

    One round trip of index-backed scalar subqueries, cheap enough for every live stream's tick.
    """
    ws = workspace_id
    count = select(func.count(InventorySource.id)).where(InventorySource.workspace_id == ws)
    written = select(func.max(InventorySource.updated_at)).where(InventorySource.workspace_id == ws)
    newest = select(SourceRun.id).where(SourceRun.workspace_id == ws).order_by(SourceRun.id.desc()).limit(1)
    newest_written = (
        select(SourceRun.updated_at).where(SourceRun.workspace_id == ws).order_by(SourceRun.id.desc()).limit(1)
    )
    row = session.execute(
        select(
            count.scalar_subquery(),
            written.scalar_subquery(),
            newest.scalar_subquery(),
            newest_written.scalar_subquery(),
        )
    ).one()
    return hashlib.sha256(repr(tuple(row)).encode()).hexdigest()[:16]


def in_setup(source: InventorySource) -> bool:
    """Created by the "Add source" flow and never synced: paused until the merchant saves it."""
    return source.disabled and source.last_attempt_at is None


def needing_attention(session: Session, workspace_id: int) -> list[InventorySource]:
    """Sources in Error or Pending (a retry or a rate limit waiting); paused ones are the merchant's choice."""
    return [s for s in list_sources(session, workspace_id) if s.status in NEEDS_ATTENTION and not s.disabled]


def note_tested(session: Session, workspace_id: int, source_id: int, answer: str) -> None:
    """Keeps what "Test connection" found on a source being set up, so the next steps can show it."""
    source = get_source(session, workspace_id, source_id)
    source.status_message = f"Connection test passed: {answer} {SETUP_MESSAGE_SUFFIX}"


def latest_preview(session: Session, workspace_id: int, source_id: int) -> SourceRun | None:
    query = select(SourceRun).where(
        SourceRun.workspace_id == workspace_id, SourceRun.source_id == source_id, SourceRun.preview.is_(True)
    )
    return session.scalar(query.order_by(SourceRun.id.desc()).limit(1))


def unfinished_sync(runs: list[SourceRun]) -> SourceRun | None:
    """Of a source's newest runs, the sync (not preview) still queued or running, if any."""
    return next((r for r in runs if not r.preview and r.status in RunStatus.UNFINISHED), None)


def level_count(session: Session, workspace_id: int, source_id: int) -> int:
    query = select(func.count(StockLevel.id)).where(
        StockLevel.workspace_id == workspace_id, StockLevel.source_id == source_id
    )
    return session.scalar(query) or 0


def open_unmapped_count(session: Session, workspace_id: int, scope: str | None = None) -> int:
    """Open rows of the unmapped SKUs report (sources' codes and order lines' SKUs), or of one scope."""
    query = select(func.count(UnmappedSku.id)).where(
        UnmappedSku.workspace_id == workspace_id, UnmappedSku.resolved_at.is_(None)
    )
    if scope is not None:
        query = query.where(UnmappedSku.scope == scope)
    return session.scalar(query) or 0


def source_names(session: Session, workspace_id: int) -> dict[int, str]:
    query = select(InventorySource.id, InventorySource.name).where(InventorySource.workspace_id == workspace_id)
    return {source_id: name for source_id, name in session.execute(query)}


@dataclass(frozen=True)
class LinkSet:
    """A source's explicit links as the mapping form shows them: code → product SKU, key → location code."""

    overrides: dict[str, str]
    locations: dict[str, str]


def current_links(session: Session, workspace_id: int, source_id: int) -> LinkSet:
    overrides = session.execute(
        select(SkuOverride.external_code, Product.sku)
        .join(Product, Product.id == SkuOverride.product_id)
        .where(SkuOverride.workspace_id == workspace_id, SkuOverride.source_id == source_id)
        .order_by(SkuOverride.external_code)
    )
    locations = session.execute(
        select(LocationMapping.external_location, Location.code)
        .join(Location, Location.id == LocationMapping.location_id)
        .where(LocationMapping.workspace_id == workspace_id, LocationMapping.source_id == source_id)
        .order_by(LocationMapping.external_location)
    )
    return LinkSet({code: sku for code, sku in overrides}, {key: code for key, code in locations})


def replace_overrides(session: Session, workspace_id: int, source_id: int, wanted: Mapping[str, int]) -> set[int]:
    """Makes the source's overrides exactly ``wanted`` (code → product id); returns connections to push."""
    pushed: set[int] = set()
    for row in links.list_overrides(session, workspace_id, source_id):
        if row.external_code not in wanted:
            links.delete_override(session, workspace_id, source_id, row.id)
    session.flush()
    for code, product_id in wanted.items():
        _, queued = links.set_override(session, workspace_id, source_id, code, product_id)
        pushed |= queued
    return pushed


def replace_location_mappings(session: Session, workspace_id: int, source_id: int, wanted: Mapping[str, int]) -> None:
    """Makes the source's location mappings exactly ``wanted`` (source key → location id)."""
    for row in links.list_location_mappings(session, workspace_id, source_id):
        if row.external_location not in wanted:
            links.delete_location_mapping(session, workspace_id, source_id, row.id)
    session.flush()
    for key, location_id in wanted.items():
        links.set_location_mapping(session, workspace_id, source_id, key, location_id)


def location_ids_by_code(session: Session, workspace_id: int) -> dict[str, int]:
    query = select(Location.code, Location.id).where(Location.workspace_id == workspace_id)
    return {code: location_id for code, location_id in session.execute(query)}


def changed_connector(
    source: InventorySource,
    box: SecretBox,
    app_settings: Settings,
    settings: Mapping[str, Any],
    credentials: Mapping[str, Any],
) -> InventorySourceConnector:
    """A connector of the source as it would be with these settings and credentials merged in (the way
    ``update_source`` merges them), to test a change before saving it. Nothing is stored."""
    spec = source_spec(source.kind)
    stored = dict(source.settings or {})
    values = {**stored, **settings, **{k: stored[k] for k in UPLOAD_FIELDS if k in stored}}
    values.pop(RUNTIME_FILES_ROOT, None)
    if RUNTIME_FILES_ROOT in spec.settings_model.model_fields:
        values[RUNTIME_FILES_ROOT] = uploads_root(app_settings)
    secrets = {**box.decrypt(source.credentials_encrypted), **credentials}
    try:
        connector: InventorySourceConnector = spec.build(
            spec.settings_model.model_validate(values), spec.credentials_model.model_validate(secrets)
        )
    except PydanticValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(f"Check the form: {problems}.") from exc
    except ConfigError as exc:
        raise ValidationFailed(exc.message, resolution=exc.resolution) from exc
    netguard.apply_policy(connector, app_settings.allow_private_source_urls)
    return connector
