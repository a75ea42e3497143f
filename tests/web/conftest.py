"""The dashboard on the app the API builds, on the real test database, with two tenants and a recording engine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import BaseModel, ConfigDict, SecretStr

import factories
from doubles import RecordingDispatcher
from fenicia.accounts.services import create_user
from fenicia.api.app import create_app
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection, get_connection
from fenicia.connectors.base import Capability, ChannelSpec
from fenicia.connectors.registry import channel_specs
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.orders.ingest import upsert_order
from fenicia.web import mount_web

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
NO_CANCEL_REASON = "Webchan orders can only be cancelled by the buyer in the Webchan app."


@dataclass
class Tenant:
    id: int
    email: str
    connection_id: int


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def app(settings: Settings, db: Database, box: SecretBox, dispatcher: RecordingDispatcher) -> FastAPI:
    app = create_app(settings=settings, db=db, box=box, dispatcher=dispatcher)
    mount_web(app)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _tenant(db: Database, box: SecretBox, name: str) -> Tenant:
    with db.session() as s:
        ws, _ = factories.workspace(s, name)
        user = create_user(s, ws, f"{name.lower()}@shop.test", PASSWORD)
        conn = factories.shopify_connection(s, box, ws, name=f"{name} Shopify")
        return Tenant(ws, user.email, conn.id)


@pytest.fixture
def tenant_a(db: Database, box: SecretBox) -> Tenant:
    return _tenant(db, box, "Alpha")


@pytest.fixture
def tenant_b(db: Database, box: SecretBox) -> Tenant:
    return _tenant(db, box, "Beta")


@pytest.fixture
def make_order(db: Database) -> Callable[..., int]:
    """An order ingested through the real upsert, as the engine would; returns its id."""

    def make(tenant: Tenant, external_id: str, connection_id: int | None = None, **overrides: Any) -> int:
        with db.session() as s:
            conn = get_connection(s, tenant.id, connection_id or tenant.connection_id)
            order = factories.normalized_order(external_id, **overrides)
            return upsert_order(s, conn, order, source="poll").order.id

    return make


def _login(client: TestClient, email: str, password: str = PASSWORD, **extra: str) -> Response:
    page = client.get("/login")
    data = {"email": email, "password": password, "csrf_token": _csrf_of(page.text), **extra}
    response: Response = client.post("/login", data=data, follow_redirects=False)
    return response


def _csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


@pytest.fixture
def login() -> Callable[..., Response]:
    """``login(client, email, password=PASSWORD, **form)``: the real form, GET /login then POST (no redirects)."""
    return _login


@pytest.fixture
def csrf_of() -> Callable[[str], str]:
    """The first ``csrf_token`` hidden input of a page."""
    return _csrf_of


@pytest.fixture
def signed_in(client: TestClient, tenant_a: Tenant) -> str:
    """Signs tenant A's user in on ``client``; returns the session's CSRF token."""
    assert _login(client, tenant_a.email).status_code == 303
    return _csrf_of(client.get("/notifications").text)


# --- a throwaway channel without "cancel", registered through the registry's dict ------------------


class WebchanSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = "eu"


class WebchanCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr


WEBCHAN_SPEC = ChannelSpec(
    key="webchan",
    display_name="Webchan",
    settings_model=WebchanSettings,
    credentials_model=WebchanCredentials,
    capabilities=frozenset({Capability.SHIP, Capability.TRACKING}),
    default_poll_interval_seconds=None,
    webhook_topics=(),
    build=None,
    unsupported_reasons={"cancel": NO_CANCEL_REASON},
)


@pytest.fixture
def webchan_connection(db: Database, box: SecretBox, tenant_a: Tenant) -> Iterator[int]:
    """A connection of tenant A on a channel that cannot cancel; returns its id."""
    specs = channel_specs()
    specs[WEBCHAN_SPEC.key] = WEBCHAN_SPEC
    data = ConnectionCreate(channel="webchan", name="Webchan EU", credentials={"api_key": "k"})
    try:
        with db.session() as s:
            conn_id = create_connection(s, box, tenant_a.id, data).id
        yield conn_id
    finally:
        specs.pop(WEBCHAN_SPEC.key, None)
