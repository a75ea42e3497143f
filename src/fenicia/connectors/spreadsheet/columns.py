"""The header row → which column holds which field, by explicit name or by matching known headers.

Headers are compared loosely: case, spaces, punctuation and accents do not matter ("Qty. on hand" ==
"qtyonhand"). Each field has a list of known headers in several languages, best first; a column is used
for one field only. A named column that is not in the header is an error naming both.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from fenicia.connectors.spreadsheet.settings import ColumnMapping
from fenicia.core.errors import ValidationFailed

KNOWN_HEADERS: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku", "skucode", "variantsku", "sellersku", "itemcode", "productcode", "code", "defaultcode",
        "internalreference", "articlenumber", "articleno", "artno", "artnr", "artikelnummer", "article",
        "reference", "ref", "referencia", "partnumber", "partno", "itemnumber", "itemno", "item",
        "productid", "ean", "barcode", "upc", "gtin",
    ),
    "quantity": (
        "quantity", "qty", "available", "availableqty", "qtyavailable", "availablequantity", "freeqty",
        "freestock", "stock", "stockqty", "stocklevel", "inventory", "inventoryquantity", "sellable",
        "cantidad", "existencias", "menge", "bestand", "quantite", "disponible", "quantita",
    ),
    "on_hand": ("onhand", "qtyonhand", "onhandqty", "quantityonhand", "physical", "physicalstock", "actualqty"),
    "reserved": ("reserved", "reservedqty", "allocated", "committed", "reservedquantity"),
    "location": (
        "location", "locationcode", "warehouse", "warehousecode", "warehouseid", "store", "site", "lager",
        "almacen", "entrepot", "magazzino",
    ),
    "name": ("name", "productname", "itemname", "title", "description", "designation", "bezeichnung", "nombre"),
}  # fmt: skip
REQUIRED = ("sku",)
OPTIONAL = ("location", "name", "on_hand", "reserved")


@dataclass(frozen=True)
class ColumnIndex:
    """0-based positions of each field's column in a row; None when the file has no such column."""

    sku: int
    quantity: int | None
    on_hand: int | None
    reserved: int | None
    location: int | None
    name: int | None
    headers: tuple[str, ...]

    def header(self, position: int | None) -> str:
        if position is None or position >= len(self.headers):
            return "?"
        return self.headers[position] or f"column {position + 1}"


def loose(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).lower()


def resolve_columns(headers: list[str], mapping: ColumnMapping, header_row: int) -> ColumnIndex:
    """Finds every field's column; ValidationFailed saying which column is missing and what the file has."""
    cleaned = tuple(h.strip() for h in headers)
    keys = [loose(h) for h in cleaned]
    taken: set[int] = set()
    found: dict[str, int | None] = {}
    for field in ("sku", "quantity", "on_hand", "reserved", "location", "name"):
        explicit: str | None = getattr(mapping, field)
        if explicit is not None:
            found[field] = _named(field, explicit, keys, cleaned, header_row)
        elif field in REQUIRED or field == "quantity" or mapping.auto_match:
            found[field] = _matched(field, keys, taken)
        else:
            found[field] = None
        if found[field] is not None:
            taken.add(found[field])  # type: ignore[arg-type]
    _require(found, cleaned, header_row)
    return ColumnIndex(
        sku=found["sku"],  # type: ignore[arg-type]
        quantity=found["quantity"],
        on_hand=found["on_hand"],
        reserved=found["reserved"],
        location=found["location"],
        name=found["name"],
        headers=cleaned,
    )


def _named(field: str, name: str, keys: list[str], headers: tuple[str, ...], header_row: int) -> int:
    wanted = loose(name)
    for position, key in enumerate(keys):
        if key == wanted:
            return position
    raise ValidationFailed(
        f"The file has no column '{name}' (set as the {field.replace('_', ' ')} column). "
        f"Row {header_row}, the header, has: {_listing(headers)}.",
        resolution="Pick one of the file's columns in the column mapping, or fix the header row number.",
        column=name,
        row=header_row,
    )


def _matched(field: str, keys: list[str], taken: set[int]) -> int | None:
    for known in KNOWN_HEADERS[field]:
        for position, key in enumerate(keys):
            if key == known and position not in taken:
                return position
    return None


def _require(found: dict[str, int | None], headers: tuple[str, ...], header_row: int) -> None:
    missing = [f for f in REQUIRED if found[f] is None]
    if found["quantity"] is None and found["on_hand"] is None:
        missing.append("quantity")
    if not missing:
        return
    names = " and ".join(m.upper() if m == "sku" else m for m in missing)
    raise ValidationFailed(
        f"No {names} column found. Row {header_row}, the header, has: {_listing(headers)}.",
        resolution="Name the column in the column mapping (e.g. columns.quantity = 'Stock'), or check that "
        "the header row number is right. Nothing was applied.",
        column=missing[0],
        row=header_row,
    )


def _listing(headers: tuple[str, ...]) -> str:
    shown = [f"'{h}'" for h in headers if h][:20]
    return ", ".join(shown) if shown else "no names"
