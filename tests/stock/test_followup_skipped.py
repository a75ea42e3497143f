"""A stock push to a listing the channel no longer has is ``skipped``, not ``error``: the Shopify connector
says so (``StockResult.skipped``) when the store answers that the inventory item does not exist."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import build_connector
from fenicia.connectors.base import StockUpdate
from fenicia.inventory.models import PushStatus, StockPush
from fenicia.inventory.push import push_stock
from shopify_sim import SimHandle
from stock.stock_world import StockWorld

GONE_ITEM = "999999999"  # an inventory item id the store does not have (its variant was deleted)


def test_the_shopify_connector_marks_a_missing_inventory_item_skipped(
    world: StockWorld, ctx: SyncContext, shop_b: SimHandle
) -> None:
    conn_id = world.connection(shop_b.url)
    real = str(next(iter(shop_b.sim.store.variants_by_item)))
    with world.db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        connector = build_connector(conn, ctx.box, allow_private=True)  # the shop listens on loopback

    async def push() -> list[tuple[str, bool, bool]]:
        try:
            updates = [StockUpdate("kept", real, 4), StockUpdate("gone", GONE_ITEM, 4), StockUpdate("odd", "x1", 4)]
            return [(r.external_id, r.ok, r.skipped) for r in await connector.set_stock(updates)]
        finally:
            await connector.aclose()

    assert asyncio.run(push()) == [("kept", True, False), ("gone", False, True), ("odd", False, False)]


def test_a_push_to_a_deleted_listing_is_logged_skipped_and_the_rest_still_goes(
    world: StockWorld, ctx: SyncContext, shop_b: SimHandle
) -> None:
    conn = world.connection(shop_b.url)
    kept, gone = world.product("KEPT"), world.product("GONE")
    real = str(next(iter(shop_b.sim.store.variants_by_item)))
    kept_listing = world.listing(conn, kept, ref=real)
    gone_listing = world.listing(conn, gone, ref=GONE_ITEM)
    for product in (kept, gone):
        world.level(product, 6)
    world.recompute(kept, gone)

    assert asyncio.run(push_stock(ctx, conn)) == 1

    with world.db.read_session() as s:
        pushes = {p.listing_id: p for p in s.scalars(select(StockPush).where(StockPush.connection_id == conn))}
    assert pushes[kept_listing].status == PushStatus.SENT
    skipped = pushes[gone_listing]
    assert skipped.status == PushStatus.SKIPPED
    assert skipped.error and "does not exist" in skipped.error and "gone from the channel" in skipped.error
    assert world.get_listing(gone_listing).last_pushed_quantity is None
