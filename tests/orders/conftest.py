from __future__ import annotations

from collections.abc import Iterator

import pytest

import factories
from fenicia.channels.context import SyncContext
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from shopify_sim import FAST_CONNECTOR, SimHandle, running_shop


@pytest.fixture
def shop() -> Iterator[SimHandle]:
    with running_shop() as handle:
        yield handle


@pytest.fixture
def ctx(db: Database, box: SecretBox, settings: Settings) -> SyncContext:
    return SyncContext(db=db, box=box, settings=settings, worker_id="test-worker")


@pytest.fixture
def conn_id(db: Database, box: SecretBox, shop: SimHandle) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        return factories.shopify_connection(s, box, ws, shop_url=shop.url, settings=FAST_CONNECTOR).id
