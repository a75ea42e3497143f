"""What the demo and ``fenicia sandbox`` need from one channel's simulator, behind one small interface.

A :class:`DemoChannel` owns one simulator (built on first use from its config) and knows how a Fenicia
connection reaches it: the settings that point every base URL (API, token endpoint) at the simulator,
and credentials the simulator accepts. The demo calls, in order: ``seed_history`` (first start) or
``adopt`` (later starts: the simulator must accept the connection's stored secrets), then, once the
server listens, ``go_live`` (webhooks, a few orders, the customer generator) and finally ``stop``.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import structlog
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import build_connector
from fenicia.channels.views import webhook_url
from fenicia.connectors.base import ChannelSpec
from fenicia.connectors.registry import channel_spec
from fenicia.core.errors import ConfigError, FeniciaError

log = structlog.get_logger(__name__)

JSON = dict[str, Any]
LIVE_ORDERS = 3  # orders placed as soon as a channel goes live (by webhook where the channel has them)
MAX_NUDGE_SECONDS = 60.0  # a polled channel's new orders show up within about a minute


class Simulator(Protocol):
    """The part every channel simulator shares (see each ``connectors/<channel>/simulator.py``)."""

    app: Starlette

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def update_config(self, changes: JSON, /) -> list[str]: ...

    def bulk_create_orders(self, count: int, /) -> None: ...

    def create_order(self, **overrides: Any) -> JSON: ...


SimT = TypeVar("SimT", bound=Simulator)


@dataclass
class LiveSetup:
    """What a channel needs to go live: the running process and its connection to this channel."""

    ctx: SyncContext
    conn: ChannelConnection
    generator_interval_s: float | None

    @property
    def webhook_address(self) -> str:
        return webhook_url(self.ctx.settings.base_url(), self.conn)

    async def ensure_webhooks(self, topics: list[str]) -> None:
        """Subscribes (or checks) the channel's webhooks over HTTP, as with the real channel; logs a failure."""
        allowed = self.ctx.settings.allow_private_source_urls  # the simulators are this process: loopback
        connector = build_connector(self.conn, self.ctx.box, self.ctx.db, allow_private=allowed)
        try:
            await connector.ensure_webhooks(self.webhook_address, topics)
        except FeniciaError as exc:
            log.warning(
                "demo_webhooks_not_set", channel=self.conn.channel, error=exc.message, resolution=exc.resolution
            )
        finally:
            await connector.aclose()


def fresh_secret(prefix: str = "", nbytes: int = 16) -> str:
    return f"{prefix}{secrets.token_hex(nbytes)}"


def fresh_seed() -> int:
    """A new seed on every demo start: new order ids, unlike the ones imported by earlier starts."""
    return secrets.randbelow(2**31)


def required(credentials: Mapping[str, Any], key: str) -> str:
    value = credentials.get(key)
    if value is None:
        raise ConfigError(f"The demo connection's stored credentials lack {key}.")
    return str(value)


class DemoChannel(ABC, Generic[SimT]):
    """One channel of the sandbox: its simulator and how a connection reaches it."""

    key: ClassVar[str]  # the registry key, e.g. "amazon"
    label: ClassVar[str]  # for people, e.g. "Amazon"
    nudge_factor: ClassVar[float] = 4.0  # polled channels: polls every this many generator ticks (capped)
    generator_factor: ClassVar[float] = 1.0  # this channel's customers act every this many generator ticks

    def __init__(self, config: Any) -> None:
        self.config = config  # the simulator's config dataclass; edit it before the simulator is built
        self._simulator: SimT | None = None

    @classmethod
    @abstractmethod
    def demo(cls, history_days: float) -> DemoChannel[SimT]:
        """The demo's channel: fresh secrets and seed, history spread over ``history_days``, no generator."""

    @classmethod
    @abstractmethod
    def standalone(cls, seed: int, generator_interval_s: float | None) -> DemoChannel[SimT]:
        """``fenicia sandbox <key>``: the simulator's documented sandbox credentials."""

    @abstractmethod
    def _build(self) -> SimT: ...

    @abstractmethod
    def credentials(self) -> JSON:
        """Credentials of a connection that this simulator accepts."""

    @abstractmethod
    def connection_settings(self, sim_url: str) -> JSON:
        """Connection settings pointing every base URL (API, token endpoint) at ``sim_url``."""

    @abstractmethod
    def accept(self, credentials: Mapping[str, Any]) -> None:
        """Edits the config so that the simulator (not built yet) accepts these stored credentials."""

    @property
    def spec(self) -> ChannelSpec:
        return channel_spec(self.key)

    @property
    def polled(self) -> bool:
        """Channels without webhooks get their new orders only by polling."""
        return not self.spec.webhook_topics

    @property
    def connection_name(self) -> str:
        return f"Demo {self.label}"

    @property
    def simulator(self) -> SimT:
        if self._simulator is None:
            self._simulator = self._build()
        return self._simulator

    def seed_history(self, count: int) -> None:
        """Past orders for the first poll to import (no webhooks)."""
        self.simulator.bulk_create_orders(count)

    def adopt(self, session: Session, conn: ChannelConnection, credentials: Mapping[str, Any]) -> None:
        """A later start: the new simulator accepts the connection's stored secrets."""
        if self._simulator is not None:
            raise RuntimeError(f"the {self.label} simulator was built before adopting the stored credentials")
        self.accept(credentials)

    def send_webhooks_to(self, address: str) -> None:
        """Standalone: the simulator sends its order webhooks to ``address`` (no Fenicia connection)."""
        raise ConfigError(
            f"{self.label} sends no webhooks Fenicia could receive.", resolution="Leave out --webhook-url."
        )

    async def connect_webhooks(self, live: LiveSetup) -> None:
        """Webhooks to our intake; nothing for polled channels."""

    async def go_live(self, live: LiveSetup) -> None:
        """Once the server listens: webhooks, a few orders, then the customer generator."""
        await self.simulator.start()
        await self.connect_webhooks(live)
        for _ in range(LIVE_ORDERS):  # announced by webhook where the channel has them
            self.simulator.create_order()
        interval = live.generator_interval_s * self.generator_factor if live.generator_interval_s else None
        await self.simulator.update_config({"generator_interval_s": interval})

    def nudge_seconds(self, generator_interval_s: float | None, floor_s: float) -> float | None:
        """How often the demo asks for a poll of this channel; None for channels with webhooks."""
        if not self.polled:
            return None
        wanted = self.nudge_factor * generator_interval_s if generator_interval_s else MAX_NUDGE_SECONDS
        return max(floor_s, min(MAX_NUDGE_SECONDS, wanted))

    async def stop(self) -> None:
        if self._simulator is not None:
            await self._simulator.stop()

    def describe(self, sim_url: str) -> list[str]:
        """Lines for people: where the simulator is and what to give a connection."""
        lines = [f"{self.label} sandbox at {sim_url} (control API under /_sandbox/)"]
        for name, value in {**self.connection_settings(sim_url), **self.credentials()}.items():
            lines.append(f"  {name + ':':<15}{value}")
        return lines
