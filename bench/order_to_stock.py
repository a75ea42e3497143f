"""Order to stock: latency from an order webhook on one channel to the new quantity accepted by another.

Two simulated Shopify stores run in this process (real HTTP on loopback); Fenicia runs as ``fenicia serve``
(embedded mode: web and worker in one process, SQLite). Store B's listings are imported and stocked, store
A sends ``orders/create`` webhooks to Fenicia. For each order we time from asking store A to create it
until store B has answered a stock write carrying the lowered quantity (or a lower one: several orders
may travel in one push) without refusing it: GraphQL ``inventorySetQuantities`` (the connector's
default) or REST ``inventory_levels/set.json``. Target: p99 <= 2 s.

The stores have a standard plan's limits, on by default in the simulator: REST 2 calls/s
(``--leak-rate R`` changes it) and GraphQL 100 cost points/s, i.e. ten 10-point stock mutations a
second, each carrying up to 250 quantities. ``--polling S`` runs the app and a worker Engine in this
process with a DBOS queue polling interval of S seconds instead of ``fenicia serve`` (which polls every
``FENICIA_QUEUE_POLLING_SECONDS``, 0.5 s by default).

    python -m bench.order_to_stock [orders] [interval_s] [--polling S] [--leak-rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.fernet import Fernet
from sqlalchemy import select

from bench.common import free_port, percentile, report, wait_http
from fenicia.accounts.services import create_workspace
from fenicia.api.app import create_app
from fenicia.catalog.imports import import_listings
from fenicia.catalog.models import Location
from fenicia.channels.context import SyncContext
from fenicia.channels.models import Listing
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.connectors.shopify.sim_config import ShopifySimConfig
from fenicia.connectors.shopify.simulator import ShopifySimulator
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade
from fenicia.engine.runtime import Engine
from fenicia.inventory import ats
from fenicia.inventory.models import InventorySource, StockLevel
from fenicia.inventory.push import push_stock
from fenicia.runtime import Lifecycle, build_context, install_lifespan

ORDERS = int(os.environ.get("BENCH_STOCK_ORDERS", "200"))
INTERVAL_S = float(os.environ.get("BENCH_STOCK_INTERVAL_SECONDS", "0.25"))
PRODUCTS = 20
START_QUANTITY = 10_000
STANDARD_LEAK_RATE_PER_S = 2.0  # Shopify REST, standard plan (channels.md: Advanced 4/s, Plus 20/s)
WAIT_PER_ORDER_S = 30.0
REST_SET_PATH = "inventory_levels/set.json"
GRAPHQL_PATH = "graphql.json"
ENGINE_ENV = {  # the engine's own loops, a little quicker than the defaults; queue polling is the default
    "FENICIA_SCHEDULER_TICK_SECONDS": "1",
    "FENICIA_RECONCILE_INTERVAL_SECONDS": "5",
    "FENICIA_LOG_LEVEL": "WARNING",
    "FENICIA_SANDBOX_GENERATOR_INTERVAL_SECONDS": "0",
}


# --- the stores ---------------------------------------------------------------------------------------


@dataclass
class AcceptLog:
    """Quantities store B accepted: (inventory item, available, when), recorded as its answer goes out."""

    entries: list[tuple[int, int, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: Any) -> Any:
        async def logged(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http" or not scope["path"].endswith((REST_SET_PATH, GRAPHQL_PATH)):
                await app(scope, receive, send)
                return
            request, answer = bytearray(), bytearray()

            async def receive_body() -> Any:
                message = await receive()
                request.extend(message.get("body", b""))
                return message

            async def send_noting(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.body":
                    answer.extend(message.get("body", b""))
                    if not message.get("more_body"):
                        self._note(scope["path"], bytes(request), bytes(answer))
                await send(message)

            await app(scope, receive_body, send_noting)

        return logged

    def _note(self, path: str, request: bytes, answer: bytes) -> None:
        accepted = _accepted(path, json.loads(request), json.loads(answer))
        now = time.monotonic()
        with self.lock:
            self.entries.extend((item, quantity, now) for item, quantity in accepted)

    def accepted_at(self, item: int, at_most: int, after: float) -> float | None:
        with self.lock:
            times = [t for i, qty, t in self.entries if i == item and qty <= at_most and t >= after]
        return min(times) if times else None


def _accepted(path: str, request: Any, answer: Any) -> list[tuple[int, int]]:
    """(inventory item, available) a stock write set: a REST set answered with its level, or a GraphQL
    ``inventorySetQuantities`` answered without user errors (Shopify applied the whole input)."""
    if path.endswith(REST_SET_PATH):
        level = answer.get("inventory_level") if isinstance(answer, dict) else None
        return [(int(request["inventory_item_id"]), int(request["available"]))] if level else []
    if "inventorySetQuantities" not in str(request.get("query", "")):
        return []
    payload = ((answer.get("data") or {}).get("inventorySetQuantities")) or {}
    if payload.get("userErrors") or payload.get("inventoryAdjustmentGroup") is None:
        return []
    rows = request["variables"]["input"]["quantities"]
    return [(int(str(row["inventoryItemId"]).rsplit("/", 1)[1]), int(row["quantity"])) for row in rows]


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _store(seed: int, domain: str, leak_rate: float) -> ShopifySimulator:
    config = ShopifySimConfig(
        seed=seed,
        shop_domain=domain,
        leak_rate_per_s=leak_rate,
        bucket_size=max(40, int(leak_rate * 20)),
        decrement_inventory_on_order=False,
    )
    return ShopifySimulator(config)


# --- Fenicia's side -----------------------------------------------------------------------------------


@dataclass
class Setup:
    settings: Settings
    conn_a: int
    items: list[tuple[str, int]]  # (SKU, store B inventory item id) of the stocked products


def _connection(db: Database, box: SecretBox, ws: int, name: str, url: str, leak_rate: float) -> int:
    data = ConnectionCreate(
        channel="shopify",
        name=name,
        settings={"shop_url": url, "leak_rate_per_s": leak_rate},
        credentials={"access_token": "shpat_sandbox", "client_secret": "shpss_sandbox"},
        poll_interval_seconds=None,
    )
    with db.session() as s:
        return create_connection(s, box, ws, data).id


def _stock(db: Database, box: SecretBox, ws: int, conn_b: int) -> list[tuple[str, int]]:
    """Gives PRODUCTS of store B's listings a stock level and recomputes them (pushes queued)."""
    snapshot = utcnow() - timedelta(minutes=1)
    with db.session() as s:
        location = Location(workspace_id=ws, code="MAIN", name="Main")
        source = InventorySource(
            workspace_id=ws, kind="spreadsheet", name="Bench ERP", credentials_encrypted=box.encrypt({})
        )
        s.add_all([location, source])
        s.flush()
        query = select(Listing).where(Listing.connection_id == conn_b, Listing.product_id.is_not(None))
        listings = list(s.scalars(query.order_by(Listing.id).limit(PRODUCTS)))
        for listing in listings:
            assert listing.product_id is not None and listing.sku and listing.inventory_ref
            level = StockLevel(
                workspace_id=ws,
                source_id=source.id,
                product_id=listing.product_id,
                location_id=location.id,
                external_code=listing.sku,
                available=START_QUANTITY,
                snapshot_at=snapshot,
                changed_at=snapshot,
            )
            s.add(level)
        s.flush()
        ats.recompute(s, ws, {lst.product_id for lst in listings if lst.product_id}, "bench setup")
        return [(lst.sku or "", int(lst.inventory_ref or 0)) for lst in listings]


