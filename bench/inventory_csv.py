"""Inventory CSV source: a 1,000,000-row stock file, then the same file with 1 % of the rows changed,
synced into Fenicia on SQLite (only changed levels written, available-to-sell recomputed, pushes queued)
and the resulting stock pushes sent to the Shopify simulator (rate limit off).

Baseline, same run, same machine: parse the second file with the csv module and bulk-insert its rows
(SKU, quantity) into a fresh SQLite table with executemany in one transaction (WAL, synchronous=FULL).

Every measured phase runs in its own child process, which reports its wall time, its CPU time (user +
system of every thread, from ``getrusage``), the load average around it and its own peak RSS, so one
phase's figures never include another's. Baseline, second sync and push run ``BENCH_INV_REPEAT`` times
(default 2), each round from a copy of the database taken before the second sync.

The sync and push phases call ``freeze_startup_objects()`` before their clock starts, as ``fenicia
worker`` and ``fenicia serve`` do once started. The push goes through the Shopify connector as
configured by default (its bulk form, GraphQL ``inventorySetQuantities``, many items per call); the
bench counts and times its HTTP calls.

Targets (issue): sync + push <= 20 s, <= 500 MB peak RSS, <= 3x the baseline's time.

    PYTHONPATH=. .venv/bin/python -m bench.inventory_csv      # BENCH_INV_ROWS=1000000 by default
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select

from bench.common import RESULTS_DIR, shopify_simulator

ROWS = int(os.environ.get("BENCH_INV_ROWS", "1000000"))
CHANGED_EVERY = 100  # 1 % of the rows change between the two files
TARGET_SECONDS = 20.0
TARGET_RSS_MB = 500.0
TARGET_RATIO = 3.0
INSERT_CHUNK = 50_000
TARGET_KEYS = ("meets_time_target", "meets_memory_target", "meets_ratio_target", "sync_alone_meets_time_target")
REPEAT = int(os.environ.get("BENCH_INV_REPEAT", "2"))  # baseline, second sync and push, each round from the same state


def _sku(i: int) -> str:
    return f"SKU-{i:07d}"


def _quantity(i: int, second: bool) -> int:
    base = (i * 7919) % 500
    return base + 1 if second and i % CHANGED_EVERY == 0 else base


def _write_file(path: Path, second: bool) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["SKU", "Name", "Qty"])
        writer.writerows((_sku(i), f"Product {i}", _quantity(i, second)) for i in range(ROWS))


# --- the world (not measured) ------------------------------------------------------------------------------


def _settings(data_dir: Path) -> Any:
    from fenicia.core.settings import Settings

    env_file = data_dir / "bench.json"
    values = json.loads(env_file.read_text())
    return Settings(
        data_dir=data_dir,
        database_url=values["url"],
        secret_key=values["key"],
        poll_overlap_seconds=0,
        smtp_host=None,
        allow_private_source_urls=True,  # the Shopify simulator listens on loopback
    )


def _context(data_dir: Path) -> Any:
    import fenicia.db.models  # noqa: F401  (every table registered)
    from fenicia.channels.context import SyncContext
    from fenicia.core.crypto import SecretBox
    from fenicia.db.engine import Database

    settings = _settings(data_dir)
    return SyncContext(Database(settings.database_url), SecretBox(settings.secret_key.encode()), settings, "bench")


def _setup(data_dir: Path, shop_url: str) -> dict[str, int]:
    """Database, 1M products, a spreadsheet source, a Shopify connection; files 1 and 2 on disk."""
    from fenicia.db.migrate import upgrade

    url = f"sqlite:///{data_dir / 'fenicia.db'}"
    upgrade(url)
    (data_dir / "bench.json").write_text(json.dumps({"url": url, "key": Fernet.generate_key().decode()}))
    ctx = _context(data_dir)
    ids = _world(ctx, shop_url)
    _write_file(data_dir / "stock_1.csv", second=False)
    _write_file(data_dir / "stock_2.csv", second=True)
    ctx.db.dispose()
    return ids


def _world(ctx: Any, shop_url: str) -> dict[str, int]:
    from fenicia.accounts.services import create_workspace
    from fenicia.catalog.models import Product
    from fenicia.channels.schemas import ConnectionCreate
    from fenicia.channels.services import create_connection
    from fenicia.inventory.schemas import SourceCreate
    from fenicia.inventory.services import create_source

    now = datetime.now(UTC)
    with ctx.db.session() as s:
        ws = create_workspace(s, "Bench", "bench").id
        source = create_source(
            s, ctx.box, ws, SourceCreate(kind="spreadsheet", name="ERP file", frequency_seconds=None)
        ).id
        conn = create_connection(
            s,
            ctx.box,
            ws,
            ConnectionCreate(
                channel="shopify",
                name="Bench shop",
                # the simulator runs without rate limits: no pacing at Shopify's 2 calls/s either
                settings={"shop_url": shop_url, "page_size": 250, "leak_rate_per_s": 1000, "pacing_headroom_calls": 0},
                credentials={"access_token": "shpat_sandbox", "client_secret": "shpss_sandbox"},
                poll_interval_seconds=None,
                use_default_interval=False,
            ),
        ).id
    for start in range(0, ROWS, INSERT_CHUNK):
        rows = [
            {"workspace_id": ws, "sku": _sku(i), "name": f"Product {i}", "created_at": now, "updated_at": now}
            for i in range(start, min(start + INSERT_CHUNK, ROWS))
        ]
        with ctx.db.session() as s:
            s.execute(insert(Product), rows)
    return {"workspace": ws, "source": source, "connection": conn}


def _place_upload(ctx: Any, ids: dict[str, int], name: str) -> None:
    """Puts a file in place as the source's upload (the upload endpoint's check is measured on its own)."""
    from fenicia.connectors.spreadsheet.files import sha256_of
    from fenicia.inventory import uploads
    from fenicia.inventory.models import InventorySource

    data_dir = ctx.settings.data_dir
    with ctx.db.read_session() as s:
        source = s.get(InventorySource, ids["source"])
    incoming = uploads.begin_upload(ctx.settings, source)
    incoming.discard()
    os.link(data_dir / name, incoming.path)
    incoming.size = (data_dir / name).stat().st_size
    with ctx.db.session() as s:
        uploads.keep_upload(s, ctx.settings, ids["workspace"], ids["source"], incoming, sha256_of(incoming.path), name)


def _list_everything(ctx: Any, ids: dict[str, int], item_refs: list[str]) -> None:
    """Every product listed on the shop, already showing the first file's quantity (in sync)."""
    from fenicia.catalog.models import Product
    from fenicia.channels.models import Listing

    now = datetime.now(UTC)
    with ctx.db.read_session() as s:
        products = s.execute(select(Product.id, Product.sku).where(Product.workspace_id == ids["workspace"])).all()
    for start in range(0, len(products), INSERT_CHUNK):
        rows = []
        for product_id, sku in products[start : start + INSERT_CHUNK]:
            quantity = _quantity(int(sku[4:]), second=False)
            rows.append(
                {
                    "workspace_id": ids["workspace"],
                    "connection_id": ids["connection"],
                    "product_id": product_id,
                    "sku": sku,
                    "external_id": f"L{product_id}",
                    "inventory_ref": item_refs[product_id % len(item_refs)],
                    "last_pushed_quantity": quantity,
                    "ats_quantity": quantity,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with ctx.db.session() as s:
            s.execute(insert(Listing), rows)


async def _shop_items(ctx: Any, connection_id: int) -> list[str]:
    from fenicia.channels.models import ChannelConnection
    from fenicia.channels.services import build_connector

    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, connection_id)
        connector = build_connector(conn, ctx.box, allow_private=True)  # the simulator is on loopback
    refs: list[str] = []
    try:
        async for page in connector.list_listings():
            refs.extend(item.inventory_ref for item in page if item.inventory_ref)
    finally:
        await connector.aclose()
    return refs


# --- the measured phases (each in a child process) ------------------------------------------------------------


class _Clock:
    """Wall and CPU time (``getrusage``: user + system, every thread of this process) of one section."""

    def __init__(self) -> None:
        self.load = os.getloadavg()[0]
        self.wall = time.perf_counter()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu = usage.ru_utime + usage.ru_stime

    def figures(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "seconds": time.perf_counter() - self.wall,
            "cpu_seconds": usage.ru_utime + usage.ru_stime - self.cpu,
            "load": [round(self.load, 2), round(os.getloadavg()[0], 2)],
        }


def _phase_baseline(data_dir: Path, ids: dict[str, int]) -> dict[str, Any]:
    (data_dir / "baseline.db").unlink(missing_ok=True)
    con = sqlite3.connect(data_dir / "baseline.db")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE levels (sku TEXT, qty INTEGER)")
    clock = _Clock()
    with (data_dir / "stock_2.csv").open(newline="") as handle, con:
        reader = csv.reader(handle)
        next(reader)
        con.executemany("INSERT INTO levels VALUES (?, ?)", ((row[0], int(row[2])) for row in reader))
    figures = clock.figures()
    con.close()
    return figures


def _phase_sync(data_dir: Path, ids: dict[str, int]) -> dict[str, Any]:
    from fenicia.core.startup import freeze_startup_objects
    from fenicia.inventory.runs import execute_source_run
    from fenicia.inventory.services import request_source_sync

    ctx = _context(data_dir)
    with ctx.db.session() as s:
        run_id = request_source_sync(s, ids["workspace"], ids["source"], trigger="manual")[0].id
    kicked: list[int] = []
    freeze_startup_objects()  # as `fenicia worker` and `fenicia serve` do once started
    clock = _Clock()
    asyncio.run(execute_source_run(ctx, run_id, kicked.append))
    return clock.figures() | {"run": _run_figures(ctx, run_id), "kicks": len(kicked)}


def _phase_push(data_dir: Path, ids: dict[str, int]) -> dict[str, Any]:
    from fenicia.core.startup import freeze_startup_objects
    from fenicia.inventory.push import push_stock

    ctx = _context(data_dir)
    http = _count_http_calls()
    freeze_startup_objects()
    clock = _Clock()
    sent = asyncio.run(push_stock(ctx, ids["connection"]))
    return clock.figures() | {"sent": sent, "http_calls": http["calls"], "http_seconds": http["seconds"]}


def _count_http_calls() -> dict[str, Any]:
    """Counts and times every HTTP call the connector makes (the bench's own instrument, around httpx)."""
    import httpx

    stats: dict[str, Any] = {"calls": 0, "seconds": 0.0}
    original = httpx.AsyncClient.send

    async def send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        start = time.perf_counter()
        try:
            return await original(self, request, **kwargs)
        finally:
            stats["calls"] += 1
            stats["seconds"] += time.perf_counter() - start

    httpx.AsyncClient.send = send  # type: ignore[method-assign]
    return stats


def _phase_upload_check(data_dir: Path, ids: dict[str, int]) -> dict[str, Any]:
    """What POST .../upload adds before a sync: the whole file read once by the connector."""
    from fenicia.connectors.spreadsheet.files import sha256_of
    from fenicia.inventory import uploads
    from fenicia.inventory.models import InventorySource

    ctx = _context(data_dir)
    with ctx.db.read_session() as s:
        source = s.get(InventorySource, ids["source"])
    incoming = uploads.begin_upload(ctx.settings, source)
    incoming.discard()
    os.link(data_dir / "stock_2.csv", incoming.path)
    incoming.size = incoming.path.stat().st_size
    clock = _Clock()
    rows = asyncio.run(uploads.check_file(source, ctx.box, ctx.settings, incoming, sha256_of(incoming.path)))
    figures = clock.figures()
    incoming.path.unlink()
    return figures | {"rows": rows}


def _run_figures(ctx: Any, run_id: int) -> dict[str, Any]:
    from fenicia.inventory.models import SourceRun

    with ctx.db.read_session() as s:
        run = s.get(SourceRun, run_id)
        return {
            "status": run.status,
            "error": run.error_message,
            "read": run.rows_read,
            "mapped": run.rows_mapped,
            "changed": run.rows_changed,
            "zeroed": run.rows_zeroed,
        }


PHASES = {
    "baseline": _phase_baseline,
    "sync": _phase_sync,
    "push": _phase_push,
    "upload_check": _phase_upload_check,
}


def _child(argv: list[str]) -> int:
    name, data_dir, ids = argv[1], Path(argv[2]), json.loads(argv[3])
    figures = PHASES[name](data_dir, ids)
    figures["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(figures, default=str))
    return 0


def _peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM); ``ru_maxrss`` survives exec on Linux, so a child
    started by a big parent would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(name: str, data_dir: Path, ids: dict[str, int]) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.inventory_csv", "--phase", name, str(data_dir), json.dumps(ids)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{done.stderr[-4000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _levels_of(data_dir: Path, ids: dict[str, int]) -> int:
    from fenicia.inventory.models import StockLevel

    ctx = _context(data_dir)
    with ctx.db.read_session() as s:
        count = int(s.scalar(select(func.count(StockLevel.id)).where(StockLevel.source_id == ids["source"])) or 0)
    ctx.db.dispose()
    return count


def _prepare_second_sync(data_dir: Path, ids: dict[str, int], shop_url: str) -> None:
    ctx = _context(data_dir)
    item_refs = asyncio.run(_shop_items(ctx, ids["connection"]))
    _list_everything(ctx, ids, item_refs)
    _place_upload(ctx, ids, "stock_2.csv")
    ctx.db.dispose()


def _restore(data_dir: Path, saved: Path) -> None:
    """The database as it was before the second sync (each repetition syncs and pushes the same change)."""
    for suffix in ("-wal", "-shm"):
        (data_dir / f"fenicia.db{suffix}").unlink(missing_ok=True)
    shutil.copyfile(saved, data_dir / "fenicia.db")


def _measure(data_dir: Path, shop_url: str) -> dict[str, Any]:
    ids = _setup(data_dir, shop_url)
    ctx = _context(data_dir)
    _place_upload(ctx, ids, "stock_1.csv")
    ctx.db.dispose()
    initial = _run_child("sync", data_dir, ids)  # the first import (nothing listed yet), for scale
    _prepare_second_sync(data_dir, ids, shop_url)
    saved = data_dir / "before_second_sync.db"
    shutil.copyfile(data_dir / "fenicia.db", saved)
    rounds = []
    for _ in range(REPEAT):
        _restore(data_dir, saved)
        rounds.append(_round(*(_run_child(name, data_dir, ids) for name in ("baseline", "sync", "push"))))
    check = _run_child("upload_check", data_dir, ids)
    return _figures(data_dir, ids, initial, check, rounds)


def _round(baseline: dict[str, Any], sync: dict[str, Any], push: dict[str, Any]) -> dict[str, Any]:
    """One repetition: baseline, second sync and push, back to back; ratios and targets."""
    total = sync["seconds"] + push["seconds"]
    peak = max(sync["peak_rss_mb"], push["peak_rss_mb"])
    return {
        "baseline": baseline,
        "sync": sync,
        "push": push,
        "sync_plus_push_seconds": total,
        "ratio_sync_to_baseline": sync["seconds"] / baseline["seconds"],
        "ratio_sync_plus_push_to_baseline": total / baseline["seconds"],
        "meets_time_target": total <= TARGET_SECONDS,
        "meets_memory_target": peak <= TARGET_RSS_MB,
        "meets_ratio_target": total / baseline["seconds"] <= TARGET_RATIO,
        "sync_alone_meets_time_target": sync["seconds"] <= TARGET_SECONDS,
    }


def _figures(
    data_dir: Path, ids: dict[str, int], initial: dict[str, Any], check: dict[str, Any], rounds: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "rows": ROWS,
        "changed_rows": ROWS // CHANGED_EVERY,
        "levels_stored": _levels_of(data_dir, ids),
        "repetitions": len(rounds),
        "initial_import": initial,
        "upload_check": check,
        "rounds": rounds,
        "targets_met_in_rounds": {key: sum(1 for r in rounds if r[key]) for key in TARGET_KEYS},
    }


def _print_summary(figures: dict[str, Any]) -> None:
    print(f"\n== inventory_csv: {figures['rows']:,} rows, {figures['changed_rows']:,} changed")
    _print_phase("first import", figures["initial_import"])
    _print_phase("upload check", figures["upload_check"])
    for number, r in enumerate(figures["rounds"], start=1):
        print(f"  -- round {number} of {figures['repetitions']}")
        for name in ("baseline", "sync", "push"):
            _print_phase(name, r[name])
        push = r["push"]
        print(
            f"  {'push detail':14s} {push['sent']:,} items in {push['http_calls']:,} HTTP calls"
            f" ({push['http_seconds']:.2f} s inside them)"
        )
        print(
            f"  {'sync + push':14s} {r['sync_plus_push_seconds']:7.2f} s; sync {r['ratio_sync_to_baseline']:.1f}x"
            f" and sync + push {r['ratio_sync_plus_push_to_baseline']:.1f}x the baseline"
        )
        print(
            f"  {'targets':14s} <= {TARGET_SECONDS:.0f} s: {_yes(r['meets_time_target'])} (sync alone:"
            f" {_yes(r['sync_alone_meets_time_target'])}); <= {TARGET_RSS_MB:.0f} MB: {_yes(r['meets_memory_target'])};"
            f" <= {TARGET_RATIO:.0f}x baseline: {_yes(r['meets_ratio_target'])}"
        )


def _print_phase(label: str, phase: dict[str, Any]) -> None:
    print(
        f"  {label:14s} {phase['seconds']:7.2f} s  cpu {phase['cpu_seconds']:6.2f} s  {phase['peak_rss_mb']:5.0f} MB"
        f"  load {phase['load'][0]:.1f}-{phase['load'][1]:.1f}"
    )


def _yes(value: bool) -> str:
    return "met" if value else "NOT met"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--phase":
        return _child(argv)
    with tempfile.TemporaryDirectory() as tmp, shopify_simulator() as shop_url:
        figures = _measure(Path(tmp), shop_url)
    RESULTS_DIR.mkdir(exist_ok=True)  # the whole record (every round) in the file; a readable summary printed
    (RESULTS_DIR / "inventory_csv.json").write_text(json.dumps(figures, indent=2, default=str))
    _print_summary(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
