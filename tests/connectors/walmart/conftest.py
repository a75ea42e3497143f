"""Fixtures of the Walmart connector tests: a simulator on loopback and connectors pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from channel_testkit import closing_connectors
from fenicia.connectors.base import MemoryTokenStore, TokenStore
from fenicia.connectors.walmart import build
from fenicia.connectors.walmart.connector import WalmartConnector
from fenicia.connectors.walmart.settings import WalmartCredentials, WalmartSettings
from walmart_sim import Factory, WalmartHandle, credentials, running_walmart


@pytest.fixture
def wm() -> Iterator[WalmartHandle]:
    with running_walmart() as handle:
        yield handle


@pytest.fixture
async def make(wm: WalmartHandle) -> AsyncIterator[Factory]:
    def connector(store: TokenStore | None = None, secret: str | None = None, **settings: Any) -> WalmartConnector:
        creds = credentials() | ({"client_secret": secret} if secret else {})
        return build(
            WalmartSettings(**wm.settings(**settings)), WalmartCredentials(**creds), store or MemoryTokenStore()
        )

    async with closing_connectors(connector) as factory:
        yield factory


@pytest.fixture
def walmart(make: Factory) -> WalmartConnector:
    return make()
