"""Walmart's per-API rate limits: which API a request belongs to, default allowances, usage headers.

Walmart limits every API separately with a token bucket that refills gradually (reference §4.6, [C]);
the per-API numbers for the US Marketplace are not published in our sources, so the defaults below
are assumptions [U] and settings of both the connector and the simulator. The usage headers
``x-current-token-count`` / ``x-next-replenishment-time`` are documented for other Walmart platforms
([C]); whether the Marketplace sends them is [U], so the connector uses them when present and its own
buckets otherwise. Shared by the client (pacing) and the simulator (enforcing), so both agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

TOKEN_COUNT_HEADER = "x-current-token-count"
REPLENISHMENT_HEADER = "x-next-replenishment-time"

_ORDER = re.compile(r"^/v3/orders/[^/]+$")
_ORDER_ACTION = re.compile(r"^/v3/orders/[^/]+/(acknowledge|shipping|cancel|refund)$")
_FEED = re.compile(r"^/v3/feeds/[^/]+$")


@dataclass(frozen=True)
class Allowance:
    """A token bucket: ``rate_per_s`` calls added continuously up to ``burst``."""

    rate_per_s: float
    burst: int


# [U] per-API allowances. Feeds: 10 per hour is Walmart's documented bulk-inventory limit for Chile
# ([C-CL]); the US value is unknown. The rest are conservative guesses, meant to be overridden.
DEFAULT_ALLOWANCES: dict[str, Allowance] = {
    "token": Allowance(1.0, 20),
    "token_detail": Allowance(1.0, 10),
    "orders_list": Allowance(10.0, 20),
    "order_get": Allowance(10.0, 20),
    "order_acknowledge": Allowance(10.0, 20),
    "order_shipping": Allowance(10.0, 20),
    "order_cancel": Allowance(10.0, 20),
    "order_refund": Allowance(10.0, 20),
    "inventory_get": Allowance(5.0, 10),
    "inventory_update": Allowance(5.0, 10),
    "feed_submit": Allowance(10 / 3600, 10),
    "feed_status": Allowance(2.0, 10),
    "items_list": Allowance(5.0, 10),
}
OTHER = "other"


def api_of(method: str, path: str) -> str:
    """The rate-limited API a request belongs to, from its method and path below the host."""
    verb = method.upper()
    path = path.split("?", 1)[0].rstrip("/")
    if path == "/v3/token":
        return "token"
    if path == "/v3/token/detail":
        return "token_detail"
    if path in ("/v3/orders", "/v3/orders/released"):
        return "orders_list"
    action = _ORDER_ACTION.match(path)
    if action:
        return f"order_{action.group(1)}"
    if _ORDER.match(path):
        return "order_get"
    if path == "/v3/inventory":
        return "inventory_update" if verb == "PUT" else "inventory_get"
    if path == "/v3/feeds" and verb == "POST":
        return "feed_submit"
    if path == "/v3/feeds" or _FEED.match(path):
        return "feed_status"
    if path == "/v3/items":
        return "items_list"
    return OTHER


def parse_token_count(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def parse_replenishment(value: str | None) -> float | None:
    """``x-next-replenishment-time`` as epoch seconds. [U] format: epoch ms, epoch s or ISO 8601."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return number / 1000.0 if number > 1e11 else number
