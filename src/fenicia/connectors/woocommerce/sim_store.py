"""The WooCommerce simulator's catalogue: products and variations, and the REST list semantics.

Lists take ``per_page`` (default 10, 1-100), ``page`` (1-based), ``offset``, ``orderby``
(``id|date|modified|title``), ``order``, ``type``, ``sku``, ``modified_after`` (site time unless
``dates_are_gmt=true``) and ``_fields``. Dates are kept in GMT; ``date_modified`` is rendered in the
site's time zone, ``date_modified_gmt`` in GMT, both without a zone, like WordPress.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JSON = dict[str, Any]
WP_DATETIME = "%Y-%m-%dT%H:%M:%S"
DEFAULT_PER_PAGE, MAX_PER_PAGE = 10, 100


class RestError(Exception):
    """A WordPress REST error: ``code``, ``message`` and HTTP status."""

    def __init__(self, status: int, code: str, message: str, params: JSON | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.params = status, code, message, params

    def body(self) -> JSON:
        data: JSON = {"status": self.status}
        if self.params:
            data["params"] = self.params
        return {"code": self.code, "message": self.message, "data": data}


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class WooStore:
    utc_offset_hours: float = 2.0
    products: dict[int, JSON] = field(default_factory=dict)
    variations: dict[int, JSON] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10))

    def add_product(self, name: str, sku: str, kind: str = "simple", **values: Any) -> JSON:
        product: JSON = {"id": next(self._ids), "name": name, "sku": sku, "type": kind, "status": "publish"}
        product |= {"manage_stock": False, "stock_quantity": None, "backorders": "no", "variations": []}
        product |= {"date_created_gmt": now(), "date_modified_gmt": now(), **values}
        self.products[product["id"]] = product
        return product

    def add_variation(self, parent_id: int, sku: str, options: list[str], **values: Any) -> JSON:
        parent = self.products[parent_id]
        if parent["type"] != "variable":
            raise KeyError(f"product {parent_id} is not variable")
        attributes = [{"id": 0, "name": f"Attribute {n}", "option": o} for n, o in enumerate(options, 1)]
        variation: JSON = {"id": next(self._ids), "parent_id": parent_id, "sku": sku, "attributes": attributes}
        variation |= {"manage_stock": "parent", "stock_quantity": None, "backorders": "no"}
        variation |= {"date_created_gmt": now(), "date_modified_gmt": now(), **values}
        self.variations[variation["id"]] = variation
        parent["variations"].append(variation["id"])
        return variation

    def find_sku(self, sku: str) -> JSON:
        for item in [*self.products.values(), *self.variations.values()]:
            if item["sku"] == sku:
                return item
        raise KeyError(f"no product or variation with SKU {sku!r}")

    def set_stock(self, sku: str, quantity: int | None, touch_modified: bool) -> JSON:
        """Like a stock edit or an order: the stock changes; the modified date too, if configured [U]."""
        item = self.find_sku(sku)
        item["stock_quantity"] = quantity
        item["manage_stock"] = True if quantity is not None else item["manage_stock"]
        if touch_modified:
            item["date_modified_gmt"] = now()
        return item

    # -- reading ---------------------------------------------------------------------------------

    def render(self, item: JSON) -> JSON:
        local = timedelta(hours=self.utc_offset_hours)
        out = {k: v for k, v in item.items() if not isinstance(v, datetime)}
        for name in ("date_created", "date_modified"):
            moment: datetime = item[f"{name}_gmt"]
            out[name] = (moment + local).strftime(WP_DATETIME)
            out[f"{name}_gmt"] = moment.strftime(WP_DATETIME)
        stock = item.get("stock_quantity")
        in_stock = item.get("manage_stock") is not True or (stock or 0) > 0 or item.get("backorders") != "no"
        out["stock_status"] = "instock" if in_stock else "outofstock"
        return out

    def list(self, items: list[JSON], params: dict[str, str]) -> tuple[list[JSON], int, int]:
        """``(page items, total, total pages)`` for a list request."""
        per_page = int_param(params, "per_page", DEFAULT_PER_PAGE)
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise RestError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                {"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
            )
        rows = [i for i in items if self._matches(i, params)]
        key = {"id": "id", "modified": "date_modified_gmt", "date": "date_created_gmt", "title": "name"}
        sort_key = key.get(params.get("orderby", "date"), "date_created_gmt")
        rows.sort(key=lambda i: (i.get(sort_key) or "", i["id"]), reverse=params.get("order", "desc") == "desc")
        page = int_param(params, "page", 1)
        start = int_param(params, "offset", (page - 1) * per_page)
        pages = -(-len(rows) // per_page)
        chosen = [select(self.render(i), params.get("_fields")) for i in rows[start : start + per_page]]
        return chosen, len(rows), pages

    def _matches(self, item: JSON, params: dict[str, str]) -> bool:
        if params.get("type") and item.get("type") != params["type"]:
            return False
        if params.get("sku") and item.get("sku") not in params["sku"].split(","):
            return False
        if params.get("modified_after"):
            return bool(item["date_modified_gmt"] > self._as_gmt(params["modified_after"], params))
        return True

    def _as_gmt(self, text: str, params: dict[str, str]) -> datetime:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RestError(
                400, "rest_invalid_param", "Invalid parameter(s): modified_after", {"modified_after": "Invalid date."}
            ) from None
        if moment.tzinfo is not None:
            return moment.astimezone(UTC).replace(tzinfo=None)
        gmt = params.get("dates_are_gmt") in ("true", "1")
        return moment if gmt else moment - timedelta(hours=self.utc_offset_hours)


def int_param(params: dict[str, str], name: str, default: int) -> int:
    if name not in params:
        return default
    try:
        return int(params[name])
    except ValueError:
        raise RestError(
            400, "rest_invalid_param", f"Invalid parameter(s): {name}", {name: f"{name} is not of type integer."}
        ) from None


def select(item: JSON, fields: str | None) -> JSON:
    if not fields:
        return item
    wanted = {f.strip() for f in fields.split(",")}
    return {k: v for k, v in item.items() if k in wanted}
