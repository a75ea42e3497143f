"""`fenicia serve --demo` as a real process: orders from all five channels start arriving within seconds,
over real HTTP.

On PostgreSQL (FENICIA_TEST_POSTGRES_URL set) the process gets its own database on the same server,
switched to only through FENICIA_DATABASE_URL: that is the whole PostgreSQL switch.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from fenicia.accounts.models import Workspace
from fenicia.db.engine import Database
from fenicia.sandbox.adapters import CHANNEL_KEYS
from servers import free_port

pytestmark = pytest.mark.slow

POSTGRES_URL = os.environ.get("FENICIA_TEST_POSTGRES_URL")
FENICIA = str(Path(sys.executable).with_name("fenicia"))
DEMO_TOKEN = "fen_demo_" + secrets.token_hex(8)
START_TIMEOUT_S = 60.0
ORDERS_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 40.0

T = TypeVar("T")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _orders(self, channel: str, limit: int) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
        params: dict[str, Any] = {"channel": channel, "limit": limit}
        answer = httpx.get(f"{self.url}/api/v1/orders", params=params, headers=headers, timeout=10)
        answer.raise_for_status()
        page: dict[str, Any] = answer.json()
        return page

    def orders(self, channel: str) -> list[dict[str, Any]]:
        return list(self._orders(channel, 200)["items"])

    def total(self, channel: str) -> int:
        return int(self._orders(channel, 1)["total"])

    def stop(self) -> None:
        """SIGTERM, then a clean shutdown: uvicorn re-raises the signal once its shutdown is done."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        assert code in (0, -signal.SIGTERM), self.output()
        assert "engine_stopped" in self.output() and "Application shutdown complete" in self.output()


def wait_for(what: str, probe: Callable[[], T | None], server: Server, timeout_s: float) -> T:
    """Polls ``probe`` until it returns something truthy; fails with the server's log otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"fenicia exited ({server.process.returncode}) while waiting for {what}:\n{server.output()}")
        try:
            value = probe()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}:\n{server.output()[-6000:]}")


@pytest.fixture
def demo_database_url() -> Iterator[str | None]:
    """None on SQLite (the default file in the data dir); a database of its own on PostgreSQL."""
    if not POSTGRES_URL:
        yield None
        return
    name = f"fenicia_demo_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def demo_env(tmp_path: Path, demo_database_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FENICIA_")}
    env.update({"FENICIA_DATA_DIR": str(tmp_path / "data"), "FENICIA_DEMO_API_TOKEN": DEMO_TOKEN})
    # Customers act every second and polls are planned every second, so Amazon and Walmart (polled only)
    # show their new orders within seconds too.
    env.update({"FENICIA_SANDBOX_GENERATOR_INTERVAL_SECONDS": "1", "FENICIA_SCHEDULER_TICK_SECONDS": "1"})
    env["FENICIA_RETRY_DELAYS_SECONDS"] = "[0.5, 1, 2]"  # a failed run is retried at once, not after 5 minutes
    env["FENICIA_QUEUE_POLLING_SECONDS"] = "0.5"
    if demo_database_url:
        env["FENICIA_DATABASE_URL"] = demo_database_url
    return env


def start_demo(env: dict[str, str], log: Path) -> Server:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [FENICIA, "serve", "--demo", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    wait_for("/healthz", lambda: httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200, server, 60)
    return server


def count_workspaces(env: dict[str, str]) -> int:
    url = env.get("FENICIA_DATABASE_URL") or f"sqlite:///{Path(env['FENICIA_DATA_DIR']) / 'fenicia.db'}"
    db = Database(url)
    try:
        with db.read_session() as session:
            return int(session.scalar(select(func.count()).select_from(Workspace)) or 0)
    finally:
        db.dispose()


@pytest.fixture
def servers_started() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)


def test_demo_orders_arrive_within_seconds_and_a_restart_reuses_the_store(
    demo_env: dict[str, str], tmp_path: Path, servers_started: list[Server]
) -> None:
    subprocess.run([FENICIA, "migrate"], env=demo_env, check=True, capture_output=True, timeout=120)

    first = start_demo(demo_env, tmp_path / "first.log")
    servers_started.append(first)
    initial = wait_for("orders from all five channels", lambda: _every_channel(first), first, ORDERS_TIMEOUT_S)
    wait_for("more orders from the channels' customers", lambda: _grown(first, initial), first, ORDERS_TIMEOUT_S)
    banner = first.output()
    assert f"Fenicia demo is running at {first.url}" in banner
    assert "demo@fenicia.local / demo-password" in banner and DEMO_TOKEN in banner
    for key in CHANNEL_KEYS:
        assert f"{first.url}/_sim/{key}/demo-store" in banner
    serving = next(line for line in banner.splitlines() if line.startswith("Fenicia serving on"))
    assert ("(database postgresql+psycopg://" if POSTGRES_URL else "(database sqlite:///") in serving
    grown_shop = _numbers(first)
    first.stop()
    assert count_workspaces(demo_env) == 1

    second = start_demo(demo_env, tmp_path / "second.log")
    servers_started.append(second)
    kept = _numbers(second)
    assert grown_shop <= kept  # Fenicia's database kept every imported order
    restarted = _counts(second)
    fresh = wait_for("orders from the restarted shop", lambda: _numbers(second) - kept, second, ORDERS_TIMEOUT_S)
    assert min(int(number.lstrip("#")) for number in fresh) > max(int(n.lstrip("#")) for n in kept)
    wait_for("orders from every restarted channel", lambda: _grown(second, restarted), second, ORDERS_TIMEOUT_S)
    assert count_workspaces(demo_env) == 1
    assert DEMO_TOKEN in second.output()
    second.stop()


def _counts(server: Server) -> dict[str, int]:
    return {key: server.total(key) for key in CHANNEL_KEYS}


def _every_channel(server: Server) -> dict[str, int] | None:
    counts = _counts(server)
    return counts if all(counts.values()) else None


def _grown(server: Server, than: dict[str, int]) -> dict[str, int] | None:
    counts = _counts(server)
    return counts if all(counts[key] > than[key] for key in CHANNEL_KEYS) else None


def _numbers(server: Server) -> set[str]:
    """The Shopify orders' numbers (#1001...): the shop numbers new orders after those imported."""
    return {order["number"] for order in server.orders("shopify")}
