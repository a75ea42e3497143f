"""Write-backs on TikTok Shop packages: mark shipped, update tracking, seller cancel (§5.4).

Shipping, seller-shipped orders (``shipping_type`` SELLER):

* the chosen units are exactly one existing, unshipped package → ``POST /fulfillment/202309/packages/
  {package_id}/ship`` with ``self_shipment {tracking_number, shipping_provider_id}``;
* otherwise (part of a package, several packages, or no package yet as for US/UK local sellers) →
  ``POST /fulfillment/202309/orders/{order_id}/packages`` with the unit ids ("Mark Package As Shipped").

Platform-shipped orders (``TIKTOK``) ship their package with the handover method only; the carrier's
tracking comes from TikTok, so tracking cannot be written for them.

Never twice: before shipping we re-read the order; units already carrying our tracking number (or, for
a platform order, nothing left to ship but a shipped package) mean an earlier attempt got through, and
that package is adopted instead of shipping again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fenicia.connectors.base import ShipRequest
from fenicia.connectors.tiktok.client import JSON
from fenicia.connectors.tiktok.orders import UnitGroup, order_units, unit_groups, unit_state
from fenicia.connectors.tiktok.settings import TikTokSettings
from fenicia.core.errors import ConflictError, ValidationFailed

NOT_SHIPPABLE_STATUSES = {
    "UNPAID": "is not paid yet",
    "ON_HOLD": "is on hold (the buyer may still cancel it freely)",
    "CANCELLED": "is cancelled",
}
CANCELLABLE_STATUSES = frozenset({"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"})
# Our reason words → TikTok seller reason codes [S] (codes per order state; MX lacks "wrong price").
PAID_REASONS = {
    "customer": "seller_cancel_paid_reason_buyer_requested_cancellation",
    "inventory": "seller_cancel_reason_out_of_stock",
    "out_of_stock": "seller_cancel_reason_out_of_stock",
    "address": "seller_cancel_paid_reason_address_not_deliver",
    "undeliverable": "seller_cancel_paid_reason_address_not_deliver",
    "price": "seller_cancel_reason_wrong_price",
}
UNPAID_REASONS = {
    "customer": "seller_cancel_unpaid_reason_buyer_requested_cancellation",
    "inventory": "seller_cancel_unpaid_reason_out_of_stock",
    "out_of_stock": "seller_cancel_unpaid_reason_out_of_stock",
    "unpaid": "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed",
    "price": "seller_cancel_unpaid_reason_wrong_price",
}
NAME_NOISE = re.compile(r"[^a-z0-9]+")


@dataclass
class ShipPlan:
    """What to send: ship one whole package, or mark these units shipped as a new package."""

    unit_ids: list[str]
    package_id: str | None  # set: the units are exactly this unshipped package


def find_earlier_shipment(raw: Mapping[str, Any], request: ShipRequest) -> str | None:
    """The package of an earlier attempt of this request, if it got through."""
    units = order_units(raw)
    if request.tracking_number:
        for unit in units:
            same = unit.get("tracking_number") == request.tracking_number
            if same and unit.get("package_id") and unit_state(unit) == "shipped":
                return str(unit["package_id"])
        return None
    if request.lines is None and not any(unit_state(u) == "open" for u in units):
        return latest_shipped_package(raw)
    return None


def refuse_unshippable(raw: Mapping[str, Any]) -> None:
    status = str(raw.get("status"))
    if status in NOT_SHIPPABLE_STATUSES:
        raise ConflictError(f"TikTok Shop order {raw.get('id')} {NOT_SHIPPABLE_STATUSES[status]}; it cannot be shipped")


def plan_shipment(raw: Mapping[str, Any], lines: dict[str, int] | None) -> ShipPlan:
    """The units to ship (every open unit, or the requested count per line) and how to send them."""
    groups = {group.external_id: group for group in unit_groups(order_units(raw))}
    chosen: list[str] = []
    if lines is None:
        for group in groups.values():
            chosen.extend(group.open_unit_ids())
    else:
        for line_id, quantity in lines.items():
            chosen.extend(_take(groups, line_id, quantity))
    if not chosen:
        raise ConflictError(f"Nothing is left to ship on TikTok Shop order {raw.get('id')}")
    return ShipPlan(chosen, _whole_package(order_units(raw), chosen))


def _take(groups: dict[str, UnitGroup], line_id: str, quantity: int) -> list[str]:
    if quantity < 0:
        raise ValidationFailed(f"Quantity to ship for line {line_id} cannot be negative")
    group = groups.get(line_id)
    if group is None:
        raise ValidationFailed(f"TikTok Shop order has no line {line_id}")
    open_ids = group.open_unit_ids()
    if quantity > len(open_ids):
        raise ConflictError(f"Line {line_id} has {len(open_ids)} unit(s) left to ship on TikTok Shop, not {quantity}")
    return open_ids[:quantity]


def _whole_package(units: list[JSON], chosen: list[str]) -> str | None:
    """The package id when the chosen units are exactly the open units of one package."""
    packages = {str(u.get("package_id") or "") for u in units if str(u["id"]) in chosen}
    if len(packages) != 1 or "" in packages:
        return None
    package_id = packages.pop()
    members = {str(u["id"]) for u in units if str(u.get("package_id") or "") == package_id and unit_state(u) == "open"}
    return package_id if members == set(chosen) else None


def self_shipment_body(tracking_number: str, provider_id: str) -> JSON:
    return {"self_shipment": {"tracking_number": tracking_number, "shipping_provider_id": provider_id}}


def mark_shipped_body(plan: ShipPlan, tracking_number: str, provider_id: str) -> JSON:
    return {
        "tracking_number": tracking_number,
        "shipping_provider_id": provider_id,
        "order_line_item_ids": plan.unit_ids,
    }


def latest_shipped_package(raw: Mapping[str, Any]) -> str | None:
    """The shipped package with the newest shipping time (``rts_time``), then the highest id."""
    shipped = [u for u in order_units(raw) if u.get("package_id") and unit_state(u) == "shipped"]
    if not shipped:
        return None
    best = max(shipped, key=lambda u: (_int(u.get("rts_time")), len(str(u["package_id"])), str(u["package_id"])))
    return str(best["package_id"])


def package_provider(raw: Mapping[str, Any], package_id: str) -> str | None:
    """The shipping provider id the package's units carry now."""
    for unit in order_units(raw):
        if str(unit.get("package_id") or "") == package_id and unit.get("shipping_provider_id"):
            return str(unit["shipping_provider_id"])
    return None