def _setup(data_dir: Path, store_a: str, store_b: str, options: Options) -> Setup:
    url = f"sqlite:///{data_dir / 'fenicia.db'}"
    upgrade(url)
    port = free_port()
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key=Fernet.generate_key().decode(),
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        log_level="WARNING",
        allow_private_source_urls=True,  # the simulators listen on loopback
    )
    db, box = Database(url), SecretBox(settings.secret_key.encode())  # type: ignore[union-attr]
    with db.session() as s:
        ws = create_workspace(s, "Bench", "bench").id
    conn_a = _connection(db, box, ws, "Store A", store_a, options.leak_rate)
    conn_b = _connection(db, box, ws, "Store B", store_b, options.leak_rate)
    asyncio.run(import_listings(db, box, ws, conn_b, create_missing=True, allow_private=True))
    items = _stock(db, box, ws, conn_b)
    asyncio.run(push_stock(SyncContext(db, box, settings, "bench-setup"), conn_b))  # B starts in sync
    db.dispose()
    return Setup(settings, conn_a, items)


@contextmanager
def in_process(settings: Settings, polling_s: float) -> Iterator[str]:
    """The API and a worker Engine in this process, with the given DBOS queue polling interval."""
    ctx = build_context(settings, "bench-worker")
    engine = Engine(ctx, executor_id="bench-worker", run_workers=True, queue_polling_seconds=polling_s)
    app = create_app(settings=settings, db=ctx.db, box=ctx.box, dispatcher=engine, engine_state=engine.state)
    install_lifespan(app, Lifecycle(engine, ctx.db, settings))
    with serve_in_thread(app) as url:
        wait_http(f"{url}/healthz", timeout_s=60)
        yield url


