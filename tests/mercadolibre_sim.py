"""The MercadoLibre simulator served on a real loopback port, with a small client for its control API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

import servers
from channel_testkit import SandboxHandle
from fenicia.connectors.base import MemoryTokenStore, TokenStore
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.connectors.mercadolibre.settings import MercadoLibreCredentials, MercadoLibreSettings
from fenicia.connectors.mercadolibre.sim_config import MercadoLibreSimConfig
from fenicia.connectors.mercadolibre.simulator import MercadoLibreSimulator
from fenicia.core import netguard

SELLER_ID = MercadoLibreSimConfig.seller_id
APP_ID = str(MercadoLibreSimConfig.app_id)
CLIENT_SECRET = MercadoLibreSimConfig.client_secret

# Fast, small settings for a connector under test: short timeouts, one quick in-call retry, no pacing.
FAST_CONNECTOR: dict[str, Any] = {
    "timeout_seconds": 0.5,
    "max_retries_in_call": 1,
    "retry_wait_cap_seconds": 0.2,
    "retry_base_wait_seconds": 0.01,
    "rate_limit_wait_seconds": 0.02,
    "rate_limit_per_minute": None,
    "rotation_wait_seconds": 0.2,
    "page_size": 50,
}


class MLHandle(SandboxHandle[MercadoLibreSimulator]):
    def new_order(self, **spec: Any) -> dict[str, Any]:
        """A purchase now, through the control API: ``{"order": ..., "shipment": ...}``."""
        bundle: dict[str, Any] = self.control("POST", "orders", spec)
        return bundle

    def refresh_token(self) -> str:
        """A fresh authorization of the app (each connection needs its own single-use refresh token)."""
        return str(self.control("POST", "oauth/refresh_tokens")["refresh_token"])

    def token_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.control("GET", "tokens")
        return state

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {"seller_id": SELLER_ID, "api_url": self.url, **FAST_CONNECTOR, **overrides}

    def credentials(self, **overrides: Any) -> dict[str, Any]:
        base = {"client_id": APP_ID, "client_secret": CLIENT_SECRET}
        if "authorization_code" not in overrides:
            base["refresh_token"] = self.refresh_token()
        return {**base, **overrides}

    def connector(
        self, store: TokenStore | None = None, *, credentials: dict[str, Any] | None = None, **settings: Any
    ) -> MercadoLibreConnector:
        connector = MercadoLibreConnector(
            MercadoLibreSettings(**self.settings(**settings)),
            MercadoLibreCredentials(**(credentials or self.credentials())),
            store if store is not None else MemoryTokenStore(),
        )
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        return connector


TEST_DEFAULTS: dict[str, Any] = {
    "rate_limit_enabled": False,
    "notification_retry_delays_s": [0.05, 0.05],
    "notification_timeout_s": 5.0,
    "notification_connect_timeout_s": 2.0,
}


@contextmanager
def running_ml(**config: Any) -> Iterator[MLHandle]:
    """A simulator on its own loopback server."""
    sim = MercadoLibreSimulator(MercadoLibreSimConfig(**(TEST_DEFAULTS | config)))
    with servers.serve(sim.app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield MLHandle(sim, url, http)


class SimHost:
    """An ASGI app that serves whichever simulator a test swapped in, so many tests share one server
    (starting and stopping uvicorn costs more than most of these tests)."""

    def __init__(self) -> None:
        self.sim: MercadoLibreSimulator | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.sim is not None, "no simulator swapped in"
        await self.sim.app(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loop = asyncio.get_running_loop()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._replace(None)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def swap(self, sim: MercadoLibreSimulator | None) -> None:
        """Serve ``sim`` from now on; the previous one's notifier stops, the new one's starts."""
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self._replace(sim), self.loop).result(timeout=10)

    async def _replace(self, sim: MercadoLibreSimulator | None) -> None:
        old, self.sim = self.sim, sim
        if old is not None:
            await old.stop()
        if sim is not None:
            await sim.start()


@contextmanager
def hosted_ml(host: SimHost, url: str, http: httpx.Client, **config: Any) -> Iterator[MLHandle]:
    """A fresh simulator served by a shared ``SimHost`` for the duration of the block."""
    sim = MercadoLibreSimulator(MercadoLibreSimConfig(**(TEST_DEFAULTS | config)))
    host.swap(sim)
    try:
        yield MLHandle(sim, url, http)
    finally:
        host.swap(None)
