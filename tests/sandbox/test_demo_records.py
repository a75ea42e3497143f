"""The demo's preparation, in-process: the Demo Store is created once and found again on later starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import factories
from fenicia.accounts.models import Workspace
from fenicia.accounts.services import authenticate_token, authenticate_user
from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import get_connection
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.orders.ingest import upsert_order
from fenicia.runtime import build_context
from fenicia.sandbox.demo import HISTORY_ORDERS, DemoSandbox
from fenicia.sandbox.records import DEMO_EMAIL, DEMO_SLUG

DEMO_TOKEN = "fen_demo_token_for_tests"


@pytest.fixture
def demo_ctx(settings: Settings, db: Database) -> Iterator[SyncContext]:
    ctx = build_context(settings.model_copy(update={"demo_api_token": DEMO_TOKEN, "port": 18_000}), "test-worker")
    yield ctx
    ctx.db.dispose()


def _workspaces(db: Database) -> int:
    with db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Workspace)) or 0)


def test_first_start_creates_the_demo_store(demo_ctx: SyncContext, db: Database) -> None:
    sandbox = DemoSandbox(demo_ctx)
    records = sandbox.prepare()

    assert records is not None and records.created and records.api_token == DEMO_TOKEN
    assert len(sandbox.simulator.store.orders) == HISTORY_ORDERS  # history for the first poll
    assert sandbox.simulator.config.access_token == records.credentials["access_token"]
    with db.read_session() as session:
        conn = get_connection(session, records.workspace_id, records.connection_id)
        assert conn.name == "Demo Shopify" and conn.channel == "shopify"
        assert conn.settings["shop_url"] == "http://127.0.0.1:18000/_sim/shopify/demo-store"
        assert demo_ctx.box.decrypt(conn.credentials_encrypted) == records.credentials
        token = authenticate_token(session, DEMO_TOKEN)
        assert token is not None and token.workspace_id == records.workspace_id
        user = authenticate_user(session, DEMO_EMAIL, demo_ctx.settings.demo_password)
        assert user is not None and user.workspace_id == records.workspace_id
        workspace = session.get(Workspace, records.workspace_id)
        assert workspace is not None and workspace.slug == DEMO_SLUG and workspace.name == "Demo Store"
        assert workspace.notification_email == DEMO_EMAIL


def test_a_later_start_reuses_the_demo_store(demo_ctx: SyncContext, db: Database) -> None:
    first = DemoSandbox(demo_ctx).prepare()
    assert first is not None
    with db.session() as session:  # an order imported by the first run
        conn = session.get(ChannelConnection, first.connection_id)
        assert conn is not None
        upsert_order(session, conn, factories.normalized_order("5100000001", number="#1042"), source="poll")

    moved = build_context(demo_ctx.settings.model_copy(update={"port": 18_001}), "test-worker")
    sandbox = DemoSandbox(moved)
    again = sandbox.prepare()

    assert again is not None and not again.created
    assert (again.workspace_id, again.connection_id) == (first.workspace_id, first.connection_id)
    assert again.api_token == DEMO_TOKEN and again.credentials == first.credentials
    assert sandbox.simulator.config.access_token == first.credentials["access_token"]  # the new shop accepts it
    assert sandbox.simulator.config.client_secret == first.credentials["client_secret"]
    assert sandbox.simulator.store.next_number == 1043  # numbering continues after what was imported
    assert not sandbox.simulator.store.orders  # a fresh shop: the history was imported the first time
    assert _workspaces(db) == 1
    with db.read_session() as session:
        conn = session.get(ChannelConnection, first.connection_id)
        assert conn is not None and conn.settings["shop_url"] == "http://127.0.0.1:18001/_sim/shopify/demo-store"
    moved.db.dispose()


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
    assert not sandbox.simulator.store.orders
