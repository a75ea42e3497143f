"""The Odoo simulator's database: warehouses, locations, products, quants, and a small ORM over them.

Enough of the ORM for an inventory reader: ``search_read``/``search_count``/``search``/``read`` on
``stock.quant``, ``stock.location``, ``stock.warehouse`` and ``product.product``; domains in prefix notation
(``&``, ``|``, ``!``) with dotted paths and the operators ``= != in not in < <= > >= like ilike child_of``;
many2one values rendered ``[id, display_name]``; ``qty_available``/``free_qty`` computed per request from
quants in the locations the context selects (``warehouse``, ``location``; default every warehouse).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# model -> {field: comodel} for many2one fields; other fields are plain values
M2O: dict[str, dict[str, str]] = {
    "stock.quant": {"product_id": "product.product", "location_id": "stock.location", "lot_id": "stock.lot"},
    "stock.location": {"location_id": "stock.location", "warehouse_id": "stock.warehouse"},
    "stock.warehouse": {"view_location_id": "stock.location", "lot_stock_id": "stock.location"},
    "product.product": {},
}
FIELDS: dict[str, frozenset[str]] = {
    "stock.quant": frozenset(
        {"id", "product_id", "location_id", "lot_id", "quantity", "reserved_quantity", "available_quantity"}
        | {"write_date", "display_name"}
    ),
    "stock.location": frozenset(
        {"id", "name", "complete_name", "usage", "location_id", "warehouse_id", "write_date", "display_name"}
    ),
    "stock.warehouse": frozenset(
        {"id", "name", "code", "view_location_id", "lot_stock_id", "write_date", "display_name"}
    ),
    "product.product": frozenset(
        {"id", "default_code", "name", "active", "barcode", "write_date", "display_name"}
        | {"qty_available", "free_qty", "virtual_available", "incoming_qty", "outgoing_qty"}
    ),
}
COMPUTED_QTY = ("qty_available", "free_qty", "virtual_available", "incoming_qty", "outgoing_qty")
MODEL_LABELS = {
    "stock.quant": "Quants",
    "stock.location": "Inventory Locations",
    "stock.warehouse": "Warehouse",
    "product.product": "Product Variant",
}
STOCK_MODELS = frozenset({"stock.quant", "stock.location", "stock.warehouse"})


class OrmError(Exception):
    """Raised by the ORM; ``name`` is the Python exception class Odoo would report."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def odoo_text(value: Any) -> Any:
    return value.strftime(DATETIME_FORMAT) if isinstance(value, datetime) else value


