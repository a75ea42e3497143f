"""Helpers of the browser tests: the `fenicia serve --demo` process, its simulated shop, and Chromium.

The server is a real process on a free loopback port with its own data directory and database (a
SQLite file, or a fresh PostgreSQL database when FENICIA_TEST_POSTGRES_URL is set). The browser is
Debian's Chromium driven by Playwright (never a browser Playwright downloads). Outcomes that a page
does not show are read from the database in-process, the way the process-level tests do.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from e2e.support import Proc, wait_until
from fenicia.accounts.services import create_user, create_workspace
from fenicia.channels.models import ChannelConnection, ConnectionStatus
from fenicia.db.engine import Database
from fenicia.notifications.services import notify
from fenicia.orders.models import Order
from fenicia.sandbox.records import DEMO_EMAIL, DEMO_SLUG, SIM_MOUNT_PREFIX

CHROMIUM = Path(os.environ.get("FENICIA_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "demo-password"  # Settings.demo_password's default, which the server is started with
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_S = 45.0  # any one wait for the server: a stuck test fails, never hangs
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS_DIR = REPO / "docs" / "screenshots"
T = TypeVar("T")


@dataclass
class DemoServer:
    """One `fenicia serve --demo` process and what the tests need to reach it."""

    url: str
    proc: Proc
    db: Database
    api_version: str = "2024-04"

    # -- the simulated shop mounted on the server -----------------------------------------------

    @property
    def shop_url(self) -> str:
        return f"{self.url}{SIM_MOUNT_PREFIX}/{DEMO_SLUG}"

    def shop(self, method: str, path: str, body: Any = None) -> Any:
        """The simulated shop's control API (``/_sandbox/...``)."""
        response = httpx.request(method, f"{self.shop_url}/_sandbox/{path}", json=body, timeout=10)
        assert response.status_code < 300, f"{method} /_sandbox/{path}: {response.status_code} {response.text}"
        return response.json()

    def shop_order(self, external_id: str) -> dict[str, Any]:
        """An order as the shop itself holds it, through its Admin API with the shop's own token."""
        token = self.shop("GET", "config")["config"]["access_token"]
        response = httpx.get(
            f"{self.shop_url}/admin/api/{self.api_version}/orders/{external_id}.json",
            headers={"X-Shopify-Access-Token": token},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        order: dict[str, Any] = response.json()["order"]
        return order

    def place_order(self, **overrides: Any) -> dict[str, Any]:
        """A customer orders in the shop (the shop then sends its webhook to Fenicia)."""
        order: dict[str, Any] = self.shop("POST", "orders", overrides)["order"]
        return order

    # -- Fenicia's database, read in-process ----------------------------------------------------

    def wait(self, what: str, probe: Callable[[], T | None], timeout_s: float = WAIT_S) -> T:
        return wait_until(what, probe, timeout_s, watch=[self.proc], interval_s=0.1)

    def order_id(self, external_id: str) -> int | None:
        """Our id of an order of the demo's Shopify shop (other demo channels may reuse the same ids)."""
        with self.db.read_session() as session:
            query = select(Order.id).where(
                Order.connection_id == self.demo_connection_id(), Order.external_id == str(external_id)
            )
            return session.scalar(query)

    def imported(self, shop_order: dict[str, Any]) -> int:
        """Waits until Fenicia holds the shop's order; its id in Fenicia."""
        return self.wait(f"order {shop_order['name']} in Fenicia", lambda: self.order_id(str(shop_order["id"])))

    def _shopify(self) -> ChannelConnection | None:
        """The demo's Shopify connection: the tests drive its simulated shop."""
        with self.db.read_session() as session:
            query = select(ChannelConnection).where(ChannelConnection.channel == "shopify")
            return session.scalars(query.order_by(ChannelConnection.id).limit(1)).first()

    def demo_connection_id(self) -> int:
        conn = self._shopify()
        assert conn is not None, "the demo has no Shopify connection"
        return conn.id

    def demo_workspace_id(self) -> int:
        conn = self._shopify()
        assert conn is not None, "the demo has no Shopify connection"
        return conn.workspace_id

    def demo_ready(self) -> bool:
        """The Shopify connection's first poll imported the shop's history (and it is not syncing any more)."""
        conn = self._shopify()
        if conn is None or conn.status != ConnectionStatus.COMPLETED:
            return False
        with self.db.read_session() as session:
            orders = session.scalar(select(func.count(Order.id)).where(Order.connection_id == conn.id)) or 0
        return orders > 0

    def new_workspace_user(self, name: str, password: str) -> str:
        """A second tenant on the same server: a workspace with one user; returns the email."""
        email = f"owner-{secrets.token_hex(3)}@{name.lower().replace(' ', '-')}.test"
        with self.db.session() as session:
            workspace = create_workspace(session, name, f"{name.lower().replace(' ', '-')}-{secrets.token_hex(3)}")
            create_user(session, workspace.id, email, password)
        return email

    def notify_demo(self, title: str, message: str, resolution: str, level: str = "error", link: str = "") -> None:
        with self.db.session() as session:
            notify(
                session,
                self.demo_workspace_id(),
                kind="test",
                title=title,
                message=message,
                resolution=resolution,
                level=level,
                link=link or None,
            )


def sign_in(page: Any, email: str, password: str) -> None:
    """The real form: /login, type, submit, land on the dashboard."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def screenshot_path(tmp_dir: Path, name: str) -> Path:
    """Under docs/screenshots when FENICIA_UPDATE_SCREENSHOTS=1 (to commit them), else a temporary directory."""
    if os.environ.get("FENICIA_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS_DIR / f"{name}.png"
    return tmp_dir / f"{name}.png"


__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "DEMO_EMAIL", "DEMO_PASSWORD", "DESKTOP", "PHONE", "DemoServer"]
