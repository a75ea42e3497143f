"""From a source's external code to one of our products, and from its location key to one of our locations.

Order of precedence for a code:

1. an explicit override (``SkuOverride``, keyed by the code as the source holds it, trimmed) always wins;
2. otherwise the source's normalization rules turn the code into our form — trim, strip a prefix/suffix,
   add a prefix/suffix, then upper/lower case — and it is matched against the product SKU (or barcode).
   A case rule makes the comparison case-insensitive: product keys are folded the same way.
3. no match → the code goes to the unmapped report. A code matching two products (possible only with a
   case-insensitive rule or on barcodes) is never resolved by picking one: it stays unmapped, with a
   warning.

Matching on the SKU with no case rule runs one indexed query per page (``products.workspace_id, sku``
is unique); barcodes and case-insensitive matching load the workspace's product keys once per run.

Locations: a mapping row (``LocationMapping``) wins; otherwise a location whose code equals the key
(case-insensitive); a source with no location key uses the workspace's only location. With the
``create_locations`` rule (default on), an unknown key becomes a new location with that code, and the
choice is saved as a mapping row so it stays put when more locations are added later.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.catalog.models import Location, Product
from fenicia.inventory.lookups import InQuery, ListQuery
from fenicia.inventory.models import LocationMapping, SkuOverride

LOOKUP_CHUNK = 5000
PRODUCTS_BY_SKU = InQuery("SELECT sku, id FROM products WHERE workspace_id = :workspace AND {values}", "sku")
_LEVELS_JOIN = "LEFT JOIN stock_levels l ON l.product_id = p.id AND l.source_id = :source"
_LEVEL_COLUMNS = "p.id, l.id, l.location_id, l.available, l.on_hand, l.reserved"
PRODUCTS_WITH_LEVELS = ListQuery(
    # CROSS JOIN keeps SQLite's join order: the list first, each code looked up in (workspace_id, sku)
    sqlite=f"SELECT j.key, {_LEVEL_COLUMNS} FROM json_each(:values) AS j "
    f"CROSS JOIN products p ON p.workspace_id = :workspace AND p.sku = j.value {_LEVELS_JOIN}",
    postgresql=f"SELECT j.position - 1, {_LEVEL_COLUMNS} "
    "FROM unnest(CAST(:values AS text[])) WITH ORDINALITY AS j(value, position) "
    f"JOIN products p ON p.workspace_id = :workspace AND p.sku = j.value {_LEVELS_JOIN}",
)
# A stored level as the read phase fetches it: (position in the looked-up list or None, product id, level
# id, location id, available, on hand, reserved). Kept as the driver's row (one tuple per level, no copy).
StoredLevel = tuple[Any, ...]
LEVEL_ID, AVAILABLE, ON_HAND, RESERVED = 2, 4, 5, 6  # positions in a StoredLevel
AMBIGUOUS = -1
DEFAULT_LOCATION_CODE = "main"
DEFAULT_LOCATION_NAME = "Main warehouse"


class MappingRules(BaseModel):
    """How a source's codes are normalized before matching (stored on the source as ``mapping``)."""

    model_config = ConfigDict(extra="forbid")

    trim: bool = Field(True, description="Remove spaces around the code.")
    case: Literal["upper", "lower"] | None = Field(None, description="Compare case-insensitively.")
    strip_prefix: str = Field("", max_length=100, description="Remove this from the start of the code.")
    strip_suffix: str = Field("", max_length=100, description="Remove this from the end of the code.")
    add_prefix: str = Field("", max_length=100, description="Put this before the code.")
    add_suffix: str = Field("", max_length=100, description="Put this after the code.")
    match_on: Literal["sku", "barcode"] = Field("sku", description="Which product field the code is.")
    create_locations: bool = Field(True, description="Create a location for a location key never seen.")


def normalizer(rules: MappingRules) -> Callable[[str], str]:
    """``normalize`` for one rule set; plain ``str.strip`` when the rules only trim (the common case)."""
    affixes = rules.strip_prefix or rules.strip_suffix or rules.add_prefix or rules.add_suffix
    if rules.trim and not affixes and rules.case is None:
        return str.strip
    return partial(normalize, rules=rules)


def normalize(code: str, rules: MappingRules) -> str:
    """The source's code in our form, by the rules (in the order of the module docstring)."""
    text = code.strip() if rules.trim else code
    if rules.strip_prefix and text.startswith(rules.strip_prefix):
        text = text[len(rules.strip_prefix) :]
    if rules.strip_suffix and text.endswith(rules.strip_suffix):
        text = text[: -len(rules.strip_suffix)]
    text = f"{rules.add_prefix}{text}{rules.add_suffix}"
    return _fold(text, rules)


def _fold(text: str, rules: MappingRules) -> str:
    if rules.case == "upper":
        return text.upper()
    if rules.case == "lower":
        return text.lower()
    return text


def load_overrides(session: Session, source_id: int) -> dict[str, int]:
    rows = session.execute(
        select(SkuOverride.external_code, SkuOverride.product_id).where(SkuOverride.source_id == source_id)
    )
    return {code.strip(): product_id for code, product_id in rows}


