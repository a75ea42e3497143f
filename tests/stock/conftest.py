"""Fixtures of the stock tests: a merchant (``StockWorld``) and a second simulated Shopify store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from doubles import RecordingDispatcher
from fenicia.api.app import create_app
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from shopify_sim import SimHandle, running_shop
from stock.stock_world import StockWorld, new_world


@pytest.fixture
def world(db: Database, box: SecretBox) -> StockWorld:
    return new_world(db, box)


@pytest.fixture
def shop_b() -> Iterator[SimHandle]:
    """A second simulated store: the channel whose quantity must follow orders taken elsewhere."""
    with running_shop(seed=7, shop_domain="other-store.myshopify.com") as handle:
        yield handle


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def api(settings: Settings, db: Database, box: SecretBox, dispatcher: RecordingDispatcher) -> Iterator[TestClient]:
    """The real API app on the test database; the engine is a recording stand-in."""
    app = create_app(settings=settings, db=db, box=box, dispatcher=dispatcher)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def other_world(db: Database, box: SecretBox) -> StockWorld:
    """A second merchant, for tenant isolation."""
    return new_world(db, box, "Other")