@contextmanager
def fenicia_serve(settings: Settings, log_path: Path) -> Iterator[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FENICIA_")}
    env.update(ENGINE_ENV)
    env.update(
        {
            "FENICIA_DATA_DIR": str(settings.data_dir),
            "FENICIA_DATABASE_URL": str(settings.database_url),
            "FENICIA_SECRET_KEY": str(settings.secret_key),
            "FENICIA_PUBLIC_URL": str(settings.public_url),
            "FENICIA_ALLOW_PRIVATE_SOURCE_URLS": "true",
        }
    )
    fenicia = str(Path(sys.executable).with_name("fenicia"))
    with log_path.open("wb") as log:
        proc = subprocess.Popen([fenicia, "serve", "--port", str(settings.port)], env=env, stdout=log, stderr=log)
        try:
            wait_http(f"{settings.public_url}/healthz", timeout_s=60)
            yield str(settings.public_url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- the measurement ----------------------------------------------------------------------------------


@dataclass
class Sent:
    item: int
    expected: int
    at: float


def _send_orders(store_a: str, items: list[tuple[str, int]], count: int, interval_s: float) -> list[Sent]:
    left = {item: START_QUANTITY for _, item in items}
    sent: list[Sent] = []
    with httpx.Client(base_url=store_a, timeout=10) as client:
        for n in range(count):
            sku, item = items[n % len(items)]
            left[item] -= 1
            at = time.monotonic()
            body = {"line_items": [{"sku": sku, "quantity": 1}], "financial_status": "paid"}
            client.post("/_sandbox/orders", json=body).raise_for_status()
            sent.append(Sent(item, left[item], at))
            time.sleep(max(0.0, interval_s - (time.monotonic() - at)))
    return sent


def _latencies(accepts: AcceptLog, sent: list[Sent]) -> tuple[list[float], int]:
    latencies, missing = [], 0
    for order in sent:
        deadline = order.at + WAIT_PER_ORDER_S
        while (
            done := accepts.accepted_at(order.item, order.expected, order.at)
        ) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if done is None:
            missing += 1
        else:
            latencies.append(done - order.at)
    return latencies, missing


@dataclass(frozen=True)
class Options:
    orders: int = ORDERS
    interval_s: float = INTERVAL_S
    polling_s: float | None = None  # None: `fenicia serve`; else in-process with this queue polling
    leak_rate: float = STANDARD_LEAK_RATE_PER_S

    @classmethod
    def parse(cls, argv: list[str]) -> Options:
        parser = argparse.ArgumentParser(prog="python -m bench.order_to_stock", description=__doc__)
        parser.add_argument("orders", nargs="?", type=int, default=ORDERS)
        parser.add_argument("interval_s", nargs="?", type=float, default=INTERVAL_S)
        parser.add_argument("--polling", type=float, default=None, help="in-process, this queue polling (s)")
        parser.add_argument("--leak-rate", type=float, default=STANDARD_LEAK_RATE_PER_S, help="store REST calls/s")
        args = parser.parse_args(argv)
        return cls(args.orders, args.interval_s, args.polling, args.leak_rate)


def _fenicia(options: Options, settings: Settings, log_path: Path) -> Any:
    if options.polling_s is None:
        return fenicia_serve(settings, log_path)
    return in_process(settings, options.polling_s)


def run(options: Options) -> dict[str, Any]:
    accepts = AcceptLog()
    store_a = _store(1, "store-a.myshopify.com", options.leak_rate)
    store_b = _store(2, "store-b.myshopify.com", options.leak_rate)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_in_thread(store_a.app) as url_a,
        serve_in_thread(accepts.wrap(store_b.app)) as url_b,
    ):
        setup = _setup(Path(tmp), url_a, url_b, options)
        log_path = Path(tmp) / "serve.log"
        with _fenicia(options, setup.settings, log_path) as fenicia:
            address = f"{fenicia}/webhooks/shopify/{setup.conn_a}"
            hook = {"address": address, "topics": ["orders/create"]}
            httpx.post(f"{url_a}/_sandbox/webhooks", json=hook, timeout=10).raise_for_status()
            _latencies(accepts, _send_orders(url_a, setup.items[:1], 1, 0))  # warm-up, not counted
            started = time.monotonic()
            sent = _send_orders(url_a, setup.items[1:], options.orders, options.interval_s)
            latencies, missing = _latencies(accepts, sent)
            elapsed = time.monotonic() - started
        log_tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
    return _figures(options, latencies, missing, elapsed, log_tail)


def _figures(options: Options, latencies: list[float], missing: int, elapsed: float, log_tail: str) -> dict[str, Any]:
    p99 = percentile(latencies, 99)
    if options.polling_s is None:
        mode = "fenicia serve (embedded: web + worker; DBOS queue polling FENICIA_QUEUE_POLLING_SECONDS, default 0.5 s)"
    else:
        mode = f"in-process API + worker Engine (DBOS queue polling {options.polling_s} s)"
    figures: dict[str, Any] = {
        "orders": options.orders,
        "order_interval_s": options.interval_s,
        "products": PRODUCTS - 1,
        "store_b_rest_calls_per_s": options.leak_rate,
        "accepted": len(latencies),
        "missing": missing,
        "p50_s": percentile(latencies, 50),
        "p90_s": percentile(latencies, 90),
        "p99_s": p99,
        "max_s": max(latencies) if latencies else None,
        "run_seconds": elapsed,
        "target_p99_s": 2.0,
        "meets_target": missing == 0 and p99 <= 2.0,
        "mode": f"{mode}, SQLite, two Shopify simulators on loopback",
    }
    if missing:
        figures["serve_log_tail"] = log_tail
    return figures


def main(argv: list[str] | None = None) -> int:
    options = Options.parse(argv or [])
    figures = run(options)
    name = "order_to_stock" if options.polling_s is None else "order_to_stock_in_process"
    report(name, figures)
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
