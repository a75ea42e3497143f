"""A listing gone from MercadoLibre comes back ``skipped`` with ML's words: a 404 on the item's own
address, or a variation the item no longer has. Other refusals (a closed item, a bad quantity) stay errors.
Both forms: the plain item's PUT and the one PUT carrying every variation of an item."""

from __future__ import annotations

from fenicia.connectors.base import StockResult, StockUpdate
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.connectors.mercadolibre.sim_models import Item
from mercadolibre_sim import MLHandle


def plain_items(ml: MLHandle) -> list[Item]:
    return [item for item in ml.sim.store.items.values() if not item.variations]


def varied_items(ml: MLHandle) -> list[Item]:
    return [item for item in ml.sim.store.items.values() if item.variations]


def update(ref: str, quantity: int = 5) -> StockUpdate:
    return StockUpdate(ref, ref, quantity)


def assert_gone(result: StockResult, *words: str) -> None:
    assert (result.ok, result.skipped) == (False, True)
    assert result.error is not None and all(word in result.error for word in words), result.error


def assert_plain_error(result: StockResult, *words: str) -> None:
    assert (result.ok, result.skipped) == (False, False)
    assert result.error is not None and all(word in result.error for word in words), result.error


async def test_plain_items_gone_from_ml_are_skipped_and_the_rest_go(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    deleted, closed, fine, other = plain_items(ml)[:4]
    del ml.sim.store.items[deleted.id]  # deleted in ML after the import
    closed.status = "closed"
    updates = [
        update(deleted.id),
        update("MLB999999"),  # never existed
        update(closed.id),
        update(other.id, -1),  # refused before anything is sent
        update(fine.id, 9),
    ]
    results = await meli.set_stock(updates)
    assert [r.ok for r in results] == [False, False, False, False, True]
    assert_gone(results[0], deleted.id, "not found")
    assert_gone(results[1], "MLB999999", "not found")
    assert_plain_error(results[2], "closed")  # how ML answers a closed item is not documented: an error
    assert_plain_error(results[3], "negative")
    assert fine.available_quantity == 9 and closed.available_quantity != 5


async def test_a_variation_removed_in_ml_is_skipped_and_its_siblings_go(
    ml: MLHandle, meli: MercadoLibreConnector
) -> None:
    item = varied_items(ml)[0]
    kept, removed, third = item.variations
    item.variations = [kept, third]  # the seller removed one variation in ML
    updates = [update(f"{item.id}:{kept.id}", 4), update(f"{item.id}:{removed.id}", 6), update(f"{item.id}:{third.id}")]
    results = await meli.set_stock(updates)
    assert [r.ok for r in results] == [True, False, True]
    assert_gone(results[1], f"no variation {removed.id}")
    assert (kept.available_quantity, third.available_quantity) == (4, 5)
    [put] = ml.requests("PUT", f"/items/{item.id}")
    assert put["body"] == {
        "variations": [{"id": kept.id, "available_quantity": 4}, {"id": third.id, "available_quantity": 5}]
    }


async def test_every_variation_of_a_deleted_item_is_skipped(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    deleted, fine = varied_items(ml)[:2]
    del ml.sim.store.items[deleted.id]
    updates = [update(f"{deleted.id}:{v.id}") for v in deleted.variations[:2]]
    updates.append(update(f"{fine.id}:{fine.variations[0].id}", 3))
    results = await meli.set_stock(updates)
    assert [r.ok for r in results] == [False, False, True]
    for result in results[:2]:
        assert_gone(result, deleted.id, "not found")
    assert fine.variations[0].available_quantity == 3
    # the multiget cannot say which entry is which: the missing item is read on its own address
    assert [r["path"] for r in ml.requests("GET", f"/items/{deleted.id}")] == [f"/items/{deleted.id}"]
    assert ml.requests("PUT", f"/items/{deleted.id}") == []


async def test_refusals_of_an_item_that_is_there_stay_errors(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    closed, fine = varied_items(ml)[:2]
    closed.status = "closed"
    updates = [update(f"{closed.id}:{v.id}") for v in closed.variations[:2]]
    updates += [update(f"{fine.id}:{fine.variations[0].id}", -3), update(f"{fine.id}:{fine.variations[1].id}", 2)]
    results = await meli.set_stock(updates)
    assert [r.ok for r in results] == [False, False, False, True]
    for result in results[:2]:
        assert_plain_error(result, "closed")
    assert_plain_error(results[2], "negative")
    assert fine.variations[1].available_quantity == 2
