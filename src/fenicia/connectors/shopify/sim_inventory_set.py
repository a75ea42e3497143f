"""The ``inventorySetQuantities`` mutation of the Shopify simulator's GraphQL Admin API (channels.md §1.5).

``input: {name: "available"|"on_hand", reason, ignoreCompareQuantity, referenceDocumentUri, quantities:
[{inventoryItemId, locationId, quantity, compareQuantity | changeFromQuantity}]}``; answers
``InventorySetQuantitiesPayload {inventoryAdjustmentGroup {id createdAt reason referenceDocumentUri changes
{name delta quantityAfterChange item {id} location {id}}} userErrors {code field message}}``. Each
refused quantity is a user error whose ``field`` is ``["input", "quantities", "<i>", "<key>"]``; with
``graphql_set_atomic`` [U] one refusal and nothing is set (no adjustment group). A set changes the level
exactly as REST ``inventory_levels/set.json`` does (``ShopStore.set_inventory``: no webhook either).

By Admin API version (the request's path): before 2026-01 ``changeFromQuantity`` and ``@idempotent`` are
unknown; from 2026-04 ``changeFromQuantity`` is required on each quantity (null: no check),
``compareQuantity`` and ``ignoreCompareQuantity`` are gone and an ``@idempotent`` key is required. A key
seen before answers what it answered then [C]; the exact errors of these version rules are [U].
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fenicia.connectors.shiphero.sim_graphql import GraphQLError
from fenicia.connectors.shopify.sim_render import gid

if TYPE_CHECKING:
    from fenicia.connectors.shopify.simulator import ShopifySimulator

JSON = dict[str, Any]
Node = dict[str, Any]
NAMES = frozenset({"available", "on_hand"})
# [U] Shopify's documented reasons for inventory changes.
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
QUANTITY_LIMIT = 1_000_000_000
KEYS_KEPT = 1000  # idempotency keys remembered
_group_ids = itertools.count(1_000_000_001)


def set_quantities(sim: ShopifySimulator, args: JSON, key: str | None, version: str) -> Node:
    """The mutation's payload; a key seen before gets its first answer again."""
    body, rows = _input(args, sim.config.graphql_max_input_size)
    _check_version(body, rows, key, version)
    if key is None:
        return _run(sim, body, rows)
    fingerprint = json.dumps(body, sort_keys=True)
    seen = sim.idempotent_answers.get(key)
    if seen is not None:
        if seen[0] != fingerprint:
            message = "The same idempotency key cannot be used with different operation parameters."
            return _payload(None, [_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", None, message)])
        return seen[1]
    answer = _run(sim, body, rows)
    sim.idempotent_answers[key] = (fingerprint, answer)
    while len(sim.idempotent_answers) > KEYS_KEPT:
        del sim.idempotent_answers[next(iter(sim.idempotent_answers))]
    return answer


def _invalid(message: str) -> GraphQLError:
    text = f"Variable $input of type InventorySetQuantitiesInput! was provided invalid value: {message}"
    return GraphQLError(text, code="INVALID_VARIABLE")


def _input(args: JSON, max_size: int) -> tuple[JSON, list[JSON]]:
    body = args.get("input")
    if not isinstance(body, dict):
        raise _invalid("input (Expected value to not be null)")
    rows = body.get("quantities")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise _invalid("quantities (Expected a list of InventoryQuantityInput)")
    if len(rows) > max_size:
        raise GraphQLError(
            f"The input array size of {len(rows)} is greater than the maximum allowed of {max_size}.",
            code="MAX_INPUT_SIZE_EXCEEDED",
        )
    for name in ("name", "reason"):
        if not isinstance(body.get(name), str):
            raise _invalid(f"{name} (Expected value to not be null)")
    for index, row in enumerate(rows):
        quantity = row.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise _invalid(f"quantities.{index}.quantity (Could not coerce value to Int)")
    return body, rows


def _check_version(body: JSON, rows: list[JSON], key: str | None, version: str) -> None:
    modern = version == "unstable" or version >= "2026-01"
    current = version == "unstable" or version >= "2026-04"
    if not modern and key is not None:
        raise GraphQLError("Directive 'idempotent' is not defined", code="undefinedDirective")
    if not modern and any("changeFromQuantity" in row for row in rows):
        raise _invalid("changeFromQuantity (Field is not defined on InventoryQuantityInput)")
    if not current:
        return
    if key is None:
        raise GraphQLError("An idempotency key is required: use the @idempotent directive", code="BAD_REQUEST")
    if "ignoreCompareQuantity" in body:
        raise _invalid("ignoreCompareQuantity (Field is not defined on InventorySetQuantitiesInput)")
    for index, row in enumerate(rows):
        if "compareQuantity" in row:
            raise _invalid(f"quantities.{index}.compareQuantity (Field is not defined on InventoryQuantityInput)")
        if "changeFromQuantity" not in row:
            raise _invalid(f"quantities.{index}.changeFromQuantity (Expected a value, null to skip the check)")


def _run(sim: ShopifySimulator, body: JSON, rows: list[JSON]) -> Node:
    errors = _input_errors(body)
    if errors:
        return _payload(None, errors)
    name = str(body["name"])
    valid: list[tuple[int, int, int]] = []  # (inventory item, location, quantity)
    seen: set[tuple[int, int]] = set()
    for index, row in enumerate(rows):
        checked = _check_row(sim, body, row, index, seen)
        if isinstance(checked, tuple):
            valid.append((*checked, int(row["quantity"])))
        else:
            errors.append(checked)
    if errors and sim.config.graphql_set_atomic:
        return _payload(None, errors)
    changes = [_apply(sim, name, *change) for change in valid]
    group = _group(sim, body, changes) if changes else None
    return _payload(group, errors)


def _input_errors(body: JSON) -> list[Node]:
    errors = []
    if body["name"] not in NAMES:
        errors.append(
            _error("INVALID_NAME", ["input", "name"], "The quantity name must be either 'available' or 'on_hand'.")
        )
    if body["reason"] not in REASONS:
        errors.append(_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
    return errors


def _check_row(
    sim: ShopifySimulator, body: JSON, row: JSON, index: int, seen: set[tuple[int, int]]
) -> Node | tuple[int, int]:
    """The row's user error, or its (inventory item, location) when it may be set."""
    store = sim.store
    path = ["input", "quantities", str(index)]
    item, location = _id_of(row.get("inventoryItemId"), "InventoryItem"), _id_of(row.get("locationId"), "Location")
    if item is None or item not in store.variants_by_item:
        return _error(
            "INVALID_INVENTORY_ITEM", [*path, "inventoryItemId"], "The specified inventory item could not be found."
        )
    if location is None or store.location(location) is None:
        return _error("INVALID_LOCATION", [*path, "locationId"], "The specified location could not be found.")
    level = store.levels.get((item, location))
    if level is None:
        message = "The specified inventory item is not stocked at the location."
        return _error("ITEM_NOT_STOCKED_AT_LOCATION", [*path, "inventoryItemId"], message)
    if (item, location) in seen:
        message = "The combination of inventoryItemId and locationId must be unique."
        return _error("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", [*path, "inventoryItemId"], message)
    seen.add((item, location))
    quantity = int(row["quantity"])
    if abs(quantity) > QUANTITY_LIMIT:
        code = "INVALID_QUANTITY_TOO_HIGH" if quantity > 0 else "INVALID_QUANTITY_TOO_LOW"
        return _error(code, [*path, "quantity"], f"The quantity can't be beyond {QUANTITY_LIMIT:,} either way.")
    current = level.available if body["name"] == "available" else level.on_hand
    return _compare_error(body, row, path, current) or (item, location)


def _compare_error(body: JSON, row: JSON, path: list[str], current: int) -> Node | None:
    """The compare-and-set check: ``changeFromQuantity`` (2026-01+) overrides the older pair."""
    if "changeFromQuantity" in row:
        expected = row["changeFromQuantity"]
        if expected is not None and expected != current:
            message = "The changeFromQuantity value does not match persisted value."
            return _error("CHANGE_FROM_QUANTITY_STALE", [*path, "changeFromQuantity"], message)
        return None
    if body.get("ignoreCompareQuantity") is True:
        return None
    if row.get("compareQuantity") is None:
        message = "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity."
        return _error("COMPARE_QUANTITY_REQUIRED", [*path, "compareQuantity"], message)
    if row["compareQuantity"] != current:
        message = "The compareQuantity value does not match persisted value."
        return _error("COMPARE_QUANTITY_STALE", [*path, "compareQuantity"], message)
    return None


def _apply(sim: ShopifySimulator, name: str, item: int, location: int, quantity: int) -> Node:
    """Set the level as REST inventory_levels/set.json does; the change as ``InventoryChange``."""
    level = sim.store.levels[(item, location)]
    before = level.available if name == "available" else level.on_hand
    available = quantity if name == "available" else quantity - level.committed
    sim.store.set_inventory(item, location, available)
    return {
        "__typename": "InventoryChange",
        "name": name,
        "delta": quantity - before,
        "quantityAfterChange": quantity,
        "item": {"__typename": "InventoryItem", "id": gid("InventoryItem", item)},
        "location": {"__typename": "Location", "id": gid("Location", location)},
    }


def _group(sim: ShopifySimulator, body: JSON, changes: list[Node]) -> Node:
    listed: Callable[[JSON], list[Node]] = lambda args: changes  # noqa: E731  # changes(quantityNames:) [U]
    return {
        "__typename": "InventoryAdjustmentGroup",
        "id": gid("InventoryAdjustmentGroup", next(_group_ids)),
        "createdAt": sim.clock.iso(sim.clock.now()),
        "reason": body["reason"],
        "referenceDocumentUri": body.get("referenceDocumentUri"),
        "changes": listed,
    }


def _payload(group: Node | None, errors: list[Node]) -> Node:
    return {"__typename": "InventorySetQuantitiesPayload", "inventoryAdjustmentGroup": group, "userErrors": errors}


def _error(code: str, field: list[str] | None, message: str) -> Node:
    return {"__typename": "InventorySetQuantitiesUserError", "code": code, "field": field, "message": message}


def _id_of(value: Any, kind: str | None = None) -> int | None:
    """``gid://shopify/InventoryItem/42`` → 42 (None when it is not a gid of ``kind``)."""
    prefix, _, number = str(value).rpartition("/")
    if not prefix.startswith("gid://shopify/") or not number.isdigit():
        return None
    if kind is not None and prefix != f"gid://shopify/{kind}":
        return None
    return int(number)
