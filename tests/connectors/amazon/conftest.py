"""Fixtures of the Amazon connector tests: a simulator on loopback (a module may override ``amazon`` with
its own settings) and connectors pointed at it, closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from amazon_sim import Factory, SimHandle, running_amazon
from channel_testkit import closing_connectors
from fenicia.connectors.amazon import build
from fenicia.connectors.amazon.connector import AmazonConnector
from fenicia.connectors.amazon.settings import AmazonCredentials
from fenicia.connectors.base import MemoryTokenStore


@pytest.fixture
def amazon() -> Iterator[SimHandle]:
    with running_amazon() as handle:
        yield handle


@pytest.fixture
async def make(amazon: SimHandle) -> AsyncIterator[Factory]:
    """``make(store=None, credentials=None, **settings)``: a connector; every one is closed at the end."""

    def connector(
        store: MemoryTokenStore | None = None, credentials: AmazonCredentials | None = None, **settings: Any
    ) -> AmazonConnector:
        return build(amazon.settings(**settings), credentials or amazon.credentials(), store or MemoryTokenStore())

    async with closing_connectors(connector) as factory:
        yield factory