def shipped_package_ids(raw: Mapping[str, Any]) -> set[str]:
    return {str(u["package_id"]) for u in order_units(raw) if u.get("package_id") and unit_state(u) == "shipped"}


def cancel_reason_code(reason: str | None, order_status: str, settings: TikTokSettings) -> str:
    """A TikTok seller reason code: passed through when it already is one, else mapped from our words."""
    text = (reason or "").strip()
    if text.startswith("seller_cancel"):
        return text
    word = NAME_NOISE.sub("_", text.lower()).strip("_")
    if order_status == "UNPAID":
        return UNPAID_REASONS.get(word, settings.cancel_reason_unpaid)
    return PAID_REASONS.get(word, settings.cancel_reason_paid)


def refuse_uncancellable(raw: Mapping[str, Any]) -> None:
    status = str(raw.get("status"))
    if status not in CANCELLABLE_STATUSES:
        raise ConflictError(
            f"TikTok Shop order {raw.get('id')} is {status}; a seller can only cancel it before it ships",
            resolution="Handle it as a return or refund in TikTok Shop Seller Center.",
        )


def match_provider(providers: list[Any], carrier: str) -> str | None:
    """The provider id whose name matches ``carrier`` (ignoring case and punctuation), exact then partial."""
    wanted = _plain(carrier)
    named = [(str(p.get("id")), _plain(str(p.get("name") or ""))) for p in providers if isinstance(p, dict)]
    for provider_id, name in named:
        if name == wanted:
            return provider_id
    for provider_id, name in named:
        if wanted and name and (wanted in name or name in wanted):
            return provider_id
    return None


def configured_provider(settings: TikTokSettings, carrier: str | None) -> str | None:
    if carrier is None:
        return settings.default_shipping_provider_id
    wanted = _plain(carrier)
    for name, provider_id in settings.carrier_provider_ids.items():
        if _plain(name) == wanted:
            return provider_id
    return None


def _plain(text: str) -> str:
    return NAME_NOISE.sub("", text.lower())


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
