"""Dashboard page speed: server-side render time of each main page over 100,000 orders on SQLite.

Seeds a workspace with 100,000 orders (lines, shipments of the shipped ones, a "created" event each,
through the bulk insert path of paged syncs), a second workspace with 20,000 more (so every query
must filter by workspace), notifications and sync runs. Then renders each page in-process (httpx's
ASGI transport, a signed-in session cookie, no network) and reports p50 / p95 / max milliseconds per
page, against a trivial page rendered by the same stack in the same run (a template, no database).
Target: no page over 300 ms.

    PYTHONPATH=. .venv/bin/python -m bench.pages [--orders N] [--rounds N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import func, select

from bench.common import percentile, report
from bench.pages_inventory import inventory_pages
from fenicia.accounts.models import User, Workspace
from fenicia.accounts.services import create_user, create_workspace
from fenicia.accounts.sessions import create_login_session
from fenicia.api.app import create_app
from fenicia.channels.models import ChannelConnection, RunStatus, SyncRun
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.connectors.base import NormalizedLine, NormalizedOrder, NormalizedShipment
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade
from fenicia.notifications.services import notify
from fenicia.orders.bulk_insert import insert_new_orders
from fenicia.orders.models import Order, OrderStatus
from fenicia.web import mount_web
from fenicia.web.auth import SESSION_COOKIE
from fenicia.web.render import render
from fenicia.web.routing import WebRoute

DEFAULT_ORDERS = int(os.environ.get("BENCH_PAGES_ORDERS", "100000"))
DEFAULT_ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", "30"))
TARGET_MS = 300.0
BATCH = 2_000
OTHER_WORKSPACE_ORDERS = 20_000
FIRST_NAMES = ["Ana", "Bob", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lea", "Mo", "Noor"]
LAST_NAMES = ["Ito", "Khan", "Berg", "Sato", "Lima", "Moreau", "Haddad", "Laurent", "Novak", "Okafor", "Silva"]
SKUS = [f"SKU-{n:04d}" for n in range(800)]
STATUS_WEIGHTS = {
    OrderStatus.UNSHIPPED: 30,
    OrderStatus.SHIPPED: 45,
    OrderStatus.DELIVERED: 10,
    OrderStatus.CANCELLED: 8,
    OrderStatus.PENDING: 5,
    OrderStatus.PARTIALLY_SHIPPED: 2,
}
NOW = datetime.now(UTC)


class NoEngine:
    """The dashboard hands work to the engine after commit; the benchmark only reads pages."""

    def run_sync(self, run_id: int, connection_id: int) -> None: ...
    def drain_inbox(self, connection_id: int) -> None: ...
    def push_actions(self, connection_id: int) -> None: ...
    def sync_source(self, run_id: int, source_id: int) -> None: ...
    def push_stock(self, connection_id: int) -> None: ...


def _order(n: int, rng: random.Random) -> NormalizedOrder:
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    placed = NOW - timedelta(minutes=n * 5 + rng.randint(0, 4))  # about one order every 5 minutes, for a year
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    lines = [
        NormalizedLine(external_id=f"{n}-{i}", sku=rng.choice(SKUS), title=f"Item {i}", quantity=rng.randint(1, 3))
        for i in range(rng.randint(1, 3))
    ]
    shipped = status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    shipments = [NormalizedShipment(f"F{n}", "UPS", f"1Z{n:010d}", None, "shipped")] if shipped else []
    return NormalizedOrder(
        external_id=str(5_000_000_000 + n),
        number=f"#{100_000 + n}",
        status=status,
        channel_status=f"status={status}",
        placed_at=placed,
        updated_at=placed + timedelta(hours=1),
        financial_status="paid",
        customer_name=f"{first} {last}",
        customer_email=f"{first.lower()}.{last.lower()}.{n}@mail.example.com",
        shipping_address={"name": f"{first} {last}", "address1": f"Main St {n % 999}", "city": "Austin"},
        currency="USD",
        total=Decimal(rng.randint(1_000, 99_999)) / 100,
        lines=lines,
        shipments=shipments,
    )


def _seed_orders(db: Database, connection_id: int, count: int, start: int) -> None:
    rng = random.Random(start)
    for first in range(start, start + count, BATCH):
        batch = [_order(n, rng) for n in range(first, min(first + BATCH, start + count))]
        with db.session() as session:
            conn = session.get(ChannelConnection, connection_id)
            assert conn is not None
            insert_new_orders(session, conn, batch, "poll")


def _connection(db: Database, box: SecretBox, workspace_id: int, name: str) -> int:
    data = ConnectionCreate(
        channel="shopify",
        name=name,
        settings={"shop_url": "http://127.0.0.1:9/shop"},
        credentials={"access_token": "shpat_bench", "client_secret": "shpss_bench"},
    )
    with db.session() as session:
        return create_connection(session, box, workspace_id, data).id


def _seed_activity(db: Database, workspace_id: int, connection_id: int) -> None:
    """Sync runs (one every 5 minutes for a week) and notifications, as a busy shop has."""
    with db.session() as session:
        for n in range(2_000):
            started = NOW - timedelta(minutes=5 * n)
            session.add(
                SyncRun(
                    workspace_id=workspace_id,
                    connection_id=connection_id,
                    kind="poll",
                    trigger="schedule",
                    status=RunStatus.SUCCEEDED,
                    started_at=started,
                    finished_at=started + timedelta(seconds=2),
                    pages=1,
                    orders_seen=3,
                )
            )
        for n in range(500):
            notify(session, workspace_id, kind="bench", title=f"Notice {n}", message="Something happened.")


def seed(db: Database, box: SecretBox, orders: int) -> tuple[int, int, int]:
    """The benchmark's data; returns (workspace id, user id, connection id) of the measured workspace."""
    with db.session() as session:
        ws = create_workspace(session, "Bench Store", "bench-store", "ops@bench.test").id
        other = create_workspace(session, "Other Store", "other-store").id
        user = create_user(session, ws, "bench@bench.test", "bench-password").id
    conn = _connection(db, box, ws, "Bench Shopify")
    other_conn = _connection(db, box, other, "Other Shopify")
    _seed_orders(db, conn, orders, 0)
    _seed_orders(db, other_conn, OTHER_WORKSPACE_ORDERS, orders)
    _seed_activity(db, ws, conn)
    return ws, user, conn