class ProductMatcher:
    """Normalized codes → product ids (``AMBIGUOUS`` when a code matches several products)."""

    def __init__(self, workspace_id: int, rules: MappingRules) -> None:
        self.workspace_id = workspace_id
        self.rules = rules
        self.in_memory = rules.match_on == "barcode" or rules.case is not None
        self._index: dict[str, int] | None = None

    def match(self, session: Session, codes: Collection[str]) -> dict[str, int]:
        if not self.in_memory:
            return self._query(session, list(codes))
        index = self._load_index(session)
        return {code: index[code] for code in codes if code in index}

    def match_with_levels(
        self, session: Session, codes: Sequence[str], source_id: int, levels: dict[tuple[int, int], StoredLevel]
    ) -> tuple[list[int | None], set[int]]:
        """The product of each code (by position), and in the same query (SKU matching) the source's stored
        levels of the products found, added to ``levels`` as (product, location) → the stored row (see
        ``StoredLevel``). Returns the products and the product ids whose levels were loaded."""
        if self.in_memory:
            found = self.match(session, codes)
            return [found.get(code) for code in codes], set()
        products: list[int | None] = [None] * len(codes)
        for start in range(0, len(codes), LOOKUP_CHUNK):
            chunk = codes[start : start + LOOKUP_CHUNK]
            for row in PRODUCTS_WITH_LEVELS.run(session, chunk, workspace=self.workspace_id, source=source_id):
                products[start + row[0]] = row[1]
                if row[2] is not None:
                    levels[(row[1], row[3])] = row  # the fetched row as is: no second tuple per level
        return products, {pid for pid in products if pid is not None}

    def _query(self, session: Session, codes: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(codes), LOOKUP_CHUNK):
            rows = PRODUCTS_BY_SKU.run(session, codes[start : start + LOOKUP_CHUNK], workspace=self.workspace_id)
            found.update({sku: product_id for sku, product_id in rows})
        return found

    def _load_index(self, session: Session) -> dict[str, int]:
        if self._index is None:
            column = Product.barcode if self.rules.match_on == "barcode" else Product.sku
            index: dict[str, int] = {}
            rows = session.execute(select(column, Product.id).where(Product.workspace_id == self.workspace_id))
            for key, product_id in rows:
                if not key:
                    continue
                folded = _fold(key.strip() if self.rules.trim else key, self.rules)
                index[folded] = AMBIGUOUS if folded in index and index[folded] != product_id else product_id
            self._index = index
        return self._index


Remember = Callable[[str, int | None], int]  # (key, location to map it to, or None to create one) -> id


class LocationResolver:
    """A source's location key → our location id; None when it has none (the row is skipped)."""

    def __init__(
        self,
        mappings: dict[str, int],
        by_code: dict[str, int],
        remember: Remember | None,
        create_locations: bool,
    ) -> None:
        self.mappings = mappings
        self.by_code = by_code
        self.remember = remember  # None in a preview: nothing is written
        self.create_locations = create_locations
        self.unknown: set[str] = set()

    def resolve(self, key: str | None) -> int | None:
        text = (key or "").strip()
        found = self.mappings.get(text)
        if found is not None:
            return found
        if text:
            found = self.by_code.get(text.lower())
        elif len(self.by_code) == 1:
            found = self._keep(text, next(iter(self.by_code.values())))  # the only location, saved as mapped
        if found is None and self.create_locations:
            # a preview writes nothing: a location to be created gets a stand-in id below zero
            found = self.remember(text, None) if self.remember is not None else -1 - len(self.mappings)
            self.by_code.setdefault((text or DEFAULT_LOCATION_CODE).lower(), found)
        if found is None:
            self.unknown.add(text)
            return None
        self.mappings[text] = found
        return found

    def _keep(self, key: str, location_id: int) -> int:
        return self.remember(key, location_id) if self.remember is not None else location_id


def load_locations(session: Session, workspace_id: int, source_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """(the source's mapping rows, the workspace's locations by lower-cased code)."""
    rows = session.execute(
        select(LocationMapping.external_location, LocationMapping.location_id).where(
            LocationMapping.source_id == source_id
        )
    )
    mappings = {key: location_id for key, location_id in rows}
    by_code = {
        code.lower(): location_id
        for code, location_id in session.execute(
            select(Location.code, Location.id).where(Location.workspace_id == workspace_id)
        )
    }
    return {k.strip(): v for k, v in mappings.items()}, by_code


def remember_location(session: Session, workspace_id: int, source_id: int, key: str, location_id: int | None) -> int:
    """Saves ``key`` → ``location_id`` as the source's mapping; with None, first finds or creates the
    location whose code is the key ("main" for a source without location keys)."""
    if location_id is None:
        code = key or DEFAULT_LOCATION_CODE
        location = session.scalar(select(Location).where(Location.workspace_id == workspace_id, Location.code == code))
        if location is None:
            location = Location(workspace_id=workspace_id, code=code, name=key or DEFAULT_LOCATION_NAME)
            session.add(location)
            session.flush()
        location_id = location.id
    existing = session.scalar(
        select(LocationMapping).where(LocationMapping.source_id == source_id, LocationMapping.external_location == key)
    )
    if existing is None:
        session.add(
            LocationMapping(
                workspace_id=workspace_id, source_id=source_id, external_location=key, location_id=location_id
            )
        )
    return location_id
