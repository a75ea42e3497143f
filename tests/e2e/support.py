"""Helpers for the process-level tests: real `fenicia` processes, real loopback HTTP, bounded waits.

Nothing here reaches into a running process: processes are started with `subprocess.Popen`, talked
to over HTTP, and killed by their own pid. Databases are read in-process, only to check outcomes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import make_url

from fenicia.accounts.services import create_api_token, create_workspace
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database

FENICIA = str(Path(sys.executable).with_name("fenicia"))
POSTGRES_URL = os.environ.get("FENICIA_TEST_POSTGRES_URL")
START_TIMEOUT_S = 45.0  # a process answering on its port (DBOS launch included) on a busy 2-CPU box
STOP_TIMEOUT_S = 20.0
TEST_BUDGET_S = 110.0  # every wait of a test together: a stuck test fails, it never hangs CI
POLL_S = 0.1

# Small engine intervals: a dead worker is noticed within seconds, never a stalled-but-alive one.
FAST_ENGINE_ENV = {
    "FENICIA_WORKER_HEARTBEAT_SECONDS": "0.5",
    "FENICIA_WORKER_DEAD_AFTER_SECONDS": "3",
    "FENICIA_RECONCILE_INTERVAL_SECONDS": "1",
    "FENICIA_SCHEDULER_TICK_SECONDS": "0.5",
    "FENICIA_SANDBOX_GENERATOR_INTERVAL_SECONDS": "0",
    "FENICIA_LOG_LEVEL": "WARNING",
}

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- processes ------------------------------------------------------------------------------------


@dataclass
class Proc:
    """One child process with its combined output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def sigkill(self) -> None:
        """The crash: no handler runs, nothing is flushed, nothing is stopped cleanly."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time. Safe to call twice."""
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.sigkill()


@dataclass
class Procs:
    """Every process a test started, stopped (newest first) in its `finally`."""

    logs_dir: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, args: Sequence[str], env: dict[str, str]) -> Proc:
        log = self.logs_dir / f"{len(self.started):02d}-{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen([FENICIA, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            with contextlib.suppress(Exception):
                proc.stop()

    def report(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid}, rc {p.popen.poll()}) ---\n{p.log_tail()}" for p in self.started)


def run_command(args: Sequence[str], env: dict[str, str], timeout_s: float = 120.0) -> str:
    """A short-lived `fenicia` command; its output, or an AssertionError with the output."""
    done = subprocess.run([FENICIA, *args], env=env, capture_output=True, timeout=timeout_s, check=False)
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, f"fenicia {' '.join(args)} exited {done.returncode}:\n{output}"
    return output


class WaitTimeout(AssertionError):
    pass


def wait_until(
    what: str,
    probe: Callable[[], T | None],
    timeout_s: float,
    *,
    watch: Sequence[Proc] = (),
    interval_s: float = POLL_S,
) -> T:
    """Polls `probe` until it returns something truthy (returned); fails after `timeout_s`, or at once
    when a watched process exits. HTTP errors while polling count as "not yet"."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        for proc in watch:
            if not proc.alive():
                raise AssertionError(
                    f"{proc.name} exited ({proc.popen.returncode}) while waiting for {what}:\n{proc.log_tail()}"
                )
        try:
            value = probe()
            if value:
                return value
        except (httpx.HTTPError, OSError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")
        time.sleep(interval_s)


def base_env(data_dir: Path, database_url: str, secret_key: str, **extra: str) -> dict[str, str]:
    """The environment of every fenicia process of a test: no FENICIA_* leaks in from outside."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FENICIA_")}
    env.update(FAST_ENGINE_ENV)
    env.update(
        {
            "FENICIA_DATA_DIR": str(data_dir),
            "FENICIA_DATABASE_URL": database_url,
            "FENICIA_SECRET_KEY": secret_key,
            "FENICIA_ALLOW_PRIVATE_SOURCE_URLS": "true",  # every simulator of a test listens on loopback
        }
    )
    env.update(extra)
    return env


# -- databases ------------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the server of FENICIA_TEST_POSTGRES_URL; dropped (forcibly) after."""
    assert POSTGRES_URL, "FENICIA_TEST_POSTGRES_URL is not set"
    name = f"{prefix}_{secrets.token_hex(4)}"
    server = make_url(POSTGRES_URL)
    admin = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Tenant:
    workspace_id: int
    token: str
    connection_id: int


