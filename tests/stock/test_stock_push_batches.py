"""A push claims as many items as the channel's bulk form takes in one call: Walmart's inventory feed
(10 feeds an hour) gets one feed for a 150-listing change, not two."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from fenicia.channels.context import SyncContext
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.connectors.registry import channel_specs
from fenicia.inventory.models import PushStatus, StockPush
from fenicia.inventory.push import push_stock
from stock.stock_world import StockWorld
from walmart_sim import WalmartHandle, credentials, running_walmart

LISTINGS = 150


@pytest.fixture
def wm() -> Iterator[WalmartHandle]:
    with running_walmart(catalog_size=LISTINGS) as handle:
        yield handle


def _walmart_connection(world: StockWorld, wm: WalmartHandle) -> int:
    data = ConnectionCreate(channel="walmart", name="Walmart", settings=wm.settings(), credentials=credentials())
    with world.db.session() as s:
        return create_connection(s, world.box, world.ws, data).id


def test_a_large_change_goes_to_walmart_in_one_feed(world: StockWorld, ctx: SyncContext, wm: WalmartHandle) -> None:
    assert channel_specs()["walmart"].stock_batch_size >= LISTINGS > channel_specs()["mercadolibre"].stock_batch_size
    conn = _walmart_connection(world, wm)
    products = []
    for n in range(1, LISTINGS + 1):
        product = world.product(f"P-{n}")
        world.listing(conn, product, sku=f"WM-{n:04d}", ref=f"WM-{n:04d}")
        world.level(product, n)
        products.append(product)
    assert world.recompute(*products) == {conn}

    assert asyncio.run(push_stock(ctx, conn)) == LISTINGS
    assert len(wm.requests("POST", "/v3/feeds")) == 1 and wm.requests("PUT", "/v3/inventory") == []
    stock = dict(wm.control("GET", "inventory")["inventory"])
    assert all(stock[f"WM-{n:04d}"] == n for n in range(1, LISTINGS + 1))
    with world.db.read_session() as s:
        query = select(func.count()).where(StockPush.connection_id == conn, StockPush.status == PushStatus.SENT)
        sent = s.scalar(query)
    assert sent == LISTINGS
