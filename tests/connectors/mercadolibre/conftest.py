"""A MercadoLibre simulator on loopback for each test, and connectors pointed at it (closed afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

import servers
from channel_testkit import closing_connectors
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from mercadolibre_sim import MLHandle, SimHost, hosted_ml

Factory = Callable[..., MercadoLibreConnector]


@pytest.fixture(scope="session")
def ml_host() -> Iterator[tuple[SimHost, str, httpx.Client]]:
    host = SimHost()
    with servers.serve(host) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield host, url, http


@pytest.fixture
def ml(ml_host: tuple[SimHost, str, httpx.Client]) -> Iterator[MLHandle]:
    """A fresh simulator (rate limits off, fast notification retries) for each test, on a shared server."""
    with hosted_ml(*ml_host) as handle:
        yield handle


@pytest.fixture
async def make(ml: MLHandle) -> AsyncIterator[Factory]:
    """``make(store=None, credentials=None, **settings)``: a connector; every one is closed at the end."""
    async with closing_connectors(ml.connector) as factory:
        yield factory


@pytest.fixture
def meli(make: Factory) -> MercadoLibreConnector:
    return make()
