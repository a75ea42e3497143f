"""The mapping step of "Add source" (and the same form for a saved source): normalization rules, explicit
overrides (source code → product SKU), location → warehouse mapping, and how a full read treats missing
rows. Saved in one transaction: an unknown SKU or location code changes nothing. In set-up, saving queues
the preview (step 4, :mod:`fenicia.web.routes.inventory_setup`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from fenicia.accounts.sessions import SignedIn
from fenicia.catalog.services import find_by_sku
from fenicia.connectors.source_registry import source_spec
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import FeniciaError, NotFoundError, ValidationFailed
from fenicia.db.engine import Database
from fenicia.inventory import services
from fenicia.inventory.mapping import MappingRules
from fenicia.inventory.models import InventorySource
from fenicia.inventory.schemas import SourceUpdate
from fenicia.inventory.views import (
    current_links,
    in_setup,
    location_ids_by_code,
    replace_location_mappings,
    replace_overrides,
)
from fenicia.web.auth import FormUser, PageUser
from fenicia.web.deps import BoxDep, DbDep, DispatcherDep, dispatch
from fenicia.web.forms import FormError
from fenicia.web.render import page_context, render
from fenicia.web.routes.inventory import BASE
from fenicia.web.routes.inventory_setup import STEPS, queue_preview
from fenicia.web.routing import WebRoute
from fenicia.web.sources_form import MappingForm, choice_of, format_pairs, read_mapping

router = APIRouter(route_class=WebRoute)


def _shown(
    session: Session, workspace_id: int, source: InventorySource, typed: dict[str, Any] | None
) -> dict[str, Any]:
    """The form's values: the stored ones, or what was typed when the form was refused."""
    links = current_links(session, workspace_id, source.id)
    shown = {
        **MappingRules.model_validate(source.mapping or {}).model_dump(),
        "overrides": format_pairs(links.overrides),
        "locations": format_pairs(links.locations),
        "update_mode": source.update_mode,
        "missing_means_zero": source.missing_means_zero,
        "truncation_guard_percent": source.truncation_guard_percent,
    }
    if typed is not None:
        shown.update({k: v for k, v in typed.items() if k != "csrf_token"})
        for box_name in ("trim", "create_locations", "missing_means_zero"):
            shown[box_name] = typed.get(box_name) == "true"
    return shown


def _mapping_page(
    request: Request,
    user: SignedIn,
    db: Database,
    source_id: int,
    *,
    values: dict[str, Any] | None = None,
    error: FormError | None = None,
    status: int = 200,
) -> Response:
    with db.read_session() as session:
        source = services.get_source(session, user.workspace_id, source_id)
        shown = _shown(session, user.workspace_id, source, values)
        context = page_context(
            session,
            user,
            request,
            source=source,
            pick=choice_of(source),
            setup=in_setup(source),
            supports_delta=source_spec(source.kind).supports_delta,
            shown=shown,
            location_codes=sorted(location_ids_by_code(session, user.workspace_id)),
            error=error,
            steps=STEPS,
            step=3,
        )
    return render(request, "inventory_source_mapping.html", context, status=status)


@router.get(BASE + "/{source_id}/setup/mapping")
def setup_mapping(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    return _mapping_page(request, user, db, source_id)


@router.get(BASE + "/{source_id}/mapping")
def mapping(request: Request, source_id: int, user: PageUser, db: DbDep) -> Response:
    return _mapping_page(request, user, db, source_id)


def _save_mapping(db: Database, box: SecretBox, workspace_id: int, source_id: int, wanted: MappingForm) -> set[int]:
    """Rules, overrides and location mappings in one transaction: any unknown SKU or code changes nothing."""
    with db.session() as session:
        services.get_source(session, workspace_id, source_id)
        products = find_by_sku(session, workspace_id, list(wanted.overrides.values()))
        for code, sku in wanted.overrides.items():
            if sku not in products:
                raise ValidationFailed(
                    f"No product has the SKU '{sku}' (the override of '{code}'); nothing was saved.",
                    resolution="Create the product first (Create product in the unmapped report), or correct the SKU.",
                )
        locations = _location_ids(location_ids_by_code(session, workspace_id), wanted.locations)
        update = SourceUpdate(
            mapping=wanted.rules,
            update_mode=wanted.update_mode,
            missing_means_zero=wanted.missing_means_zero,
            truncation_guard_percent=wanted.guard_percent,
        )
        services.update_source(session, box, workspace_id, source_id, update)
        pushed = replace_overrides(
            session, workspace_id, source_id, {c: products[s].id for c, s in wanted.overrides.items()}
        )
        replace_location_mappings(session, workspace_id, source_id, locations)
        return pushed


def _location_ids(known: dict[str, int], wanted: dict[str, str]) -> dict[str, int]:
    folded = {code.lower(): location_id for code, location_id in known.items()}
    out: dict[str, int] = {}
    for key, code in wanted.items():
        location_id = known.get(code, folded.get(code.lower()))
        if location_id is None:
            listed = ", ".join(sorted(known)) or "none yet"
            raise ValidationFailed(
                f"No location has the code '{code}' (the mapping of '{key or 'no location'}'); nothing was saved. "
                f"Locations: {listed}.",
                resolution="Use one of those codes, or remove the line: with 'Create unknown locations' on, the "
                "first sync creates a location for a key it has not seen.",
            )
        out[key] = location_id
    return out


async def _mapping_post(request: Request, source_id: int, user: SignedIn, db: Database, box: SecretBox) -> Any:
    values = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def save() -> set[int]:
        with db.read_session() as session:
            source = services.get_source(session, user.workspace_id, source_id)
            supports_delta = source_spec(source.kind).supports_delta
        return _save_mapping(db, box, user.workspace_id, source_id, read_mapping(values, supports_delta))

    try:
        return await run_in_threadpool(save)
    except FeniciaError as exc:
        if isinstance(exc, NotFoundError):
            raise
        error = FormError.of("mapping", exc)
        status = exc.http_status
        return await run_in_threadpool(
            lambda: _mapping_page(request, user, db, source_id, values=values, error=error, status=status)
        )


def _kick(dispatcher: Any, connections: set[int]) -> None:
    for connection_id in sorted(connections):
        dispatch(dispatcher.push_stock, connection_id)


@router.post(BASE + "/{source_id}/setup/mapping")
async def save_setup_mapping(
    request: Request, source_id: int, user: FormUser, db: DbDep, box: BoxDep, dispatcher: DispatcherDep
) -> Response:
    """Saves the mapping and queues a preview with it (step 4)."""
    outcome = await _mapping_post(request, source_id, user, db, box)
    if isinstance(outcome, Response):
        return outcome
    _kick(dispatcher, outcome)
    await run_in_threadpool(queue_preview, db, dispatcher, user.workspace_id, source_id)
    return RedirectResponse(f"{BASE}/{source_id}/setup/preview", status_code=303)


@router.post(BASE + "/{source_id}/mapping")
async def save_mapping(
    request: Request, source_id: int, user: FormUser, db: DbDep, box: BoxDep, dispatcher: DispatcherDep
) -> Response:
    outcome = await _mapping_post(request, source_id, user, db, box)
    if isinstance(outcome, Response):
        return outcome
    _kick(dispatcher, outcome)
    return RedirectResponse(f"{BASE}/{source_id}?done=mapping", status_code=303)
