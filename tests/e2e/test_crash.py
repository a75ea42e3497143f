"""Crash proof of the webhook inbox: `fenicia serve` is SIGKILLed in the middle of a webhook flood.

A standalone simulated Shopify (its own process) sends signed orders/create and orders/updated webhooks
to `fenicia serve` (web + worker in one process) while we create a few hundred orders through its
control API. Mid-flood the server is killed with SIGKILL, restarted on the same port and data, and
the flood goes on. Shopify retries what went unanswered (tiny retry delays here). In the end:

- every delivery the shop saw answered 2xx is in our inbox, done;
- each was applied exactly once (one `received_webhook` event per delivery id);
- one order row per Shopify order, and every order the shop created is here.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from e2e.support import (
    START_TIMEOUT_S,
    Api,
    Proc,
    Shop,
    Stage,
    free_port,
    seed_tenant,
    wait_until,
)
from fenicia.channels.models import WebhookDelivery
from fenicia.db.engine import Database
from fenicia.orders.models import Order, OrderEvent

pytestmark = pytest.mark.slow

TOPICS = ["orders/create", "orders/updated"]
# Shopify's retry policy, compressed: ~33 s of retries covers a restart on a busy machine.
WEBHOOK_RETRY_DELAYS_S = [0.2, 0.5, 1.0, 2.0, 2.0, 4.0, 8.0, 15.0]
ORDERS_BEFORE_RESTART = 240  # created while the server runs, dies and is down
ORDERS_AFTER_RESTART = 60
EDIT_EVERY = 4  # every 4th order is edited by its customer: an orders/updated webhook
KILL_AFTER_ANSWERED = 40  # deliveries the server must have answered before we kill it
FLOOD_PAUSE_S = 0.004
SETTLE_TIMEOUT_S = 75.0


@dataclass
class Flood:
    """Creates (and sometimes edits) orders through the shop's control API, from its own thread."""

    shop_url: str
    created: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, count: int) -> None:
        shop = Shop(self.shop_url)
        try:
            for n in range(count):
                if self.stop.is_set():
                    return
                order = shop.create_order()
                self.created.append(int(order["id"]))
                if len(self.created) % EDIT_EVERY == 0:
                    shop.edit_order(int(order["id"]), {"shipping_address": {"address2": f"Suite {n}"}})
                self.stop.wait(FLOOD_PAUSE_S)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.errors.append(exc)
        finally:
            shop.close()

    def in_background(self, count: int) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(count,), name="webhook-flood", daemon=True)
        thread.start()
        return thread


def answered(deliveries: list[dict[str, Any]]) -> set[str]:
    return {d["webhook_id"] for d in deliveries if d["answered_2xx"]}


def start_serve(stage: Stage, port: int, executor_id: str | None) -> Proc:
    """`fenicia serve` (web + worker). None = the default identity (hostname-pid), new at each start."""
    env = stage.env(FENICIA_EXECUTOR_ID=executor_id) if executor_id else stage.env()
    return stage.procs.start("serve", ["serve", "--port", str(port)], env)


def wait_serving(stage: Stage, api: Api, proc: Proc) -> None:
    def engine_running() -> bool:
        health = api.healthy()
        return bool(health and health["engine"].get("status") == "running")

    wait_until(
        "fenicia serve to answer with its worker running", engine_running, stage.left(START_TIMEOUT_S), watch=[proc]
    )


def inbox_counts(db: Database, connection_id: int) -> dict[str, int]:
    with db.read_session() as session:
        rows = session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.connection_id == connection_id)
            .group_by(WebhookDelivery.status)
        )
        return {status: count for status, count in rows}


