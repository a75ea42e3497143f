"""/integrations/inventory-sources/unmapped: every code that matched no product — from sources' rows and
from order lines — and its two resolutions, "Create product" and "Map to existing product".

A source's own codes also show on its monitoring panel; the forms there and here post to the same
routes and come back to the page they were sent from (``back``: "report" or the source's id). Either
resolution applies the code's last quantity at once (see :mod:`fenicia.inventory.unmapped`) and kicks
the stock pushes it queued after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from fenicia.accounts.sessions import SignedIn
from fenicia.catalog.services import find_by_sku
from fenicia.channels.services import list_connections
from fenicia.core.errors import FeniciaError, NotFoundError, ValidationFailed
from fenicia.db.engine import Database
from fenicia.inventory import services
from fenicia.inventory.mapping import MappingRules, normalize
from fenicia.inventory.models import UnmappedSku
from fenicia.inventory.unmapped import list_unmapped, resolve_by_mapping, resolve_by_new_product
from fenicia.inventory.views import open_unmapped_count
from fenicia.web.auth import FormUser, PageUser
from fenicia.web.deps import DbDep, DispatcherDep, dispatch
from fenicia.web.forms import FormError
from fenicia.web.render import page_context, render
from fenicia.web.routes.inventory import BASE, done_message, source_page_response
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

REPORT = f"{BASE}/unmapped"
ROWS_SHOWN = 200
SKU_MAX = 200
NAME_MAX = 500


@dataclass(frozen=True)
class UnmappedLine:
    """One report row as the page shows it: where the code came from, and the SKU "Create product" offers."""

    row: UnmappedSku
    origin: str
    origin_link: str
    suggested_sku: str
    quantities: str


def _quantities(row: UnmappedSku) -> str:
    if row.quantities and len(row.quantities) > 1:
        return ", ".join(f"{key or 'no location'}: {value}" for key, value in sorted(row.quantities.items()))
    return "—" if row.last_quantity is None else str(row.last_quantity)


def unmapped_lines(session: Session, workspace_id: int, rows: list[UnmappedSku]) -> list[UnmappedLine]:
    sources = {s.id: s for s in services.list_sources(session, workspace_id)}
    connections = {c.id: c.name for c in list_connections(session, workspace_id)}
    lines = []
    for row in rows:
        source = sources.get(row.source_id) if row.source_id is not None else None
        if source is not None:
            rules = MappingRules.model_validate(source.mapping or {})
            sku = row.code.strip() if rules.match_on == "barcode" else normalize(row.code, rules)
            origin, link = f"Stock source {source.name}", f"{BASE}/{source.id}"
        else:
            sku = row.code.strip()
            name = connections.get(row.connection_id or 0, "a channel")
            origin, link = f"Order lines from {name}", f"/orders?connection_id={row.connection_id or ''}"
        lines.append(UnmappedLine(row, origin, link, sku, _quantities(row)))
    return lines


def report_response(
    request: Request, user: SignedIn, db: Database, *, error: FormError | None = None, status: int = 200
) -> Response:
    with db.read_session() as session:
        rows = list_unmapped(session, user.workspace_id, limit=ROWS_SHOWN)
        total = open_unmapped_count(session, user.workspace_id) if len(rows) == ROWS_SHOWN else len(rows)
        context = page_context(
            session,
            user,
            request,
            unmapped=unmapped_lines(session, user.workspace_id, rows),
            unmapped_total=total,
            back="report",
            error=error,
            done=done_message(request),
        )
    return render(request, "inventory_unmapped.html", context, status=status)


@router.get(REPORT)
def report(request: Request, user: PageUser, db: DbDep) -> Response:
    return report_response(request, user, db)


def _back_to(back: str) -> str:
    return f"{BASE}/{back}" if back.isdigit() else REPORT


def _failed(request: Request, user: SignedIn, db: Database, back: str, form: str, exc: FeniciaError) -> Response:
    """The page the form came from, with the error beside the row."""
    if isinstance(exc, NotFoundError):
        raise exc  # another workspace's row, or a source that is gone: the error page
    error = FormError.of(form, exc)
    if back.isdigit():
        return source_page_response(request, user, db, int(back), error=error, status=exc.http_status)
    return report_response(request, user, db, error=error, status=exc.http_status)


def _kick(dispatcher: Any, connections: set[int]) -> None:
    for connection_id in sorted(connections):
        dispatch(dispatcher.push_stock, connection_id)


def _map(db: Database, workspace_id: int, unmapped_id: int, product_sku: str) -> set[int]:
    sku = product_sku.strip()
    if not sku:
        raise ValidationFailed(
            "Type the SKU of the product this code is.", resolution="Find the SKU on the Products page, then map again."
        )
    with db.session() as session:
        product = find_by_sku(session, workspace_id, [sku]).get(sku)
        if product is None:
            raise ValidationFailed(
                f"No product has the SKU '{sku}'; nothing was mapped.",
                resolution="Type the SKU exactly as the Products page shows it, or use Create product instead.",
            )
        return resolve_by_mapping(session, workspace_id, unmapped_id, product.id)


@router.post(REPORT + "/{unmapped_id}/map")
def map_to_product(
    request: Request,
    unmapped_id: int,
    user: FormUser,
    db: DbDep,
    dispatcher: DispatcherDep,
    product_sku: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "report",
) -> Response:
    """ "Map to existing product": the code counts as that product from now on; its last quantity applies."""
    try:
        pushed = _map(db, user.workspace_id, unmapped_id, product_sku)
    except FeniciaError as exc:
        return _failed(request, user, db, back, f"unmapped-{unmapped_id}-map", exc)
    _kick(dispatcher, pushed)
    return RedirectResponse(f"{_back_to(back)}?done=mapped", status_code=303)


def _create(db: Database, workspace_id: int, unmapped_id: int, sku: str, name: str) -> set[int]:
    if len(sku.strip()) > SKU_MAX or len(name.strip()) > NAME_MAX:
        raise ValidationFailed(
            f"A SKU has at most {SKU_MAX} characters and a name at most {NAME_MAX}; nothing was created.",
            resolution="Shorten them, then create the product again.",
        )
    with db.session() as session:
        _, pushed = resolve_by_new_product(
            session, workspace_id, unmapped_id, sku=sku.strip() or None, name=name.strip() or None
        )
        return pushed


@router.post(REPORT + "/{unmapped_id}/create-product")
def create_product(
    request: Request,
    unmapped_id: int,
    user: FormUser,
    db: DbDep,
    dispatcher: DispatcherDep,
    sku: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "report",
) -> Response:
    """ "Create product" from the code (its SKU by the source's rules unless typed), then apply it."""
    try:
        pushed = _create(db, user.workspace_id, unmapped_id, sku, name)
    except FeniciaError as exc:
        return _failed(request, user, db, back, f"unmapped-{unmapped_id}-create", exc)
    _kick(dispatcher, pushed)
    return RedirectResponse(f"{_back_to(back)}?done=created", status_code=303)
