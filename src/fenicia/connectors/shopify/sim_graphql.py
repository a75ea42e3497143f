"""The GraphQL Admin API of the Shopify simulator (``POST /admin/api/{version}/graphql.json``): just what
reading stock needs.

One root field, ``inventoryItems(first:, after:, query:)``, a connection (``pageInfo { hasNextPage
endCursor hasPreviousPage startCursor }``, ``nodes``) of inventory items with ``id sku tracked
variant { id displayName } inventoryLevels(first:) { nodes { id location { id name }
quantities(names: [...]) { name quantity } } }``. ``query`` takes ``id:N`` terms joined by ``OR`` and
``sku:X`` [U: a small part of Shopify's search syntax]. Quantities: ``available``, ``committed`` (units of
open orders not yet fulfilled), ``on_hand`` (their sum); the other states are 0 here. Errors come as HTTP 200
with ``errors`` and ``extensions.code``, as Shopify sends them. Queries are not cost-limited: they count in
the REST leaky bucket like any call [U].
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fenicia.connectors.shiphero.sim_graphql import Field, GraphQLError, parse
from fenicia.connectors.shopify.sim_models import InventoryLevel, Variant
from fenicia.connectors.shopify.sim_render import gid

if TYPE_CHECKING:
    from fenicia.connectors.shopify.sim_store import ShopStore

JSON = dict[str, Any]
MAX_PAGE = 250
QUANTITY_NAMES = frozenset(
    {"available", "committed", "on_hand", "incoming", "reserved", "damaged", "safety_stock", "quality_control"}
)
QUERY_TERM = re.compile(r"^(id|sku):(\S+)$")
Node = dict[str, Any]  # field name -> value, or a function of the field's arguments; "__typename" names it


def answer(store: ShopStore, body: Any) -> JSON:
    """The JSON answer to one GraphQL request body ``{query, variables}``."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _errors("Parse error: the body needs a 'query' string", "parseError")
    variables = body.get("variables")
    try:
        roots = parse(body["query"], variables if isinstance(variables, dict) else {})
        return {"data": {root.key: _root(store, root) for root in roots}}
    except GraphQLError as exc:
        return _errors(str(exc), str(exc.extra.get("code", "undefinedField")))


def _errors(message: str, code: str) -> JSON:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _root(store: ShopStore, root: Field) -> Any:
    if root.name != "inventoryItems":
        raise GraphQLError(f"Field '{root.name}' doesn't exist on type 'QueryRoot'", code="undefinedField")
    items = sorted(_matching(store, root.args.get("query")), key=lambda v: v.inventory_item_id)
    first = _first(root.args)
    start = _after(root.args.get("after"), items)
    chosen = items[start : start + first]
    connection: Node = {
        "__typename": "InventoryItemConnection",
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": start + len(chosen) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(chosen[0].inventory_item_id) if chosen else None,
            "endCursor": _cursor(chosen[-1].inventory_item_id) if chosen else None,
        },
        "nodes": [_item(store, variant) for variant in chosen],
    }
    return select(connection, root.selections)


def _matching(store: ShopStore, query: Any) -> list[Variant]:
    variants = list(store.variants_by_item.values())
    if query is None or not str(query).strip():
        return variants
    ids: set[int] = set()
    skus: set[str] = set()
    for term in (t for t in str(query).split() if t.upper() != "OR"):
        match = QUERY_TERM.match(term)
        if match is None or (match.group(1) == "id" and not match.group(2).isdigit()):
            raise GraphQLError(f"Unsupported query term {term!r}: use id:N or sku:X", code="badRequest")
        if match.group(1) == "id":
            ids.add(int(match.group(2)))
        else:
            skus.add(match.group(2).strip("'\""))
    return [v for v in variants if v.inventory_item_id in ids or v.sku in skus]


def _first(args: JSON) -> int:
    first = args.get("first")
    if not isinstance(first, int) or not 0 < first <= MAX_PAGE:
        raise GraphQLError(f"'first' must be between 1 and {MAX_PAGE}", code="badRequest")
    return first


def _cursor(inventory_item_id: int) -> str:
    return base64.urlsafe_b64encode(f"InventoryItem:{inventory_item_id}".encode()).decode()


def _after(cursor: Any, items: list[Variant]) -> int:
    """The index just past the item ``cursor`` names (items are in id order)."""
    if cursor is None:
        return 0
    try:
        last = int(base64.urlsafe_b64decode(str(cursor)).decode().rpartition(":")[2])
    except (ValueError, binascii.Error):
        raise GraphQLError(f"Invalid cursor {cursor!r}", code="badRequest") from None
    return next((i for i, v in enumerate(items) if v.inventory_item_id > last), len(items))


def _item(store: ShopStore, variant: Variant) -> Node:
    product = store.products.get(variant.product_id)
    title = product.title if product is not None else ""
    levels = [
        store.levels[(variant.inventory_item_id, loc.id)]
        for loc in store.locations
        if (variant.inventory_item_id, loc.id) in store.levels
    ]
    return {
        "__typename": "InventoryItem",
        "id": gid("InventoryItem", variant.inventory_item_id),
        "sku": variant.sku,
        "tracked": True,  # the simulator's variants are all stocked by Shopify
        "variant": {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant.id),
            "displayName": f"{title} - {variant.title}",
        },
        "inventoryLevels": lambda args: _levels(store, levels, args),
    }


def _levels(store: ShopStore, levels: list[InventoryLevel], args: JSON) -> Node:
    names = {loc.id: loc.name for loc in store.locations}
    return {
        "__typename": "InventoryLevelConnection",
        "nodes": [_level(level, names[level.location_id]) for level in levels[: _first(args)]],
    }


def _level(level: InventoryLevel, location_name: str) -> Node:
    def quantities(args: JSON) -> list[Node]:
        wanted = args.get("names")
        if not isinstance(wanted, list) or not wanted or not set(wanted) <= QUANTITY_NAMES:
            raise GraphQLError(f"'names' must list quantity names among {sorted(QUANTITY_NAMES)}", code="badRequest")
        values = {"available": level.available, "committed": level.committed, "on_hand": level.on_hand}
        return [{"__typename": "InventoryQuantity", "name": n, "quantity": values.get(n, 0)} for n in wanted]

    return {
        "__typename": "InventoryLevel",
        "id": f"gid://shopify/InventoryLevel/{level.location_id}?inventory_item_id={level.inventory_item_id}",
        "location": {"__typename": "Location", "id": gid("Location", level.location_id), "name": location_name},
        "quantities": quantities,
    }


def select(value: Any, selections: list[Field]) -> Any:
    """``value`` shaped by a selection set; an unknown field is Shopify's ``undefinedField`` error."""
    if not selections or value is None:
        return value
    if isinstance(value, list):
        return [select(item, selections) for item in value]
    out: JSON = {}
    for chosen in selections:
        if chosen.name not in value:
            type_name = value.get("__typename", "Object")
            raise GraphQLError(f"Field '{chosen.name}' doesn't exist on type '{type_name}'", code="undefinedField")
        child = value[chosen.name]
        resolve: Callable[[JSON], Any] | None = child if callable(child) else None
        out[chosen.key] = select(resolve(chosen.args) if resolve else child, chosen.selections)
    return out
