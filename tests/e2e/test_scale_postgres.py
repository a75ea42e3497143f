"""Scale and takeover proof on PostgreSQL: a bulk "Sync orders" survives the SIGKILL of its worker.

`fenicia serve --no-worker` and two `fenicia worker` processes share a fresh PostgreSQL database. A
standalone simulated Shopify holds 3,000 past orders behind its real leaky-bucket rate limit. A few
new orders arrive by webhook and are shipped through the API (pushes to the shop), then "Sync orders"
starts; once it has committed pages, the worker running it is SIGKILLed. The other worker must take
the run over and finish it, and in the end:

- the run succeeded on the surviving worker, on a later attempt;
- Fenicia holds exactly the shop's orders, one row each;
- every ship action reached the shop exactly once: one fulfillments.json POST and one fulfillment each.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from e2e.support import START_TIMEOUT_S, Api, Proc, Shop, Stage, free_port, seed_tenant, wait_until
from fenicia.channels.models import SyncRun
from fenicia.db.engine import Database
from fenicia.orders.models import Order, OrderAction

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

HISTORY_ORDERS = 3000  # bulk-seeded in the shop (no webhooks), all inside the bulk sync's window
NEW_ORDERS = 6  # arrive by webhook before the sync
SHIPPED = 4  # of the new orders, shipped through the API
PAGE_SIZE = 50  # 60+ pages: past the 40-call bucket, so the shop's 2 calls/s limit paces the run
WORKERS = ("e2e-worker-a", "e2e-worker-b")
RUN_TIMEOUT_S = 90.0
SETTLE_TIMEOUT_S = 60.0


def start_worker(stage: Stage, executor_id: str) -> Proc:
    return stage.procs.start(executor_id, ["worker"], stage.env(FENICIA_EXECUTOR_ID=executor_id))


def posted_tracking(request: dict[str, Any]) -> str | None:
    body = request["body"] if isinstance(request["body"], dict) else {}
    info: dict[str, Any] = body.get("fulfillment", {}).get("tracking_info", {})
    return info.get("number")


def run_row(db: Database, run_id: int) -> SyncRun:
    with db.read_session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return run


def actions_of(db: Database, action_ids: list[int]) -> list[OrderAction]:
    with db.read_session() as session:
        return list(session.scalars(select(OrderAction).where(OrderAction.id.in_(action_ids)).order_by(OrderAction.id)))


def test_bulk_sync_taken_over_after_its_worker_is_killed(postgres_stage: Stage) -> None:
    stage = postgres_stage
    shop_port, port = free_port(), free_port()
    shop_url, fenicia_url = f"http://127.0.0.1:{shop_port}", f"http://127.0.0.1:{port}"
    stage.migrate()
    tenant = seed_tenant(stage.database_url, stage.secret_key, shop_url, page_size=PAGE_SIZE)
    shop, api = Shop(shop_url), Api(fenicia_url, tenant.token)
    db = Database(stage.database_url)
    try:
        sim = stage.procs.start(
            "shop", ["sandbox", "shopify", "--port", str(shop_port), "--orders", str(HISTORY_ORDERS)], stage.env()
        )
        wait_until("the simulated shop", shop.ready, stage.left(START_TIMEOUT_S), watch=[sim])
        config = shop.config()
        assert config["rate_limit_enabled"] is True and config["leak_rate_per_s"] == 2.0, config
        shop.configure(webhook_retry_delays_s=[0.2, 0.5, 1.0, 2.0])
        shop.subscribe(f"{fenicia_url}/webhooks/shopify/{tenant.connection_id}", ["orders/create"])

        serve = stage.procs.start("serve", ["serve", "--no-worker", "--port", str(port)], stage.env())
        workers = {wid: start_worker(stage, wid) for wid in WORKERS}
        everyone = [sim, serve, *workers.values()]

        def both_workers_live() -> bool:
            health = api.healthy()
            return bool(health and health["engine"].get("live_workers") == len(WORKERS))

        wait_until("serve and both workers", both_workers_live, stage.left(START_TIMEOUT_S), watch=everyone)

        # -- a few orders by webhook, shipped through the API: pushes to the shop --------------------------
        new_ids = [str(shop.create_order()["id"]) for _ in range(NEW_ORDERS)]

        def imported() -> list[dict[str, Any]] | None:
            listing = api.call("GET", f"orders?connection_id={tenant.connection_id}&limit=100")
            return listing["items"] if listing["total"] == NEW_ORDERS else None

        orders = wait_until(
            "the new orders to arrive by webhook", imported, stage.left(SETTLE_TIMEOUT_S), watch=everyone
        )
        assert sorted(o["external_id"] for o in orders) == sorted(new_ids)
        to_ship = sorted(orders, key=lambda o: o["external_id"])[:SHIPPED]
        tracking = {o["external_id"]: f"1ZE2E{n:04d}" for n, o in enumerate(to_ship)}
        action_ids = [
            api.call(
                "POST",
                f"orders/{o['id']}/ship",
                {"carrier": "UPS", "tracking_number": tracking[o["external_id"]]},
                expect=202,
            )["id"]
            for o in to_ship
        ]

        # -- "Sync orders", and the SIGKILL of the worker running it ----------------------------------------
        run_id = api.call("POST", f"connections/{tenant.connection_id}/sync", expect=202)["id"]

        def running_with_pages() -> dict[str, Any] | None:
            run = api.call("GET", f"runs/{run_id}")
            assert run["status"] in ("queued", "running"), run
            return run if run["status"] == "running" and run["pages"] > 0 else None

        wait_until("the sync to commit its first pages", running_with_pages, stage.left(RUN_TIMEOUT_S), watch=everyone)
        victim = run_row(db, run_id).worker_id
        assert victim in WORKERS, victim
        workers[victim].sigkill()
        at_kill = run_row(db, run_id)
        survivor = next(w for w in WORKERS if w != victim)
        print(f"\nkilled {victim} at page {at_kill.pages} ({at_kill.orders_seen} orders seen), run {at_kill.status}")
        assert at_kill.status == "running", "the run finished before the kill: make it longer"

        def finished() -> SyncRun | None:
            run = run_row(db, run_id)
            return run if run.status not in ("queued", "running") else None

        done = wait_until(
            "the run to finish on the surviving worker",
            finished,
            stage.left(RUN_TIMEOUT_S),
            watch=[sim, serve, workers[survivor]],
        )
        print(
            f"run {done.status} on {done.worker_id}, attempt {done.attempt}, {done.pages} pages, "
            f"{done.orders_seen} seen, {done.orders_created} created, {done.orders_updated} updated"
        )
        assert (done.status, done.worker_id) == ("succeeded", survivor), (done.status, done.error_message)
        assert done.attempt > 1

        def pushed() -> list[OrderAction] | None:
            rows = actions_of(db, action_ids)
            return rows if all(a.status not in ("pending", "in_progress") for a in rows) else None

        actions = wait_until(
            "every ship action to finish", pushed, stage.left(SETTLE_TIMEOUT_S), watch=[sim, serve, workers[survivor]]
        )

        # -- the proof -------------------------------------------------------------------------------------
        print(f"actions: {[(a.id, a.status, a.attempts, a.claimed_by) for a in actions]}")
        if done.started_at and done.finished_at:
            print(f"run took {(done.finished_at - done.started_at).total_seconds():.1f}s")
        assert [a.status for a in actions] == ["done"] * SHIPPED, [(a.status, a.last_error) for a in actions]
        shop.configure(rate_limit_enabled=False)  # our own reads below must not be throttled
        shop_ids = sorted(str(i) for i in shop.all_order_ids())
        assert len(shop_ids) == shop.state()["orders"] == HISTORY_ORDERS + NEW_ORDERS
        with db.read_session() as session:
            where = Order.connection_id == tenant.connection_id
            count, distinct = session.execute(
                select(func.count(), func.count(func.distinct(Order.external_id))).where(where)
            ).one()
            ours = sorted(session.scalars(select(Order.external_id).where(where)))
        assert count == distinct, f"{count - distinct} duplicated orders"
        assert ours == shop_ids

        sent = [r for r in shop.requests("POST", "fulfillments.json") if "update_tracking" not in r["path"]]
        print(f"fulfillments.json POSTs: {[(posted_tracking(r), r['status']) for r in sent]}")
        # one POST per action, or more only if the shop refused the extra ones unprocessed (429)
        created = Counter(posted_tracking(r) for r in sent if 200 <= r["status"] < 300)
        assert created == Counter(tracking.values()), sent
        assert all(200 <= r["status"] < 300 or r["status"] == 429 for r in sent), sent
        by_order = {a.order_id: a for a in actions}
        for order in to_ship:
            fulfillments = shop.admin_get(f"orders/{order['external_id']}.json").json()["order"]["fulfillments"]
            assert len(fulfillments) == 1, (order["external_id"], fulfillments)
            assert fulfillments[0]["tracking_number"] == tracking[order["external_id"]]
            assert by_order[order["id"]].remote_id == str(fulfillments[0]["id"])
    except BaseException:
        print(stage.procs.report())  # the processes' own words, shown with the failure
        raise
    finally:
        stage.procs.stop_all()
        db.dispose()
        shop.close()
        api.close()
