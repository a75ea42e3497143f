"""The API on the real test database, with a recording stand-in for the engine and two tenants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, SecretStr

import factories
from doubles import RecordingDispatcher
from fenicia.api.app import create_app
from fenicia.channels.services import get_connection
from fenicia.connectors.base import Capability, ChannelSpec, TokenStore
from fenicia.connectors.registry import channel_specs
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import AuthError
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.orders.ingest import upsert_order

TEST_CHANNEL = "testchan"
NO_CANCEL_REASON = "Testchan orders can only be cancelled by the buyer."


@dataclass
class Tenant:
    id: int
    token: str
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def app(settings: Settings, db: Database, box: SecretBox, dispatcher: RecordingDispatcher) -> FastAPI:
    return create_app(
        settings=settings, db=db, box=box, dispatcher=dispatcher, engine_state=lambda: {"status": "running"}
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _tenant(db: Database, name: str) -> Tenant:
    with db.session() as s:
        ws, token = factories.workspace(s, name)
    return Tenant(ws, token, {"Authorization": f"Bearer {token}"})


@pytest.fixture
def tenant_a(db: Database) -> Tenant:
    return _tenant(db, "Alpha")


@pytest.fixture
def tenant_b(db: Database) -> Tenant:
    return _tenant(db, "Beta")


@pytest.fixture
def make_shopify(db: Database, box: SecretBox) -> Callable[..., int]:
    """A Shopify connection (client secret ``shpss_sandbox``) in a tenant; returns its id."""

    def make(tenant: Tenant, **extra: Any) -> int:
        with db.session() as s:
            return factories.shopify_connection(s, box, tenant.id, **extra).id

    return make


@pytest.fixture
def make_order(db: Database) -> Callable[..., int]:
    """An order ingested through the real upsert, as the engine would; returns its id."""

    def make(tenant: Tenant, connection_id: int, external_id: str, **overrides: Any) -> int:
        with db.session() as s:
            conn = get_connection(s, tenant.id, connection_id)
            result = upsert_order(s, conn, factories.normalized_order(external_id, **overrides), source="poll")
            return result.order.id

    return make


# --- a throwaway channel without "cancel", registered through the registry's dict ------------------


class FakeChanSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = "eu"


class FakeChanCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr


class FakeChanConnector:
    capabilities = frozenset({Capability.SHIP, Capability.TRACKING})

    def __init__(self, settings: BaseModel, credentials: BaseModel, tokens: TokenStore) -> None:
        assert isinstance(credentials, FakeChanCredentials)
        self.api_key = credentials.api_key.get_secret_value()
        self.closed = False

    async def test_connection(self) -> str:
        if self.api_key == "revoked-key":
            raise AuthError("Testchan refused the API key (401).")
        return "Connected to Testchan store EU-1."

    async def aclose(self) -> None:
        self.closed = True


TESTCHAN_SPEC = ChannelSpec(
    key=TEST_CHANNEL,
    display_name="Testchan",
    settings_model=FakeChanSettings,
    credentials_model=FakeChanCredentials,
    capabilities=frozenset({Capability.SHIP, Capability.TRACKING}),
    default_poll_interval_seconds=None,
    webhook_topics=(),
    build=FakeChanConnector,
    unsupported_reasons={"cancel": NO_CANCEL_REASON},
)


@pytest.fixture
def testchan() -> Iterator[str]:
    specs = channel_specs()
    specs[TEST_CHANNEL] = TESTCHAN_SPEC
    try:
        yield TEST_CHANNEL
    finally:
        specs.pop(TEST_CHANNEL, None)
