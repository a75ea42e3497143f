"""Bulk sync: 20,000 orders from the Shopify simulator (rate limits off) into Fenicia on SQLite.

Baseline, same run, same machine: plain SQLite inserts (executemany, one transaction) of the same rows
(orders and their lines) that the sync produced. Target: >= 2,000 orders/s for the sync.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bench.common import report, shopify_simulator
from fenicia.accounts.services import create_workspace
from fenicia.channels.context import SyncContext
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection, request_sync
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade
from fenicia.orders.models import Order, OrderLine

ORDERS = int(os.environ.get("BENCH_BULK_ORDERS", "20000"))


def _setup(data_dir: Path, shop_url: str) -> tuple[SyncContext, int, int]:
    url = f"sqlite:///{data_dir / 'fenicia.db'}"
    upgrade(url)
    settings = Settings(
        data_dir=data_dir, database_url=url, secret_key=Fernet.generate_key().decode(), bulk_sync_days=3650
    )
    db, box = Database(url), SecretBox(settings.secret_key.encode())  # type: ignore[union-attr]
    with db.session() as s:
        ws = create_workspace(s, "Bench", "bench")
        conn = create_connection(
            s,
            box,
            ws.id,
            ConnectionCreate(
                channel="shopify",
                name="Bench",
                settings={"shop_url": shop_url, "page_size": 250},
                credentials={"access_token": "shpat_sandbox", "client_secret": "shpss_sandbox"},
            ),
        )
        run, _ = request_sync(s, ws.id, conn.id, kind="bulk")
        return SyncContext(db, box, settings, "bench"), conn.id, run.id


def _baseline(db: Database, target: Path) -> float:
    """Plain sqlite3 inserts of the same order and line rows, one transaction."""
    with db.read_session() as s:
        orders = s.execute(
            select(
                Order.external_id,
                Order.number,
                Order.status,
                Order.channel_status,
                Order.customer_email,
                Order.total,
                Order.placed_at,
            )
        ).all()
        lines = s.execute(
            select(OrderLine.order_id, OrderLine.external_id, OrderLine.sku, OrderLine.title, OrderLine.quantity)
        ).all()
    con = sqlite3.connect(target)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE o (ext TEXT UNIQUE, num TEXT, st TEXT, cst TEXT, email TEXT, total TEXT, placed TEXT)")
    con.execute("CREATE TABLE l (oid INT, ext TEXT, sku TEXT, title TEXT, qty INT)")
    start = time.perf_counter()
    with con:
        con.executemany("INSERT INTO o VALUES (?,?,?,?,?,?,?)", [tuple(str(v) for v in row) for row in orders])
        con.executemany("INSERT INTO l VALUES (?,?,?,?,?)", [tuple(row) for row in lines])
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, shopify_simulator(orders=ORDERS) as shop_url:
        ctx, _conn_id, run_id = _setup(Path(tmp), shop_url)
        start = time.perf_counter()
        asyncio.run(execute_run(ctx, run_id))
        sync_s = time.perf_counter() - start
        with ctx.db.read_session() as s:
            imported = int(s.scalar(select(func.count(Order.id))) or 0)
        base_s = _baseline(ctx.db, Path(tmp) / "baseline.db")
        report(
            "bulk_sync",
            {
                "orders": imported,
                "sync_seconds": sync_s,
                "sync_orders_per_s": imported / sync_s,
                "baseline_plain_inserts_seconds": base_s,
                "baseline_orders_per_s": imported / base_s,
                "ratio_sync_to_baseline_rate": (imported / sync_s) / (imported / base_s),
                "target_orders_per_s": 2000,
                "meets_target": imported / sync_s >= 2000,
            },
        )
        ctx.db.dispose()


if __name__ == "__main__":
    main()
