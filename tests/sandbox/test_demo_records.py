"""The demo's preparation, in-process: the Demo Store and its five connections are created once and
found again on later starts, each new simulator taking the stored secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

import factories
from fenicia.accounts.models import Workspace
from fenicia.accounts.services import authenticate_token, authenticate_user
from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import get_connection
from fenicia.core.clock import utcnow
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.orders.ingest import upsert_order
from fenicia.runtime import build_context
from fenicia.sandbox.adapters import CHANNEL_KEYS
from fenicia.sandbox.demo import HISTORY_ORDERS, DemoSandbox
from fenicia.sandbox.records import DEMO_EMAIL, DEMO_SLUG

DEMO_TOKEN = "fen_demo_token_for_tests"
# Every setting that carries an address, per channel: all must point at the mounted simulator.
ADDRESS_SETTINGS = {
    "shopify": ("shop_url",),
    "amazon": ("endpoint", "lwa_token_url"),
    "mercadolibre": ("api_url",),
    "walmart": ("api_base_url",),
    "tiktok": ("api_base_url", "auth_base_url"),
}


@pytest.fixture
def demo_ctx(settings: Settings, db: Database) -> Iterator[SyncContext]:
    ctx = build_context(settings.model_copy(update={"demo_api_token": DEMO_TOKEN, "port": 18_000}), "test-worker")
    yield ctx
    ctx.db.dispose()


def _workspaces(db: Database) -> int:
    with db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Workspace)) or 0)


def _given(credentials: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in credentials.items() if value is not None}


def _orders_in(sandbox: DemoSandbox, key: str) -> int:
    return len(sandbox.channel(key).simulator.store.orders)


def _connections(db: Database) -> dict[str, ChannelConnection]:
    with db.read_session() as session:
        return {conn.channel: conn for conn in session.scalars(select(ChannelConnection))}


def _assert_points_at(conn: ChannelConnection, port: int) -> None:
    for name in ADDRESS_SETTINGS[conn.channel]:
        assert str(conn.settings[name]).startswith(f"http://127.0.0.1:{port}/_sim/{conn.channel}/demo-store"), name


def test_first_start_creates_the_demo_store_with_five_channels(demo_ctx: SyncContext, db: Database) -> None:
    sandbox = DemoSandbox(demo_ctx)
    records = sandbox.prepare()

    assert records is not None and records.created and records.api_token == DEMO_TOKEN
    assert sorted(records.connections) == sorted(CHANNEL_KEYS) and len(CHANNEL_KEYS) == 5
    for key, made in records.connections.items():
        assert made.created
        assert _orders_in(sandbox, key) == HISTORY_ORDERS  # history for the first poll
        assert sandbox.channel(key).credentials() == _given(made.credentials)  # the simulator accepts them
    with db.read_session() as session:
        for key, made in records.connections.items():
            conn = get_connection(session, records.workspace_id, made.connection_id)
            assert conn.channel == key and conn.name == sandbox.channel(key).connection_name
            assert demo_ctx.box.decrypt(conn.credentials_encrypted) == made.credentials
            assert conn.poll_interval_seconds == 300 and conn.next_poll_at is not None  # first poll due at once
            _assert_points_at(conn, 18_000)
        assert get_connection(session, records.workspace_id, records.connection_id("shopify")).name == "Demo Shopify"
        token = authenticate_token(session, DEMO_TOKEN)
        assert token is not None and token.workspace_id == records.workspace_id
        user = authenticate_user(session, DEMO_EMAIL, demo_ctx.settings.demo_password)
        assert user is not None and user.workspace_id == records.workspace_id
        workspace = session.get(Workspace, records.workspace_id)
        assert workspace is not None and workspace.slug == DEMO_SLUG and workspace.name == "Demo Store"


def test_a_later_start_reuses_the_connections_with_fresh_simulators(demo_ctx: SyncContext, db: Database) -> None:
    first = DemoSandbox(demo_ctx).prepare()
    assert first is not None
    with db.session() as session:  # what the first run left: an imported order, a cached access token
        shop = session.get(ChannelConnection, first.connection_id("shopify"))
        assert shop is not None
        upsert_order(session, shop, factories.normalized_order("5100000001", number="#1042"), source="poll")
        for conn in session.scalars(select(ChannelConnection)):
            conn.token_encrypted, conn.next_poll_at = "token-of-the-previous-simulator", None

    moved = build_context(demo_ctx.settings.model_copy(update={"port": 18_001}), "test-worker")
    sandbox = DemoSandbox(moved)
    again = sandbox.prepare()

    assert again is not None and not again.created and again.api_token == DEMO_TOKEN
    for key, kept in again.connections.items():
        assert not kept.created
        assert kept.connection_id == first.connection_id(key)
        assert kept.credentials == first.connections[key].credentials
        assert sandbox.channel(key).credentials() == _given(kept.credentials)  # it accepts the stored ones
        assert _orders_in(sandbox, key) == 0  # a fresh simulator: the history was imported the first time
    assert sandbox.channel("shopify").simulator.store.next_number == 1043  # numbering continues
    assert _workspaces(db) == 1
    for conn in _connections(db).values():
        _assert_points_at(conn, 18_001)
        assert conn.token_encrypted is None  # the new simulator never issued it
        assert conn.next_poll_at is not None and conn.next_poll_at <= utcnow()  # polled at once
    moved.db.dispose()


def test_a_demo_store_from_before_gets_the_missing_channels(demo_ctx: SyncContext, db: Database) -> None:
    first = DemoSandbox(demo_ctx).prepare()
    assert first is not None
    with db.session() as session:  # a Demo Store made when the demo had Shopify only
        for conn in session.scalars(select(ChannelConnection).where(ChannelConnection.channel != "shopify")):
            session.delete(conn)

    sandbox = DemoSandbox(demo_ctx)
    again = sandbox.prepare()

    assert again is not None
    created = {key for key, made in again.connections.items() if made.created}
    assert created == set(CHANNEL_KEYS) - {"shopify"}
    assert again.connection_id("shopify") == first.connection_id("shopify")
    assert {key: _orders_in(sandbox, key) for key in CHANNEL_KEYS} == {
        key: (0 if key == "shopify" else HISTORY_ORDERS) for key in CHANNEL_KEYS
    }
    assert sorted(_connections(db)) == sorted(CHANNEL_KEYS)


def test_a_token_set_after_the_first_start_is_added(demo_ctx: SyncContext, db: Database) -> None:
    no_token = build_context(demo_ctx.settings.model_copy(update={"demo_api_token": None}), "w")
    first = DemoSandbox(no_token).prepare()
    assert first is not None and first.api_token is not None and first.api_token.startswith("fen_")

    later = DemoSandbox(demo_ctx).prepare()
    unknown = DemoSandbox(no_token).prepare()

    assert later is not None and later.api_token == DEMO_TOKEN
    assert unknown is not None and unknown.api_token is None  # shown once, at creation: not known any more
    with db.read_session() as session:
        assert authenticate_token(session, DEMO_TOKEN) is not None
        assert authenticate_token(session, first.api_token) is not None
    no_token.db.dispose()


def test_a_database_of_someone_else_is_left_alone(demo_ctx: SyncContext, db: Database) -> None:
    with db.session() as session:
        factories.workspace(session, "Acme")

    sandbox = DemoSandbox(demo_ctx)

    assert sandbox.prepare() is None
    assert _workspaces(db) == 1
    assert not _connections(db)
    assert all(_orders_in(sandbox, key) == 0 for key in CHANNEL_KEYS)


def _config(sandbox: DemoSandbox, key: str) -> Any:
    return sandbox.channel(key).config


def test_each_demo_start_has_new_secrets_and_seeds(demo_ctx: SyncContext) -> None:
    one, two = DemoSandbox(demo_ctx), DemoSandbox(demo_ctx)

    for key in CHANNEL_KEYS:
        assert one.channel(key).credentials() != two.channel(key).credentials()
        assert _config(one, key).seed != _config(two, key).seed  # new order ids, unlike those imported before
        assert _config(one, key).generator_interval_s is None  # switched on only once the server listens
