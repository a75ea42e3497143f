"""Bulk sync: 20,000 orders from the Shopify simulator (rate limits off) into Fenicia on SQLite.

Baseline, same run, same machine: plain SQLite inserts (executemany, one transaction) of the same rows
(orders and their lines) that the sync produced. Target: >= 2,000 orders/s for the sync.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.common import bulk_sync_setup, imported, report, shopify_simulator, timed_run
from fenicia.channels.context import SyncContext
from fenicia.db.engine import Database
from fenicia.orders.models import Order, OrderLine

ORDERS = int(os.environ.get("BENCH_BULK_ORDERS", "20000"))


def _setup(data_dir: Path, shop_url: str) -> tuple[SyncContext, int]:
    settings = {"shop_url": shop_url, "page_size": 250}
    credentials = {"access_token": "shpat_sandbox", "client_secret": "shpss_sandbox"}
    return bulk_sync_setup(data_dir, "fenicia", "shopify", settings, credentials)


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


def main(argv: list[str] | None = None) -> int:
    with tempfile.TemporaryDirectory() as tmp, shopify_simulator(orders=ORDERS) as shop_url:
        ctx, run_id = _setup(Path(tmp), shop_url)
        sync_s = timed_run(ctx, run_id)
        count, _ = imported(ctx)
        base_s = _baseline(ctx.db, Path(tmp) / "baseline.db")
        report(
            "bulk_sync",
            {
                "orders": count,
                "sync_seconds": sync_s,
                "sync_orders_per_s": count / sync_s,
                "baseline_plain_inserts_seconds": base_s,
                "baseline_orders_per_s": count / base_s,
                "ratio_sync_to_baseline_rate": (count / sync_s) / (count / base_s),
                "target_orders_per_s": 2000,
                "meets_target": count / sync_s >= 2000,
            },
        )
        ctx.db.dispose()
    return 0


if __name__ == "__main__":
    main()
