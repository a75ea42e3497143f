"""The GraphQL Admin API of the Shopify simulator (``POST /admin/api/{version}/graphql.json``): just what
reading stock needs.

One root field, ``inventoryItems(first:, after:, query:)``, a connection (``pageInfo { hasNextPage
endCursor hasPreviousPage startCursor }``, ``nodes``) of inventory items with ``id sku tracked
variant { id displayName } inventoryLevels(first:) { nodes { id location { id name }
quantities(names: [...]) { name quantity } } }``. ``query`` takes ``id:N`` terms joined by ``OR`` and
``sku:X`` [U: a small part of Shopify's search syntax]. Quantities: ``available``, ``committed`` (units of
open orders not yet fulfilled), ``on_hand`` (their sum); the other states are 0 here. Errors come as HTTP 200
with ``errors`` and ``extensions.code``, as Shopify sends them.

One mutation, ``inventorySetQuantities`` (``sim_inventory_set``), with an optional ``@idempotent(key:)``
directive (taken out before parsing: the shared parser knows no directives).

Cost: every request takes its requested cost from the GraphQL bucket (``CostBucket``: apart from the REST
bucket, on by default exactly when that one is) and every answer carries ``extensions.cost`` with its
``throttleStatus``; one asking for more than the bucket holds is answered ``THROTTLED`` (HTTP
``graphql_throttled_status`` [U]). A mutation costs ``graphql_mutation_cost`` [S]; ``inventoryItems``
costs items x (levels per item + 2) [U], as the Shopify stock source assumes: requested with ``first`` items,
actual with the items returned, the difference refunded as Shopify does [C].
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fenicia.connectors.shiphero.sim_graphql import Field, GraphQLError, parse
from fenicia.connectors.shopify.sim_inventory_set import set_quantities
from fenicia.connectors.shopify.sim_models import InventoryLevel, Variant
from fenicia.connectors.shopify.sim_render import gid

if TYPE_CHECKING:
    from fenicia.connectors.shopify.sim_store import ShopStore
    from fenicia.connectors.shopify.simulator import ShopifySimulator

JSON = dict[str, Any]
MAX_PAGE = 250
QUANTITY_NAMES = frozenset(
    {"available", "committed", "on_hand", "incoming", "reserved", "damaged", "safety_stock", "quality_control"}
)
QUERY_TERM = re.compile(r"^(id|sku):(\S+)$")
OPERATION = re.compile(r"^(?:\s|#[^\n]*)*(query|mutation|subscription)\b")
IDEMPOTENT = re.compile(r'@idempotent\s*\(\s*key\s*:\s*(\$[_A-Za-z][_0-9A-Za-z]*|"(?:[^"\\]|\\.)*")\s*\)')
Node = dict[str, Any]  # field name -> value, or a function of the field's arguments; "__typename" names it


def answer(sim: ShopifySimulator, body: Any, version: str) -> tuple[JSON, int]:
    """The JSON answer to one GraphQL request body ``{query, variables}`` and its HTTP status."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _errors("Parse error: the body needs a 'query' string", "parseError"), 200
    given = body.get("variables")
    variables = given if isinstance(given, dict) else {}
    try:
        text, key = idempotency_key(body["query"], variables)
        roots = parse(text, variables)
        mutation = _operation(text) == "mutation"
        cost = request_cost(sim, roots, mutation)
        if not sim.cost_bucket.take(cost):
            throttled = _errors("Throttled", "THROTTLED") | _extensions(sim, cost, None)
            return throttled, sim.config.graphql_throttled_status
        data = _mutate(sim, roots, key, version) if mutation else {r.key: _root(sim.store, r) for r in roots}
        actual = cost if mutation else sum(_query_cost(r, _returned(data[r.key])) for r in roots)
        sim.cost_bucket.refund(cost - actual)  # the bucket is charged what the answer really held [C]
        return {"data": data, **_extensions(sim, cost, actual)}, 200
    except GraphQLError as exc:
        return _errors(str(exc), str(exc.extra.get("code", "undefinedField"))), 200


def idempotency_key(query: str, variables: JSON) -> tuple[str, str | None]:
    """The query without its ``@idempotent(key: ...)`` directive, and the key (a literal or a variable)."""
    match = IDEMPOTENT.search(query)
    if match is None:
        return query, None
    given = match.group(1)
    key = variables.get(given[1:]) if given.startswith("$") else json.loads(given)
    if not isinstance(key, str) or not key:
        raise GraphQLError("The idempotency key must be a non-empty string", code="BAD_REQUEST")  # [U]
    return query[: match.start()] + query[match.end() :], key


def _operation(query: str) -> str:
    match = OPERATION.match(query)
    operation = match.group(1) if match else "query"
    if operation == "subscription":
        raise GraphQLError("Subscriptions are not supported by this simulator", code="badRequest")
    return operation


def request_cost(sim: ShopifySimulator, roots: list[Field], mutation: bool) -> int:
    """The requested cost; over ``graphql_max_query_cost`` (while limiting is on) is refused outright."""
    cost = len(roots) * sim.config.graphql_mutation_cost if mutation else sum(_query_cost(r) for r in roots)
    limit = sim.config.graphql_max_query_cost
    if sim.config.graphql_limited and cost > limit:
        message = f"Query cost is {cost}, which exceeds the single query max cost limit ({limit})."
        raise GraphQLError(message, code="MAX_COST_EXCEEDED")
    return cost


def _query_cost(root: Field, items: int | None = None) -> int:
    """[U] items x (levels per item + 2): a connection's ``first`` (requested) or the nodes it returned
    (actual) times what one of its nodes holds."""
    first = root.args.get("first") if items is None else items
    inner = [f.args["first"] for f in _nested(root.selections) if isinstance(f.args.get("first"), int)]
    return max(1, (first if isinstance(first, int) else 1) * (max(inner, default=0) + 2))


def _returned(connection: Any) -> int | None:
    nodes = connection.get("nodes", connection.get("edges")) if isinstance(connection, dict) else None
    return len(nodes) if isinstance(nodes, list) else None


def _nested(fields: list[Field]) -> list[Field]:
    return [f for field in fields for f in (field, *_nested(field.selections))]


def _extensions(sim: ShopifySimulator, requested: int, actual: int | None) -> JSON:
    status = sim.cost_bucket.throttle_status()
    return {
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}
    }


def _mutate(sim: ShopifySimulator, roots: list[Field], key: str | None, version: str) -> JSON:
    data: JSON = {}
    for root in roots:
        if root.name != "inventorySetQuantities":
            raise GraphQLError(f"Field '{root.name}' doesn't exist on type 'Mutation'", code="undefinedField")
        data[root.key] = select(set_quantities(sim, root.args, key, version), root.selections)
    return data


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