# The restart either keeps a stable FENICIA_EXECUTOR_ID (it recovers its own work at start, as ENGINE.md
# advises) or comes back under the default new identity (the old one is found dead and taken over).
@pytest.mark.parametrize("executor_id", ["e2e-serve", None], ids=["same-executor-id", "new-executor-id"])
def test_serve_killed_mid_webhook_flood_loses_nothing_and_applies_each_delivery_once(
    stage: Stage, executor_id: str | None
) -> None:
    shop_port, port = free_port(), free_port()
    shop_url, fenicia_url = f"http://127.0.0.1:{shop_port}", f"http://127.0.0.1:{port}"
    stage.migrate()
    tenant = seed_tenant(stage.database_url, stage.secret_key, shop_url)
    shop, api = Shop(shop_url), Api(fenicia_url, tenant.token)
    db = Database(stage.database_url)
    flood = Flood(shop_url)
    try:
        sim = stage.procs.start("shop", ["sandbox", "shopify", "--port", str(shop_port)], stage.env())
        wait_until("the simulated shop", shop.ready, stage.left(START_TIMEOUT_S), watch=[sim])
        shop.configure(webhook_retry_delays_s=WEBHOOK_RETRY_DELAYS_S)
        shop.subscribe(f"{fenicia_url}/webhooks/shopify/{tenant.connection_id}", TOPICS)

        serve = start_serve(stage, port, executor_id)
        wait_serving(stage, api, serve)

        # -- the flood, and the crash in its middle ----------------------------------------------------
        flooding = flood.in_background(ORDERS_BEFORE_RESTART)

        def mid_flood_and_mid_drain() -> bool:
            """Deliveries are being answered and the worker has started applying them."""
            if len(answered(shop.deliveries())) < KILL_AFTER_ANSWERED:
                return False
            return inbox_counts(db, tenant.connection_id).get("done", 0) > 0

        wait_until(
            f"{KILL_AFTER_ANSWERED} deliveries answered and some applied",
            mid_flood_and_mid_drain,
            stage.left(SETTLE_TIMEOUT_S),
            watch=[serve, sim],
            interval_s=0.02,
        )
        serve.sigkill()
        at_kill = shop.deliveries()
        answered_before = answered(at_kill)
        unanswered_at_kill = [d for d in at_kill if not d["answered_2xx"]]
        inbox_at_kill = inbox_counts(db, tenant.connection_id)
        flooding.join(timeout=stage.left(SETTLE_TIMEOUT_S))  # the shop keeps creating orders while we are down
        assert not flooding.is_alive(), "the flood did not finish"
        assert not flood.errors, flood.errors
        created_while_up_or_down = len(flood.created)

        serve = start_serve(stage, port, executor_id)
        wait_serving(stage, api, serve)
        flood.run(ORDERS_AFTER_RESTART)
        assert not flood.errors, flood.errors

        # -- everything settles --------------------------------------------------------------------------
        def shop_settled() -> bool:
            counts = shop.state()["webhooks"]
            return bool(counts["pending"] == 0 and counts["held"] == 0)

        wait_until(
            "the shop to have no pending deliveries", shop_settled, stage.left(SETTLE_TIMEOUT_S), watch=[serve, sim]
        )
        final = shop.deliveries()
        wait_until(
            "our inbox to be drained",
            lambda: inbox_counts(db, tenant.connection_id) == {"done": len(final)},
            stage.left(SETTLE_TIMEOUT_S),
            watch=[serve, sim],
        )

        # -- the proof -----------------------------------------------------------------------------------
        answered_after = answered(final) - answered_before
        print(
            f"\n[{stage.backend}, {executor_id or 'new id'}] {len(final)} deliveries: "
            f"{len(answered_before)} answered before the kill, {len(unanswered_at_kill)} created but unanswered "
            f"at the kill, {len(answered_after)} answered after; our inbox at the kill: {inbox_at_kill}; "
            f"orders created before the restart: {created_while_up_or_down}, in all: {len(flood.created)}"
        )
        assert answered_before, "the kill came before any delivery was answered"
        assert unanswered_at_kill, "the kill came after the flood: nothing was in flight"
        assert answered_after, "no delivery was answered after the restart"
        assert {d["status"] for d in final} == {"delivered"}, Counter(d["status"] for d in final)
        expected = Counter(d["topic"] for d in final)
        assert expected["orders/create"] == len(flood.created)
        assert expected["orders/updated"] == len(flood.created) // EDIT_EVERY

        with db.read_session() as session:
            inbox = {
                d.delivery_id: d.status
                for d in session.scalars(
                    select(WebhookDelivery).where(WebhookDelivery.connection_id == tenant.connection_id)
                )
            }
            applied = Counter(
                event.data.get("delivery_id")
                for event in session.scalars(
                    select(OrderEvent)
                    .join(Order, Order.id == OrderEvent.order_id)
                    .where(Order.connection_id == tenant.connection_id, OrderEvent.kind == "received_webhook")
                )
            )
            external_ids = list(
                session.scalars(select(Order.external_id).where(Order.connection_id == tenant.connection_id))
            )

        shop_answered = answered(final)
        assert {i: inbox.get(i) for i in shop_answered} == dict.fromkeys(shop_answered, "done")
        assert set(inbox) == shop_answered  # nothing stored that the shop did not send
        twice = {i: n for i, n in applied.items() if n != 1}
        assert not twice, f"deliveries applied more than once: {twice}"
        assert set(applied) == shop_answered, "some delivery was never applied"
        assert len(external_ids) == len(set(external_ids)), "an order is duplicated"
        missing = {str(i) for i in flood.created} - set(external_ids)
        assert not missing, f"{len(missing)} orders the shop created are not in Fenicia"
        assert len(external_ids) == shop.state()["orders"] == len(flood.created)
    except BaseException:
        print(stage.procs.report())  # the processes' own words, shown with the failure
        raise
    finally:
        flood.stop.set()
        stage.procs.stop_all()
        db.dispose()
        shop.close()
        api.close()
