"""The engine running the real domain functions (default handlers) against the Shopify simulator."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select

import factories
from fenicia.channels.models import RunStatus, SyncRun
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.engine import Engine
from fenicia.orders.models import Order
from shopify_sim import FAST_CONNECTOR, running_shop

WAIT_LIMIT_SECONDS = 30.0


def _runs(db: Database) -> list[SyncRun]:
    with db.read_session() as s:
        return list(s.scalars(select(SyncRun).order_by(SyncRun.id)))


def _wait_for_finished_workflow(db: Database, engine: Engine) -> SyncRun:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while time.monotonic() < deadline:
        runs = _runs(db)
        if runs and engine.workflow_statuses(f"run:{runs[-1].id}:") == {f"run:{runs[-1].id}:0": "SUCCESS"}:
            return runs[-1]
        time.sleep(0.05)
    raise AssertionError(f"no run finished: {[(r.id, r.status) for r in _runs(db)]}")


def test_scheduler_tick_polls_a_due_connection_through_the_queues(
    make_engine: Callable[..., Engine], db: Database, box: SecretBox
) -> None:
    with running_shop() as shop:
        shop.sim.bulk_create_orders(60)
        with db.session() as s:
            ws, _ = factories.workspace(s)
            factories.shopify_connection(s, box, ws, shop_url=shop.url, settings=FAST_CONNECTOR)
        engine = make_engine(executor_id="domain-worker")

        assert engine.tick_once() == 1  # a new connection's first poll is due at once

        run = _wait_for_finished_workflow(db, engine)
        assert run.status == RunStatus.SUCCEEDED, run.error_message
        assert run.worker_id == "domain-worker" and run.orders_created == 60
        with db.read_session() as s:
            assert s.scalar(select(func.count(Order.id))) == 60