def _trivial_router() -> APIRouter:
    """The baseline: a page through the same route class and template engine, with no database."""
    router = APIRouter(route_class=WebRoute)

    @router.get("/_bench/trivial")
    def trivial(request: Request) -> Response:
        return render(request, "error.html", {"status": 200, "message": "Trivial page", "resolution": "None."})

    return router


def build_app(settings: Settings, db: Database, box: SecretBox) -> FastAPI:
    app = create_app(settings=settings, db=db, box=box, dispatcher=NoEngine())
    mount_web(app)
    app.include_router(_trivial_router())
    return app


def _session_cookie(db: Database, user_id: int) -> str:
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        _, raw = create_login_session(session, user)
    return raw


def pages(db: Database, workspace_id: int, connection_id: int) -> dict[str, str]:
    """Name → path of every page measured; the order is one in the middle of the list."""
    with db.read_session() as session:
        mine = select(Order.id).where(Order.workspace_id == workspace_id)
        middle = (session.scalar(select(func.count()).select_from(mine.subquery())) or 0) // 2
        order_id = session.scalar(mine.order_by(Order.id).offset(middle).limit(1))
    return {
        "baseline (trivial page)": "/_bench/trivial",
        "home": "/",
        "orders": "/orders",
        "orders page 2000": "/orders?page=2000",
        "orders status=unshipped": "/orders?status=unshipped",
        "orders by channel": f"/orders?connection_id={connection_id}",
        "orders date range": "/orders?placed_from=2026-01-01&placed_to=2026-03-31",
        "orders search customer": "/orders?q=Okafor",
        "orders search number": "/orders?q=%23105000",
        "orders search SKU": "/orders?q=SKU-0042",
        "orders table (live partial)": "/partials/orders-table",
        "order detail": f"/orders/{order_id}",
        "channels": "/channels",
        "channel detail": f"/channels/{connection_id}",
        "notifications": "/notifications",
        "settings": "/settings",
    }


