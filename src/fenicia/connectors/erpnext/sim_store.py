"""The ERPNext simulator's data (Warehouse, Item, Bin) and Frappe's list query semantics.

``fields`` (JSON list, ``*`` for all; default ``["name"]``), ``filters`` (JSON list of
``[doctype, field, op, value]`` or ``[field, op, value]``, or a ``{field: value | [op, value]}`` object),
``limit_start``, ``limit_page_length`` (default 20, 0 = no limit) and ``order_by`` (``field asc|desc``).
Datetimes are the site's local time without a zone, as Frappe stores them.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

JSON = dict[str, Any]
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
DEFAULT_PAGE_LENGTH = 20
BIN_QUANTITIES = (
    "actual_qty",
    "reserved_qty",
    "ordered_qty",
    "indented_qty",
    "planned_qty",
    "reserved_qty_for_production",
    "reserved_qty_for_sub_contract",
    "reserved_qty_for_production_plan",
    "reserved_stock",
)
DOCTYPE_FIELDS: dict[str, frozenset[str]] = {
    "Bin": frozenset({"name", "item_code", "warehouse", "stock_uom", "projected_qty", "modified", "creation"})
    | frozenset(BIN_QUANTITIES),
    "Item": frozenset({"name", "item_code", "item_name", "stock_uom", "disabled", "modified", "creation"}),
    "Warehouse": frozenset({"name", "warehouse_name", "is_group", "parent_warehouse", "company", "modified"}),
}


class QueryError(Exception):
    """Frappe's answer to a bad query: ``exc_type`` and HTTP status."""

    def __init__(self, status: int, exc_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.exc_type = exc_type
        self.message = message


@dataclass
class FrappeStore:
    time_zone: str = "Europe/Berlin"
    company_abbr: str = "WP"
    docs: dict[str, dict[str, JSON]] = field(default_factory=lambda: {d: {} for d in DOCTYPE_FIELDS})
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def now(self) -> datetime:
        return datetime.now(ZoneInfo(self.time_zone)).replace(tzinfo=None)

    def add_warehouse(self, name: str, parent: str | None = None, is_group: bool = False) -> JSON:
        full = f"{name} - {self.company_abbr}"
        doc = {"name": full, "warehouse_name": name, "is_group": int(is_group), "parent_warehouse": parent}
        self.docs["Warehouse"][full] = {**doc, "company": "Wind Power", "modified": self.now()}
        return self.docs["Warehouse"][full]

    def add_item(self, code: str, name: str | None = None) -> JSON:
        doc = {"name": code, "item_code": code, "item_name": name or code, "stock_uom": "Nos", "disabled": 0}
        self.docs["Item"][code] = {**doc, "modified": self.now(), "creation": self.now()}
        return self.docs["Item"][code]

    def set_bin(self, item_code: str, warehouse: str, **quantities: float) -> JSON:
        """Create or update the Bin of item x warehouse; quantities by field name; ``modified`` = now."""
        if item_code not in self.docs["Item"]:
            raise KeyError(f"Item {item_code} not found")
        if warehouse not in self.docs["Warehouse"] or self.docs["Warehouse"][warehouse]["is_group"]:
            raise KeyError(f"{warehouse} is not a leaf Warehouse")
        unknown = set(quantities) - set(BIN_QUANTITIES)
        if unknown:
            raise KeyError(f"unknown Bin fields {sorted(unknown)}")
        doc = next(
            (b for b in self.docs["Bin"].values() if (b["item_code"], b["warehouse"]) == (item_code, warehouse)), None
        )
        if doc is None:
            name = hashlib.sha1(f"bin{next(self._serial)}".encode()).hexdigest()[:10]
            doc = {
                "name": name,
                "item_code": item_code,
                "warehouse": warehouse,
                "stock_uom": "Nos",
                "creation": self.now(),
            }
            doc.update({q: 0.0 for q in BIN_QUANTITIES})
            self.docs["Bin"][name] = doc
        doc.update({k: float(v) for k, v in quantities.items()}, modified=self.now())
        doc["projected_qty"] = projected(doc)
        return doc

    # -- list queries ----------------------------------------------------------------------------

    def query(self, doctype: str, params: JSON) -> list[JSON]:
        if doctype not in self.docs:
            raise QueryError(404, "DoesNotExistError", f"DocType {doctype} not found")
        fields = self._fields(doctype, params.get("fields"))
        rows = [d for d in self.docs[doctype].values() if self.matches(doctype, d, params.get("filters"))]
        rows = sort_docs(rows, str(params.get("order_by") or "modified desc"))
        start = int(params.get("limit_start") or 0)
        length = params.get("limit_page_length")
        length = DEFAULT_PAGE_LENGTH if length is None else int(length)
        rows = rows[start : start + length] if length else rows[start:]
        return [{f: render(d.get(f)) for f in fields} for d in rows]

    def matches(self, doctype: str, doc: JSON, filters: Any) -> bool:
        return all(self._leaf(doctype, doc, term) for term in normalize_filters(doctype, filters))

    def _fields(self, doctype: str, fields: Any) -> list[str]:
        names = fields or ["name"]
        if names == ["*"]:
            return sorted(DOCTYPE_FIELDS[doctype])
        bad = [f for f in names if f not in DOCTYPE_FIELDS[doctype]]
        if bad:
            raise QueryError(417, "DataError", f"Field not permitted in query: {bad[0]}")
        return list(names)

    def _leaf(self, doctype: str, doc: JSON, term: tuple[str, str, Any]) -> bool:
        name, operator, operand = term
        if name not in DOCTYPE_FIELDS[doctype]:
            raise QueryError(417, "DataError", f"Field not permitted in query: {name}")
        return compare(doc.get(name), operator, operand)


def projected(doc: JSON) -> float:
    supply = doc["actual_qty"] + doc["ordered_qty"] + doc["indented_qty"] + doc["planned_qty"]
    demand = doc["reserved_qty"] + doc["reserved_qty_for_production"] + doc["reserved_qty_for_sub_contract"]
    return float(supply - demand - doc["reserved_qty_for_production_plan"])


def render(value: Any) -> Any:
    return value.strftime(DATETIME_FORMAT) if isinstance(value, datetime) else value


def normalize_filters(doctype: str, filters: Any) -> list[tuple[str, str, Any]]:
    if not filters:
        return []
    if isinstance(filters, dict):
        terms = []
        for name, value in filters.items():
            op, operand = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else ("=", value)
            terms.append((str(name), str(op), operand))
        return terms
    result = []
    for term in filters:
        if isinstance(term, list) and len(term) == 4 and term[0] == doctype:
            term = term[1:]
        if not (isinstance(term, list) and len(term) == 3):
            raise QueryError(417, "ValidationError", f"Invalid filter: {term!r}")
        result.append((str(term[0]), str(term[1]).lower(), term[2]))
    return result


def compare(value: Any, operator: str, operand: Any) -> bool:
    if isinstance(value, datetime) and isinstance(operand, str):
        text = operand if "." in operand else f"{operand}.000000"
        operand = datetime.strptime(text[:26], DATETIME_FORMAT)
    if operator == "=":
        return bool(value == operand)
    if operator == "!=":
        return bool(value != operand)
    if operator in ("in", "not in"):
        options = operand if isinstance(operand, list) else str(operand).split(",")
        return bool((value in options) == (operator == "in"))
    if operator in ("like", "not like"):
        found = str(operand).replace("%", "").lower() in str(value or "").lower()
        return found == (operator == "like")
    if operator == "is":
        return bool(bool(value) == (operand == "set"))
    if operator in ("<", "<=", ">", ">="):
        if value is None:
            return False
        checks = {"<": value < operand, "<=": value <= operand, ">": value > operand, ">=": value >= operand}
        return bool(checks[operator])
    raise QueryError(417, "ValidationError", f"Invalid operator {operator!r}")


def sort_docs(rows: list[JSON], order_by: str) -> list[JSON]:
    result = list(rows)
    for part in reversed([p.strip() for p in order_by.split(",") if p.strip()]):
        name, _, direction = part.replace("`", "").partition(" ")
        name = name.rpartition(".")[2]
        result.sort(key=lambda d: (d.get(name) is None, d.get(name) or 0), reverse=direction.lower() == "desc")
    return result