@dataclass
class OdooStore:
    records: dict[str, dict[int, JSON]] = field(default_factory=lambda: {m: {} for m in M2O})
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- writing (control API and seed) ----------------------------------------------------------

    def create(self, model: str, values: JSON) -> JSON:
        record = {"id": next(self._ids), "write_date": now(), **values}
        self.records[model][record["id"]] = record
        return record

    def add_warehouse(self, name: str, code: str) -> JSON:
        view = self.create("stock.location", {"name": code, "usage": "view", "location_id": False})
        stock = self.create("stock.location", {"name": "Stock", "usage": "internal", "location_id": view["id"]})
        warehouse = self.create(
            "stock.warehouse", {"name": name, "code": code, "view_location_id": view["id"], "lot_stock_id": stock["id"]}
        )
        view["warehouse_id"] = stock["warehouse_id"] = warehouse["id"]
        return warehouse

    def add_location(self, name: str, parent: int | None, usage: str = "internal") -> JSON:
        parent_row = self.records["stock.location"].get(parent) if parent else None
        warehouse = parent_row.get("warehouse_id", False) if parent_row else False
        return self.create(
            "stock.location", {"name": name, "usage": usage, "location_id": parent or False, "warehouse_id": warehouse}
        )

    def add_product(self, code: str | None, name: str) -> JSON:
        return self.create("product.product", {"default_code": code or False, "name": name, "active": True})

    def set_quant(self, product: int, location: int, quantity: float, reserved: float = 0.0, lot: int = 0) -> JSON:
        """Create or overwrite the quant of product x location x lot (write_date = now)."""
        for quant in self.records["stock.quant"].values():
            if (quant["product_id"], quant["location_id"], quant.get("lot_id") or 0) == (product, location, lot):
                quant.update(quantity=quantity, reserved_quantity=reserved, write_date=now())
                return quant
        values = {"product_id": product, "location_id": location, "lot_id": lot or False}
        return self.create("stock.quant", {**values, "quantity": quantity, "reserved_quantity": reserved})

    def unlink_quant(self, quant_id: int) -> bool:
        return self.records["stock.quant"].pop(quant_id, None) is not None

    def find_product(self, ref: Any) -> JSON:
        products = self.records["product.product"]
        if isinstance(ref, int) and ref in products:
            return products[ref]
        match = next((p for p in products.values() if p.get("default_code") == ref), None)
        if match is None:
            raise KeyError(f"no product with id or default_code {ref!r}")
        return match

    def find_location(self, ref: Any) -> JSON:
        locations = self.records["stock.location"]
        if isinstance(ref, int) and ref in locations:
            return locations[ref]
        match = next((loc for loc in locations.values() if self.complete_name(loc) == ref), None)
        if match is None:
            raise KeyError(f"no location with id or full name {ref!r}")
        return match

    # -- names and hierarchy ---------------------------------------------------------------------

    def complete_name(self, location: JSON) -> str:
        parent = self.records["stock.location"].get(location.get("location_id") or 0)
        return f"{self.complete_name(parent)}/{location['name']}" if parent else str(location["name"])

    def display_name(self, model: str, record: JSON) -> str:
        if model == "stock.location":
            return self.complete_name(record)
        if model == "product.product" and record.get("default_code"):
            return f"[{record['default_code']}] {record['name']}"
        return str(record.get("name") or f"{model},{record['id']}")

    def descendants(self, roots: list[int]) -> set[int]:
        found, frontier = set(roots), list(roots)
        while frontier:
            parent = frontier.pop()
            for loc in self.records["stock.location"].values():
                if loc.get("location_id") == parent and loc["id"] not in found:
                    found.add(loc["id"])
                    frontier.append(loc["id"])
        return found

    # -- reading ---------------------------------------------------------------------------------

    def value(self, model: str, record: JSON, path: str) -> Any:
        head, _, rest = path.partition(".")
        if head == "display_name":
            return self.display_name(model, record)
        if head == "complete_name" and model == "stock.location":
            return self.complete_name(record)
        if head not in FIELDS[model]:
            raise OrmError("builtins.ValueError", f"Invalid field {model}.{head}")
        raw = record.get(head, head == "active")
        if not rest:
            return raw
        comodel = M2O[model].get(head)
        target = self.records.get(comodel or "", {}).get(raw or 0)
        return self.value(comodel, target, rest) if comodel and target else False

    def search(self, model: str, domain: list[Any], context: JSON | None = None) -> list[JSON]:
        self._check_model(model)
        predicate = self._parse_domain(model, domain)
        rows = list(self.records[model].values())
        if model == "product.product" and (context or {}).get("active_test", True):
            rows = [r for r in rows if r.get("active", True)]
        return [r for r in rows if predicate(r)]

    def render(self, model: str, record: JSON, fields: list[str] | None, context: JSON | None) -> JSON:
        names = fields or [f for f in record if f != "id"]
        out: JSON = {"id": record["id"]}
        for name in names:
            if name in COMPUTED_QTY and model == "product.product":
                out[name] = self._quantity(record["id"], name, context or {})
            elif name in M2O[model]:
                comodel, ref = M2O[model][name], record.get(name)
                target = self.records.get(comodel, {}).get(ref or 0)
                out[name] = [ref, self.display_name(comodel, target)] if target else False
            elif name in ("display_name", "complete_name"):
                out[name] = self.value(model, record, name)
            elif name not in FIELDS[model]:
                raise OrmError("builtins.ValueError", f"Invalid field {name!r} on model {model!r}")
            elif name == "available_quantity" and model == "stock.quant":
                out[name] = record["quantity"] - record["reserved_quantity"]
            else:
                out[name] = odoo_text(self.value(model, record, name))
        return out

    def _check_model(self, model: str) -> None:
        if model not in M2O:
            raise OrmError("builtins.KeyError", model)

    def _stock_locations(self, context: JSON) -> set[int]:
        locations = self.records["stock.location"]
        if context.get("location"):
            roots = context["location"] if isinstance(context["location"], list) else [context["location"]]
        else:
            chosen = context.get("warehouse")
            wanted = chosen if isinstance(chosen, list) else [chosen] if chosen else None
            roots = [
                w["view_location_id"]
                for w in self.records["stock.warehouse"].values()
                if wanted is None or w["id"] in wanted or w["name"] in wanted or w["code"] in wanted
            ]
        return {i for i in self.descendants(roots) if locations[i]["usage"] == "internal"}

    def _quantity(self, product: int, name: str, context: JSON) -> float:
        locations = self._stock_locations(context)
        quants = [
            q
            for q in self.records["stock.quant"].values()
            if q["product_id"] == product and q["location_id"] in locations
        ]
        if name == "free_qty":
            return float(sum(q["quantity"] - q["reserved_quantity"] for q in quants))
        if name in ("incoming_qty", "outgoing_qty"):
            return 0.0
        return float(sum(q["quantity"] for q in quants))

    # -- domains ---------------------------------------------------------------------------------

    def _parse_domain(self, model: str, domain: list[Any]) -> Callable[[JSON], bool]:
        if not isinstance(domain, list):
            raise OrmError("builtins.ValueError", f"Invalid domain {domain!r}")
        terms: list[Callable[[JSON], bool]] = []
        position = 0
        while position < len(domain):
            term, position = self._parse_term(model, domain, position)
            terms.append(term)
        return lambda record: all(term(record) for term in terms)

    def _parse_term(self, model: str, domain: list[Any], position: int) -> tuple[Callable[[JSON], bool], int]:
        item = domain[position]
        if item in ("&", "|"):
            left, after = self._parse_term(model, domain, position + 1)
            right, end = self._parse_term(model, domain, after)
            if item == "&":
                return (lambda r: left(r) and right(r)), end
            return (lambda r: left(r) or right(r)), end
        if item == "!":
            inner, end = self._parse_term(model, domain, position + 1)
            return (lambda r: not inner(r)), end
        if not (isinstance(item, list | tuple) and len(item) == 3):
            raise OrmError("builtins.ValueError", f"Invalid leaf {item!r}")
        path, operator, operand = item
        if str(path).partition(".")[0] not in FIELDS[model]:
            raise OrmError("builtins.ValueError", f"Invalid field {model}.{path} in leaf {list(item)!r}")
        return (lambda r: self._leaf(model, r, str(path), str(operator), operand)), position + 1

    def _leaf(self, model: str, record: JSON, path: str, operator: str, operand: Any) -> bool:
        value = self.value(model, record, path)
        if operator == "child_of":
            roots = operand if isinstance(operand, list) else [operand]
            return bool(value) and value in self.descendants(roots)
        return compare(value, operator, operand)


def compare(value: Any, operator: str, operand: Any) -> bool:
    if isinstance(value, datetime) and isinstance(operand, str):
        operand = datetime.strptime(operand[:19], DATETIME_FORMAT)
    if operator == "=":
        return bool(value == operand or (operand is False and not value))
    if operator == "!=":
        return not compare(value, "=", operand)
    if operator in ("in", "not in"):
        inside = value in (operand or [])
        return inside if operator == "in" else not inside
    if operator in ("like", "ilike"):
        text, pattern = str(value or ""), str(operand).replace("%", "")
        return pattern.lower() in text.lower() if operator == "ilike" else pattern in text
    if operator in ("<", "<=", ">", ">="):
        if value is False or value is None:
            return False
        checks = {"<": value < operand, "<=": value <= operand, ">": value > operand, ">=": value >= operand}
        return bool(checks[operator])
    raise OrmError("builtins.ValueError", f"Invalid operator {operator!r}")
