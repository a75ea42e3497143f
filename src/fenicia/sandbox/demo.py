"""The demo: a "Demo Store" in Fenicia connected to five simulated channels served by the same process.

``fenicia serve --demo`` on an empty database creates the Demo Store (workspace ``demo-store``, user
``demo@fenicia.local``, an API token) with one connection per channel (Shopify, Amazon, MercadoLibre,
Walmart, TikTok Shop), each pointed at its simulator under ``/_sim/{channel}/demo-store`` with
credentials that simulator accepts, and seeds a few past orders in each. Once the server accepts
connections, webhooks are set where the channel has them (Shopify and TikTok subscribed over their
APIs, MercadoLibre's callback URL set on its application), a few orders are placed and each
simulator's customer generator starts: new orders, edits and cancellations then arrive every few
seconds, by webhook, and by polling (Amazon and Walmart only poll; see ``poller``).

The simulators keep their state in memory, so every start of the process begins with fresh ones: the
Demo Store and every order already imported stay in Fenicia's database. A later start reuses the
connections (pointing them at this process's address, the new simulators taking their stored secrets)
and adds any channel the Demo Store lacks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.core.errors import FeniciaError
from fenicia.sandbox import redact
from fenicia.sandbox.adapters import DEMO_CHANNELS, LIVE_ORDERS, DemoChannel, LiveSetup
from fenicia.sandbox.banner import print_banner, print_skipped
from fenicia.sandbox.mount import DemoSimulators
from fenicia.sandbox.poller import PollNudger
from fenicia.sandbox.records import (
    DEMO_POLL_INTERVAL_SECONDS,
    DemoConnection,
    DemoRecords,
    create_demo_account,
    database_is_empty,
    find_connection,
    find_demo_account,
    reuse_connection,
    sim_url,
)

log = structlog.get_logger(__name__)

HISTORY_ORDERS = 12  # past orders per channel on a first start: the first poll imports them
HISTORY_DAYS = 7.0  # spread over this many days (never more than half the initial import window)
__all__ = ["HISTORY_ORDERS", "LIVE_ORDERS", "DemoSandbox"]


class DemoSandbox:
    """The in-process simulated channels and the Demo Store that uses them."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        history_days = min(HISTORY_DAYS, ctx.settings.initial_import_days / 2)
        self.channels: list[DemoChannel[Any]] = [channel.demo(history_days) for channel in DEMO_CHANNELS]
        self.records: DemoRecords | None = None
        self.nudger: PollNudger | None = None

    @property
    def simulator(self) -> DemoSimulators:
        """Every channel's simulator (the standalone sandbox serves them)."""
        return DemoSimulators(self.channels)

    def channel(self, key: str) -> DemoChannel[Any]:
        return next(channel for channel in self.channels if channel.key == key)

    def prepare(self) -> DemoRecords | None:
        """Before the server starts: the Demo Store's rows (created or found) and the simulators' history.

        Returns None when the database belongs to someone else (workspaces, but no Demo Store).
        """
        redact.install()  # from now on the server also serves the simulators: no secrets in its access log
        with self.ctx.db.session() as session:
            if database_is_empty(session):
                records: DemoRecords | None = create_demo_account(session, self.ctx.settings)
            else:
                records = find_demo_account(session, self.ctx.settings)
            if records is not None:
                for channel in self.channels:
                    records.connections[channel.key] = self._connect(session, records.workspace_id, channel)
        self.records = records
        return records

    def _connect(self, session: Session, workspace_id: int, channel: DemoChannel[Any]) -> DemoConnection:
        """The channel's connection: found and adopted by the new simulator, or created with history."""
        settings = channel.connection_settings(sim_url(self.ctx.settings, channel.key))
        conn = find_connection(session, workspace_id, channel.key, channel.connection_name)
        if conn is not None:
            credentials = self.ctx.box.decrypt(conn.credentials_encrypted)
            channel.adopt(session, conn, credentials)
            reuse_connection(conn, settings)
            return DemoConnection(channel.key, conn.id, False, dict(credentials))
        channel.seed_history(HISTORY_ORDERS)
        data = ConnectionCreate(
            channel=channel.key,
            name=channel.connection_name,
            settings=settings,
            credentials=channel.credentials(),
            poll_interval_seconds=DEMO_POLL_INTERVAL_SECONDS,
        )
        conn = create_connection(session, self.ctx.box, workspace_id, data)
        return DemoConnection(channel.key, conn.id, True, self.ctx.box.decrypt(conn.credentials_encrypted))

    async def go_live(self) -> None:
        """Once the server accepts connections: each channel's webhooks, orders and generator; polls."""
        records = self.records
        if records is None:
            print_skipped(self.ctx.settings)
            return
        interval = self.ctx.settings.sandbox_generator_interval_seconds
        for channel in self.channels:
            await self._go_live(channel, records.connection_id(channel.key), interval)
        nudges = self.nudge_seconds()
        every = {records.connection_id(key): seconds for key, seconds in nudges.items() if seconds is not None}
        self.nudger = PollNudger(self.ctx.db, every)
        self.nudger.start()
        print_banner(self.ctx.settings, records, self.channels, nudges)

    async def _go_live(self, channel: DemoChannel[Any], connection_id: int, interval: float | None) -> None:
        try:
            conn = await asyncio.to_thread(self._load_connection, connection_id)
            await channel.go_live(LiveSetup(self.ctx, conn, interval))
        except Exception:  # one channel's trouble must not keep the others (or the server) down
            log.exception("demo_channel_not_live", channel=channel.key)

    def nudge_seconds(self) -> dict[str, float | None]:
        settings = self.ctx.settings
        interval = settings.sandbox_generator_interval_seconds
        return {
            channel.key: channel.nudge_seconds(interval, settings.scheduler_tick_seconds) for channel in self.channels
        }

    def _load_connection(self, connection_id: int) -> ChannelConnection:
        with self.ctx.db.read_session() as session:
            conn = session.get(ChannelConnection, connection_id)
        if conn is None:
            raise FeniciaError(f"The demo connection {connection_id} disappeared.")
        return conn

    async def stop(self) -> None:
        nudger, self.nudger = self.nudger, None
        if nudger is not None:
            await nudger.stop()
        await asyncio.gather(*(channel.stop() for channel in self.channels), return_exceptions=True)
        redact.uninstall()
