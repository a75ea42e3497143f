"""The demo served in-process, engine included: five channels connected, their orders arriving over real
HTTP (webhooks through our intake, polls of the mounted simulators), and a restart that reuses it all.

Fast intervals come from Settings (generator, scheduler tick); every wait polls the database with a
deadline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select

from fenicia.accounts.models import Workspace
from fenicia.channels.models import ChannelConnection, ConnectionStatus, WebhookDelivery
from fenicia.core.clock import as_utc, utcnow
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.orders.models import Order, OrderEvent
from fenicia.runtime import build_web_app
from fenicia.sandbox.adapters import CHANNEL_KEYS
from fenicia.sandbox.demo import HISTORY_ORDERS
from servers import free_port, serve

DEMO_TOKEN = "fen_demo_live_tests"
WAIT_S = 45.0
WEBHOOK_CHANNELS = ("shopify", "mercadolibre", "tiktok")
POLLED_CHANNELS = ("amazon", "walmart")
T = TypeVar("T")


def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "port": free_port(),
            "demo": True,
            "demo_api_token": DEMO_TOKEN,
            "sandbox_generator_interval_seconds": 0.5,
            "scheduler_tick_seconds": 0.2,
            "queue_polling_seconds": 0.2,
            "reconcile_interval_seconds": 2.0,
            "retry_delays_seconds": (0.5, 1.0, 2.0),  # a failed run is retried at once, not after 5 minutes
        }
    )


@contextmanager
def running_demo(settings: Settings) -> Iterator[str]:
    """``fenicia serve --demo`` in this process: the same web app, engine and lifespan, on loopback."""
    app = build_web_app(settings, with_worker=True, demo=True)
    with serve(app, port=settings.port) as url:
        yield url


@pytest.fixture(autouse=True)
def dbos_logger_restored() -> Iterator[None]:
    """The engine configures DBOS's logger for the process: leave it as it was for the tests after us."""
    logger = logging.getLogger("dbos")
    level, propagate, handlers = logger.level, logger.propagate, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.propagate = propagate
    logger.handlers[:] = handlers


def wait_for(what: str, probe: Callable[[], T | None], state: Callable[[], Any]) -> T:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {WAIT_S}s waiting for {what}; state: {state()}")


def orders_by_channel(db: Database) -> dict[str, int]:
    with db.read_session() as session:
        rows = session.execute(select(Order.channel, func.count(Order.id)).group_by(Order.channel))
        return {channel: int(count) for channel, count in rows}


def connections(db: Database) -> dict[str, tuple[int, str, datetime | None]]:
    """Per channel: the connection's id, its status and its last successful sync."""
    with db.read_session() as session:
        return {c.channel: (c.id, c.status, c.last_success_at) for c in session.scalars(select(ChannelConnection))}


def done_deliveries(db: Database) -> dict[str, int]:
    with db.read_session() as session:
        query = (
            select(ChannelConnection.channel, func.count(WebhookDelivery.id))
            .join(ChannelConnection, ChannelConnection.id == WebhookDelivery.connection_id)
            .where(WebhookDelivery.status == "done")
            .group_by(ChannelConnection.channel)
        )
        return {channel: int(count) for channel, count in session.execute(query)}


def channels_with_webhook_events(db: Database) -> set[str]:
    with db.read_session() as session:
        query = select(Order.channel).join(OrderEvent, OrderEvent.order_id == Order.id)
        return set(session.scalars(query.where(OrderEvent.source == "webhook").distinct()))


def state(db: Database) -> dict[str, Any]:
    return {"orders": orders_by_channel(db), "connections": connections(db), "deliveries": done_deliveries(db)}


def all_completed(db: Database, since: datetime) -> bool:
    """Every connection completed a sync since then (polls come often: it may be Syncing again by the time
    we look), and none is in Error."""
    found = list(connections(db).values())
    return len(found) == len(CHANNEL_KEYS) and all(
        done is not None and as_utc(done) >= since and status != ConnectionStatus.ERROR for _, status, done in found
    )


def grown(db: Database, than: dict[str, int]) -> bool:
    counts = orders_by_channel(db)
    return all(counts.get(key, 0) > than.get(key, 0) for key in CHANNEL_KEYS)


def api_orders(url: str, channel: str) -> int:
    answer = httpx.get(
        f"{url}/api/v1/orders",
        params={"channel": channel, "limit": 1},
        headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        timeout=10,
    )
    answer.raise_for_status()
    return int(answer.json()["total"])


def test_the_demo_connects_five_channels_and_a_restart_reuses_them(settings: Settings, db: Database) -> None:
    first = fast_settings(settings)
    started = utcnow()
    with running_demo(first) as url:
        history = {key: HISTORY_ORDERS for key in CHANNEL_KEYS}
        wait_for(
            "every channel's first sync, then live orders",
            lambda: all_completed(db, started) and grown(db, history),
            lambda: state(db),
        )
        wait_for(
            "webhooks through our intake", lambda: set(WEBHOOK_CHANNELS) <= set(done_deliveries(db)), lambda: state(db)
        )
        wait_for(
            "orders applied from webhooks",
            lambda: set(WEBHOOK_CHANNELS) <= channels_with_webhook_events(db),
            lambda: state(db),
        )
        assert all(api_orders(url, key) > HISTORY_ORDERS for key in CHANNEL_KEYS)
    ids = {key: conn_id for key, (conn_id, _, _) in connections(db).items()}
    assert sorted(ids) == sorted(CHANNEL_KEYS)
    assert not set(POLLED_CHANNELS) & set(done_deliveries(db))  # Amazon and Walmart: polls only
    before = orders_by_channel(db)

    second = fast_settings(settings)
    restarted = utcnow()
    with running_demo(second):
        wait_for(
            "orders from every restarted simulator",
            lambda: grown(db, before) and all_completed(db, restarted),
            lambda: state(db),
        )
    assert {key: conn_id for key, (conn_id, _, _) in connections(db).items()} == ids  # the same five connections
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Workspace)) == 1
        for conn in session.scalars(select(ChannelConnection)):
            assert f":{second.port}/_sim/{conn.channel}/demo-store" in str(conn.settings)
