"""The demo: a "Demo Store" in Fenicia connected to a simulated Shopify shop served by the same process.

``fenicia serve --demo`` on an empty database creates the Demo Store (workspace ``demo-store``, user
``demo@fenicia.local``, an API token, the "Demo Shopify" connection), seeds a few past orders in the
simulated shop, and once the server accepts connections subscribes our webhook address over HTTP (as
with real Shopify), places a few orders and switches on the shop's customer generator: new orders,
edits and cancellations then arrive every few seconds, by webhook, and by polling as a safety net.

The simulated shop keeps its state in memory, so every start of the process begins with a fresh shop:
the Demo Store and every order already imported stay in Fenicia's database, the shop's earlier orders
are gone from the shop itself. A later start reuses the Demo Store's connection (pointing it at this
process's address) and continues the shop's order numbers after the highest one imported.
"""

from __future__ import annotations

import asyncio
import secrets

import structlog

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import build_connector
from fenicia.channels.views import webhook_url
from fenicia.connectors.shopify import SPEC
from fenicia.connectors.shopify.simulator import ShopifySimConfig, ShopifySimulator
from fenicia.core.errors import FeniciaError
from fenicia.core.settings import Settings
from fenicia.sandbox.records import (
    DEMO_EMAIL,
    DEMO_SLUG,
    DemoRecords,
    create_demo_records,
    database_is_empty,
    demo_shop_url,
    reuse_demo_records,
)

log = structlog.get_logger(__name__)

HISTORY_ORDERS = 12  # past orders in the shop on a first start: the first poll imports them
HISTORY_DAYS = 7.0  # spread over this many days (never more than half the initial import window)
LIVE_ORDERS = 3  # orders placed as soon as the webhooks are subscribed: they arrive by webhook


def demo_sim_config(settings: Settings) -> ShopifySimConfig:
    """A shop with fresh secrets and a fresh seed; the generator starts once webhooks are subscribed."""
    return ShopifySimConfig(
        shop_domain=f"{DEMO_SLUG}.myshopify.com",
        access_token=f"shpat_{secrets.token_hex(16)}",
        client_secret=f"shpss_{secrets.token_hex(16)}",
        seed=secrets.randbelow(2**31),  # new order ids on every start, unlike the ones imported before
        bulk_history_days=min(HISTORY_DAYS, settings.initial_import_days / 2),
        generator_interval_s=None,
    )


class DemoSandbox:
    """The in-process simulated shop and the Demo Store that uses it."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self.simulator = ShopifySimulator(demo_sim_config(ctx.settings))
        self.records: DemoRecords | None = None

    def prepare(self) -> DemoRecords | None:
        """Before the server starts: the Demo Store's rows (created or found) and the shop's history.

        Returns None when the database belongs to someone else (workspaces, but no Demo Store).
        """
        records: DemoRecords | None
        with self.ctx.db.session() as session:
            if database_is_empty(session):
                self.simulator.bulk_create_orders(HISTORY_ORDERS)
                credentials = {
                    "access_token": self.simulator.config.access_token,
                    "client_secret": self.simulator.config.client_secret,
                }
                records = create_demo_records(session, self.ctx.box, self.ctx.settings, credentials)
            else:
                records = reuse_demo_records(session, self.ctx.box, self.ctx.settings)
        if records is not None:
            self._adopt(records)
        self.records = records
        return records

    def _adopt(self, records: DemoRecords) -> None:
        """The shop accepts the connection's stored secrets and numbers orders after those imported."""
        self.simulator.config.update(
            {
                "access_token": str(records.credentials["access_token"]),
                "client_secret": str(records.credentials["client_secret"]),
            }
        )
        store = self.simulator.store
        store.next_number = max(store.next_number, records.last_order_number + 1)

    async def go_live(self) -> None:
        """Once the server accepts connections: webhooks, a few orders, the customer generator."""
        records = self.records
        if records is None:
            print_skipped(self.ctx.settings)
            return
        await self.simulator.start()
        await self._subscribe_webhooks(records.connection_id)
        for _ in range(LIVE_ORDERS):
            self.simulator.create_order()
        interval = self.ctx.settings.sandbox_generator_interval_seconds
        await self.simulator.update_config({"generator_interval_s": interval or None})
        print_banner(self.ctx.settings, records)

    async def _subscribe_webhooks(self, connection_id: int) -> None:
        conn = await asyncio.to_thread(self._load_connection, connection_id)
        connector = build_connector(conn, self.ctx.box)
        address = webhook_url(self.ctx.settings.base_url(), conn)
        try:
            await connector.ensure_webhooks(address, list(SPEC.webhook_topics))
        except FeniciaError as exc:
            log.warning("demo_webhooks_not_subscribed", error=exc.message, resolution=exc.resolution)
        finally:
            await connector.aclose()

    def _load_connection(self, connection_id: int) -> ChannelConnection:
        with self.ctx.db.read_session() as session:
            conn = session.get(ChannelConnection, connection_id)
        if conn is None:
            raise FeniciaError(f"The demo connection {connection_id} disappeared.")
        return conn

    async def stop(self) -> None:
        await self.simulator.stop()


def print_banner(settings: Settings, records: DemoRecords) -> None:
    base = settings.base_url().rstrip("/")
    if records.api_token:
        token_line = f"  API token:  {records.api_token}"
    else:
        token_line = (
            "  API token:  shown once when the Demo Store was created; make a new one with\n"
            f"              fenicia create-token {DEMO_SLUG} my-token"
        )
    lines = [
        "",
        f"Fenicia demo is running at {base}",
        f"  Log in:     {base}/login as {DEMO_EMAIL} / {settings.demo_password}",
        token_line,
        f"  Try:        curl -H 'Authorization: Bearer <token>' {base}/api/v1/orders",
        f"  Shopify sandbox: {demo_shop_url(settings)} (control API under /_sandbox/)",
        "  The simulated shop lives in memory: a restart begins with a fresh shop;",
        "  orders already imported stay in Fenicia's database.",
        "",
    ]
    print("\n".join(lines), flush=True)


def print_skipped(settings: Settings) -> None:
    print(
        f"Demo not started: the database has workspaces but no '{DEMO_SLUG}' one; "
        f"{settings.base_url()} serves as usual.\n"
        "Start with an empty database (e.g. another FENICIA_DATA_DIR) to try the demo.",
        flush=True,
    )
