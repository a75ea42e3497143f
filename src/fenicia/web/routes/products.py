"""/products: every product with its stock per location and its available-to-sell on each channel, with the
rule that produced it; and one product's page with each source's numbers and the whole computation.

Read-only: products come from imports, the unmapped SKUs report ("Create product") and the API; rules
are the API's (docs/STOCK.md). The numbers are what :func:`fenicia.catalog.services.product_views`
returns, the same as ``GET /api/v1/products``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from fenicia.catalog.schemas import ListingStockPublic
from fenicia.catalog.services import get_product, list_locations, list_products, product_views
from fenicia.inventory.views import source_names
from fenicia.web.auth import PageUser
from fenicia.web.deps import DbDep
from fenicia.web.forms import page_number
from fenicia.web.render import page_context, render
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

MINUS = "\N{MINUS SIGN}"
PRODUCTS_PER_PAGE = 50
MAX_SEARCH_LENGTH = 200


def _scope_words(scope: str) -> str:
    if scope.startswith("listing:"):
        return "This listing's own rule"
    if scope.startswith("connection:"):
        return "The channel's rule"
    return "Default rule"


def rule_words(listing: ListingStockPublic, locations: Mapping[int, str]) -> str:
    """The rule that produced a listing's quantity, in words: whose rule, and what it holds back."""
    explanation = listing.explanation or {}
    if listing.ats_quantity is None or explanation.get("kind") == "untracked":
        reason = explanation.get("reason") or "no source reports this product's stock"
        return f"Not tracked: {reason}; nothing is sent"
    rule = explanation.get("rule") or {}
    parts = []
    if rule.get("buffer_percent"):
        parts.append(f"holds back {rule['buffer_percent']} %")
    if rule.get("buffer_fixed"):
        units = rule["buffer_fixed"]
        parts.append(f"holds back {units} unit{'s' if units != 1 else ''}")
    if rule.get("floor") is not None:
        parts.append(f"0 at or below {rule['floor']}")
    if rule.get("max_quantity") is not None:
        parts.append(f"at most {rule['max_quantity']}")
    ids = rule.get("location_ids")
    parts.append("every location" if ids is None else "from " + ", ".join(locations.get(i, f"#{i}") for i in ids))
    if not (rule.get("buffer_percent") or rule.get("buffer_fixed")):
        parts.insert(0, "nothing held back")
    return f"{_scope_words(str(listing.rule_scope or rule.get('scope') or 'default'))}: {', '.join(parts)}"


def computation_words(listing: ListingStockPublic) -> list[str]:
    """Each step of the formula for one listing (docs/STOCK.md), as short lines."""
    e = listing.explanation or {}
    if listing.ats_quantity is None or e.get("kind") == "untracked":
        return []
    lines = []
    if e.get("kind") == "bundle":
        lines.append(f"{e.get('before_buffer', 0)} kits can be assembled from the components, location by location")
    else:
        lines.append(f"{e.get('on_sources', 0)} in stock at the sources feeding this channel")
        if e.get("orders_not_in_snapshot"):
            lines.append(f"{MINUS} {e['orders_not_in_snapshot']} ordered since the sources' snapshot (not yet in it)")
    if e.get("buffer_percent_units"):
        lines.append(f"{MINUS} {e['buffer_percent_units']} held back by the percentage buffer")
    if e.get("buffer_fixed_units"):
        lines.append(f"{MINUS} {e['buffer_fixed_units']} held back by the fixed buffer")
    if e.get("clamped_at_zero"):
        lines.append("below zero, so 0")
    if e.get("floor_applied"):
        lines.append("at or below the floor, so 0")
    if e.get("max_applied"):
        lines.append("capped by the maximum")
    lines.append(f"= {listing.ats_quantity} available to sell")
    return lines


def _query(q: str, page: int) -> str:
    values = {"q": q} if q else {}
    if page > 1:
        values["page"] = str(page)
    return urlencode(values)


@router.get("/products")
def products(request: Request, user: PageUser, db: DbDep, q: str = "", page: str = "1") -> Response:
    search = q.strip()[:MAX_SEARCH_LENGTH]
    number = page_number(page)
    with db.read_session() as session:
        found, total = list_products(
            session, user.workspace_id, search or None, PRODUCTS_PER_PAGE, (number - 1) * PRODUCTS_PER_PAGE
        )
        locations = {loc.id: loc.code for loc in list_locations(session, user.workspace_id)}
        context = page_context(
            session,
            user,
            request,
            products=product_views(session, user.workspace_id, found),
            total=total,
            q=search,
            page=number,
            pages=max(1, -(-total // PRODUCTS_PER_PAGE)),
            query=_query,
            rule_words=lambda listing: rule_words(listing, locations),
        )
    return render(request, "products.html", context)


@router.get("/products/{product_id}")
def product(request: Request, product_id: int, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        view = product_views(session, user.workspace_id, [get_product(session, user.workspace_id, product_id)])[0]
        locations = {loc.id: loc.code for loc in list_locations(session, user.workspace_id)}
        context: dict[str, Any] = page_context(
            session,
            user,
            request,
            product=view,
            sources=source_names(session, user.workspace_id),
            rule_words=lambda listing: rule_words(listing, locations),
            computation=computation_words,
        )
    return render(request, "product.html", context)
