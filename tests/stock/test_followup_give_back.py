"""Orders that stop holding stock give their units back at once: an order the channel deleted, a cancel
pushed by the merchant (even when the channel's answer is older than our copy), and, with a real worker
Engine, the stock push to the other channel is kicked right after the action push."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from fenicia.catalog.imports import import_listings
from fenicia.channels.context import SyncContext
from fenicia.channels.models import Listing, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.services import request_sync
from fenicia.core.settings import Settings
from fenicia.engine import Engine
from fenicia.inventory.models import PushStatus
from fenicia.inventory.push import push_stock
from fenicia.orders.actions import request_cancel
from fenicia.orders.models import ActionStatus, Order, OrderAction, OrderStatus
from fenicia.orders.push import push_actions
from fenicia.orders.schemas import CancelActionCreate
from shopify_sim import SimHandle
from stock.stock_world import StockWorld
from worker_engine import wait_for, worker_factory

STOCK = 20


def _pair(world: StockWorld, ctx: SyncContext, shop_a: SimHandle, shop_b: SimHandle) -> tuple[int, int, Listing]:
    """Store B's listings imported and one stocked and pushed; store A connected."""
    conn_b = world.connection(shop_b.url, name="B")
    asyncio.run(import_listings(world.db, world.box, world.ws, conn_b, create_missing=True, allow_private=True))
    with world.db.read_session() as s:
        listing = s.scalars(select(Listing).where(Listing.connection_id == conn_b).order_by(Listing.id)).all()[1]
    assert listing.product_id is not None and listing.sku
    world.level(listing.product_id, STOCK)
    world.recompute(listing.product_id)
    asyncio.run(push_stock(ctx, conn_b))
    return world.connection(shop_a.url, name="A"), conn_b, listing


def _sync(ctx: SyncContext, world: StockWorld, conn_id: int, **kw: object) -> SyncRun:
    with world.db.session() as s:
        run, _ = request_sync(s, world.ws, conn_id, **kw)  # type: ignore[arg-type]
        run_id = run.id
    asyncio.run(execute_run(ctx, run_id))
    with world.db.read_session() as s:
        done = s.get(SyncRun, run_id)
        assert done is not None
        return done


def _order_on_a(
    world: StockWorld, ctx: SyncContext, shop_a: SimHandle, conns: tuple[int, int], sku: str
) -> tuple[int, str]:
    """A 3-unit order placed on store A, polled in, and the lower quantity pushed to B; returns our order
    id and its external id."""
    conn_a, conn_b = conns
    remote = shop_a.sim.create_order(line_items=[{"sku": sku, "quantity": 3}])
    assert _sync(ctx, world, conn_a, kind="poll").status == RunStatus.SUCCEEDED
    with world.db.read_session() as s:
        order = s.scalar(select(Order).where(Order.connection_id == conn_a, Order.external_id == str(remote["id"])))
        assert order is not None
    assert asyncio.run(push_stock(ctx, conn_b)) == 1  # B shows the order's units taken
    return order.id, order.external_id


def test_an_order_deleted_at_source_gives_its_units_back_at_once(
    world: StockWorld, ctx: SyncContext, shop: SimHandle, shop_b: SimHandle
) -> None:
    conn_a, conn_b, listing = _pair(world, ctx, shop, shop_b)
    order_id, external_id = _order_on_a(world, ctx, shop, (conn_a, conn_b), str(listing.sku))
    assert world.ats(listing.id) == STOCK - 3

    shop.sim.delete_order(int(external_id))
    run = _sync(ctx, world, conn_a, kind="order", target_external_id=external_id)

    assert run.error_code == "remote_not_found"
    with world.db.read_session() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.deleted_at_source
    assert world.ats(listing.id) == STOCK
    assert world.pending(listing.id) == [STOCK]
    assert "deleted at source" in (world.pushes(listing.id)[-1].reason or "")


def test_a_cancel_whose_answer_is_older_than_our_copy_still_gives_units_back(
    world: StockWorld, ctx: SyncContext, shop: SimHandle, shop_b: SimHandle
) -> None:
    conn_a, conn_b, listing = _pair(world, ctx, shop, shop_b)
    order_id, _ = _order_on_a(world, ctx, shop, (conn_a, conn_b), str(listing.sku))
    with world.db.session() as s:
        order = s.get(Order, order_id)
        assert order is not None
        order.channel_updated_at = order.channel_updated_at + timedelta(days=1)  # we hold a newer copy
        request_cancel(s, world.ws, order_id, CancelActionCreate(reason="customer"))

    assert asyncio.run(push_actions(ctx, conn_a)) == 1

    with world.db.read_session() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == OrderStatus.CANCELLED
    assert world.ats(listing.id) == STOCK and world.pending(listing.id) == [STOCK]


# --- a real worker Engine ----------------------------------------------------------------------------------


@pytest.fixture
def make_engine(ctx: SyncContext, settings: Settings) -> Iterator[Callable[[], Engine]]:
    with worker_factory(ctx, settings, "stock-worker") as make:
        yield make


def test_a_worker_pushes_a_cancel_then_kicks_the_stock_push_it_made_due(
    world: StockWorld, ctx: SyncContext, shop: SimHandle, shop_b: SimHandle, make_engine: Callable[[], Engine]
) -> None:
    conn_a, conn_b, listing = _pair(world, ctx, shop, shop_b)
    order_id, _ = _order_on_a(world, ctx, shop, (conn_a, conn_b), str(listing.sku))
    inventory_item = (int(str(listing.inventory_ref)), shop_b.sim.store.primary_location.id)
    assert shop_b.sim.store.levels[inventory_item].available == STOCK - 3
    with world.db.session() as s:
        action_id = request_cancel(s, world.ws, order_id, CancelActionCreate(reason="customer")).id
    engine = make_engine()

    engine.push_actions(conn_a)  # what the API does after the merchant's cancel commits

    def action_done() -> bool:
        with world.db.read_session() as s:
            action = s.get(OrderAction, action_id)
            return action is not None and action.status == ActionStatus.DONE

    wait_for(action_done, "the cancel")
    wait_for(lambda: "SUCCESS" in engine.workflow_statuses(f"stock:{conn_b}:").values(), "the stock push to B")
    assert shop_b.sim.store.levels[inventory_item].available == STOCK
    assert [p.status for p in world.pushes(listing.id)][-1] == PushStatus.SENT