async def measure(app: FastAPI, cookie: str, paths: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Milliseconds per request, per page: a few warm-up requests first, then ``rounds`` measured ones."""
    transport = httpx.ASGITransport(app=app)
    timings: dict[str, list[float]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", cookies={SESSION_COOKIE: cookie}) as c:
        for name, path in paths.items():
            for _ in range(3):
                assert (await c.get(path)).status_code == 200, path
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                response = await c.get(path)
                samples.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, f"{path}: {response.status_code}"
            timings[name] = samples
    return timings


def summary(timings: dict[str, list[float]]) -> dict[str, Any]:
    baseline = statistics.median(timings["baseline (trivial page)"])
    figures: dict[str, Any] = {}
    for name, samples in timings.items():
        p50, p95, worst = statistics.median(samples), percentile(samples, 95), max(samples)
        figures[name] = f"p50 {p50:7.1f}  p95 {p95:7.1f}  max {worst:7.1f} ms  ({p50 / baseline:5.1f}x baseline)"
    slowest = max(max(s) for name, s in timings.items())
    figures["slowest request ms"] = slowest
    figures["target ms"] = TARGET_MS
    figures["meets_target"] = slowest <= TARGET_MS
    return figures


def _seeded(db: Database, box: SecretBox, orders: int) -> tuple[int, int, int]:
    """The data of an earlier run kept in the same directory, or a fresh seed."""
    with db.read_session() as session:
        ws = session.scalar(select(Workspace.id).where(Workspace.slug == "bench-store"))
        if ws is not None:
            user = session.scalar(select(User.id).where(User.workspace_id == ws))
            conn = session.scalar(select(ChannelConnection.id).where(ChannelConnection.workspace_id == ws))
            assert user is not None and conn is not None
            print("reusing the seeded database")
            return ws, user, conn
    start = time.perf_counter()
    seeded = seed(db, box, orders)
    print(f"seeded {orders:,} + {OTHER_WORKSPACE_ORDERS:,} orders in {time.perf_counter() - start:.1f} s")
    return seeded


def run(data_dir: Path, orders: int, rounds: int) -> int:
    url = f"sqlite:///{data_dir / 'fenicia.db'}"
    upgrade(url)
    key_file = data_dir / "bench.key"
    if not key_file.exists():
        key_file.write_text(Fernet.generate_key().decode())
    settings = Settings(data_dir=data_dir, database_url=url, secret_key=key_file.read_text())
    db, box = Database(url), SecretBox(key_file.read_text().encode())
    try:
        ws, user, conn = _seeded(db, box, orders)
        app = build_app(settings, db, box)
        paths = {**pages(db, ws, conn), **inventory_pages(db, box, ws, conn)}
        timings = asyncio.run(measure(app, _session_cookie(db, user), paths, rounds))
        figures = {"seeded_orders": orders, "rounds": rounds, **summary(timings)}
        report("pages", figures)
        return 0 if figures["meets_target"] else 1
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    """``argv`` are this benchmark's own options (none: the defaults, or BENCH_PAGES_ORDERS / _ROUNDS)."""
    parser = argparse.ArgumentParser(prog="bench.pages", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders of the measured workspace")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="measured requests per page")
    parser.add_argument("--keep", type=Path, default=None, help="seed into this directory and keep it (reused later)")
    args = parser.parse_args(argv or [])
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args.keep, args.orders, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        return run(Path(tmp), args.orders, args.rounds)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