def seed_tenant(database_url: str, secret_key: str, shop_url: str, **shop_settings: Any) -> Tenant:
    """A workspace, an API token and a manual-only Shopify connection, through the real services."""
    db = Database(database_url)
    try:
        with db.session() as session:
            ws = create_workspace(session, "E2E Shop", f"e2e-{secrets.token_hex(3)}", "ops@e2e.test")
            _, token = create_api_token(session, ws.id, "e2e")
            data = ConnectionCreate(
                channel="shopify",
                name="E2E Shopify",
                settings={"shop_url": shop_url, **shop_settings},
                credentials={"access_token": SHOP_ACCESS_TOKEN, "client_secret": SHOP_CLIENT_SECRET},
                poll_interval_seconds=None,
                use_default_interval=False,  # manual: only webhooks and "Sync orders" act
            )
            conn = create_connection(session, SecretBox(secret_key.encode()), ws.id, data)
            session.flush()
            session.refresh(conn)
            # a polling connection would import orders on its own and hide a lost webhook (test_setup.py)
            assert conn.poll_interval_seconds is None, f"manual connection stored as {conn.poll_interval_seconds}s"
            return Tenant(ws.id, token, conn.id)
    finally:
        db.dispose()


# -- the standalone Shopify simulator -------------------------------------------------------------

SHOP_ACCESS_TOKEN = "shpat_sandbox"  # what `fenicia sandbox shopify` prints
SHOP_CLIENT_SECRET = "shpss_sandbox"
SHOP_API_VERSION = "2024-04"


class Shop:
    """Client of one standalone simulator: its `/_sandbox/` control API and its Admin REST API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def control(self, verb: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self.http.request(verb, f"/_sandbox/{path}", json=body, params=params)
        assert response.status_code < 300, f"{verb} /_sandbox/{path}: {response.status_code} {response.text}"
        return response.json()

    def ready(self) -> bool:
        return self.http.get("/_sandbox/state").status_code == 200

    def configure(self, **changes: Any) -> None:
        self.control("POST", "config", changes)

    def config(self) -> dict[str, Any]:
        return dict(self.control("GET", "config")["config"])

    def subscribe(self, address: str, topics: list[str]) -> None:
        self.control("POST", "webhooks", {"address": address, "topics": topics})

    def create_order(self, **overrides: Any) -> dict[str, Any]:
        return dict(self.control("POST", "orders", overrides)["order"])

    def edit_order(self, order_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return dict(self.control("POST", f"orders/{order_id}/edit", changes)["order"])

    def deliveries(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "webhooks/deliveries")["deliveries"])

    def state(self) -> dict[str, Any]:
        return dict(self.control("GET", "state"))

    def requests(self, method: str, path_contains: str) -> list[dict[str, Any]]:
        return list(
            self.control("GET", "requests", params={"method": method, "path_contains": path_contains})["requests"]
        )

    def admin_get(self, path: str, **params: Any) -> httpx.Response:
        headers = {"X-Shopify-Access-Token": SHOP_ACCESS_TOKEN}
        return self.http.get(f"/admin/api/{SHOP_API_VERSION}/{path}", params=params, headers=headers)

    def all_order_ids(self) -> list[int]:
        """Every order id the shop holds, through the Admin API's Link paging (status=any)."""
        ids: list[int] = []
        params: dict[str, Any] = {"status": "any", "limit": 250, "fields": "id"}
        while True:
            response = self.admin_get("orders.json", **params)
            assert response.status_code == 200, f"orders.json: {response.status_code} {response.text}"
            ids.extend(int(o["id"]) for o in response.json()["orders"])
            link = response.links.get("next")
            if not link:
                return ids
            params = {"limit": 250, "fields": "id", "page_info": httpx.URL(link["url"]).params["page_info"]}


class Api:
    """Client of Fenicia's REST API with a workspace's bearer token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30.0, headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def healthy(self) -> dict[str, Any] | None:
        response = self.http.get("/healthz")
        return dict(response.json()) if response.status_code == 200 else None

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.request(method, f"/api/v1/{path}", json=body)
        assert response.status_code == expect, f"{method} /api/v1/{path}: {response.status_code} {response.text}"
        return response.json()


@dataclass
class Stage:
    """Where one test's Fenicia lives: its database, data directory, secret key and processes."""

    backend: str  # "sqlite" | "postgres"
    data_dir: Path
    database_url: str
    secret_key: str
    procs: Procs
    ends_at: float = field(default_factory=lambda: time.monotonic() + TEST_BUDGET_S)

    def left(self, cap_s: float) -> float:
        """A wait's deadline: `cap_s`, but never past the test's whole budget."""
        return max(min(cap_s, self.ends_at - time.monotonic()), 0.0)

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(self.data_dir, self.database_url, self.secret_key, **extra)

    def migrate(self) -> None:
        output = run_command(["migrate"], self.env(), timeout_s=self.left(60.0))
        assert "is up to date" in output, output
