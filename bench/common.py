"""Shared helpers for benchmarks: subprocess servers, channel simulators, bulk-sync runs, timing, result files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from fenicia.accounts.services import create_workspace
from fenicia.channels.context import SyncContext
from fenicia.channels.models import SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection, request_sync
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade
from fenicia.orders.models import Order

RESULTS_DIR = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s}s")


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None, health_url: str | None = None) -> Iterator[None]:
    """Runs a Python module in a subprocess for the duration of the block."""
    proc = subprocess.Popen(
        [sys.executable, *args], env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        if health_url:
            wait_http(health_url)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def channel_simulator(channel: str, orders: int = 0, *, rate_limited: bool = True) -> Iterator[str]:
    """``python -m fenicia.connectors.<channel>.simulator`` on a free port with ``orders`` past orders
    (``--no-rate-limit`` unless ``rate_limited``); yields its address."""
    port = free_port()
    args = ["-m", f"fenicia.connectors.{channel}.simulator", "--port", str(port), "--orders", str(orders)]
    if not rate_limited:
        args.append("--no-rate-limit")
    url = f"http://127.0.0.1:{port}"
    with process(args, health_url=f"{url}/_sandbox/state"):
        yield url


@contextmanager
def shopify_simulator(orders: int = 0) -> Iterator[str]:
    with channel_simulator("shopify", orders, rate_limited=False) as url:
        yield url


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    """A simulator's ``/_sandbox/{path}`` control call; its JSON answer."""
    answer = httpx.request(method, f"{url}/_sandbox/{path}", json=body, timeout=60)
    answer.raise_for_status()
    return answer.json()


def bulk_sync_setup(
    data_dir: Path, name: str, channel: str, settings: dict[str, Any], credentials: dict[str, Any]
) -> tuple[SyncContext, int]:
    """A fresh SQLite database ``{name}.db`` in ``data_dir`` with one ``channel`` connection and a queued
    bulk run (over ten years of orders); the engine's context and the run's id."""
    db_url = f"sqlite:///{data_dir / f'{name}.db'}"
    upgrade(db_url)
    app_settings = Settings(
        data_dir=data_dir,
        database_url=db_url,
        secret_key=Fernet.generate_key().decode(),
        bulk_sync_days=3650,
        allow_private_source_urls=True,  # the simulators listen on loopback
    )
    db, box = Database(db_url), SecretBox(app_settings.secret_key.encode())  # type: ignore[union-attr]
    with db.session() as s:
        ws = create_workspace(s, f"Bench {name}", f"bench-{name}")
        data = ConnectionCreate(channel=channel, name="Bench", settings=settings, credentials=credentials)
        conn = create_connection(s, box, ws.id, data)
        run, _ = request_sync(s, ws.id, conn.id, kind="bulk")
        return SyncContext(db, box, app_settings, "bench"), run.id


def timed_run(ctx: SyncContext, run_id: int) -> float:
    """Runs the sync run to its end; the seconds it took."""
    start = time.perf_counter()
    asyncio.run(execute_run(ctx, run_id))
    return time.perf_counter() - start


def window_run(ctx: SyncContext, run_id: int, window_s: float) -> float:
    """Runs the sync run for ``window_s`` seconds, then stops it; the seconds it ran."""

    async def run_for_the_window() -> None:
        task = asyncio.create_task(execute_run(ctx, run_id))
        await asyncio.sleep(window_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    start = time.perf_counter()
    asyncio.run(run_for_the_window())
    return time.perf_counter() - start


def imported(ctx: SyncContext, run_id: int | None = None) -> tuple[int, str]:
    """How many orders the database holds, and the run's status."""
    with ctx.db.read_session() as s:
        count = int(s.scalar(select(func.count(Order.id))) or 0)
        run = s.get(SyncRun, run_id) if run_id is not None else None
        return count, run.status if run is not None else "missing"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, figures: dict[str, Any]) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"\n== {name}")
    for key, value in figures.items():
        print(f"  {key:40s} {value:.3f}" if isinstance(value, float) else f"  {key:40s} {value}")
