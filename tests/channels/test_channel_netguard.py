"""Every channel connection refuses a loopback, private or otherwise non-public address (server-side request
forgery) unless the operator allows it, and the refusal tells the merchant what to do.

A merchant types the addresses of a connection: Shopify's ``shop_url``, and the API and token endpoints of
Amazon, MercadoLibre, Walmart and TikTok Shop (their settings accept any http(s) address, for sandboxes).
Against each channel's real simulator on loopback: refused by default, at the first call, with nothing sent
and no in-call retry; each address on its own (the others public, never reached); working once the
operator's choice arrives (``netguard.apply_policy``, after the connector and its client are built); and
the same where Fenicia builds channel connectors: ``build_connector`` for saved connections and sync runs
(which go to Error at once, no retry), the dashboard's test of a new connection, and the API's test.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import factories
from doubles import RecordingDispatcher
from fenicia.api.app import create_app
from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, ConnectionStatus, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import build_connector, create_connection, request_sync
from fenicia.connectors.base import AccessToken, ChannelConnector, MemoryTokenStore, TokenStore
from fenicia.connectors.registry import CHANNEL_PACKAGES, channel_spec
from fenicia.core import netguard
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ConfigError, TransientError
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.web.connect import check_credentials
from harness import ChannelHarness
from netguard_kit import no_retries, refused_settings

PUBLIC = "http://93.184.216.34"  # a public address, written as one so that no DNS is needed; never reached
REFUSED = "Fenicia does not fetch from 127.0.0.1: it is a loopback address, not one on the public internet."

# Every address a merchant types, per channel, with what else the connection needs for the call to reach
# it first: an access token in hand skips the token endpoint. Walmart's token API is below its one address.
ADDRESSES: list[tuple[str, str, str]] = [  # (channel, setting, the suffix the simulator serves it at)
    ("shopify", "shop_url", ""),
    ("amazon", "endpoint", ""),
    ("amazon", "lwa_token_url", "/auth/o2/token"),
    ("mercadolibre", "api_url", ""),
    ("mercadolibre", "token_url", "/oauth/token"),
    ("walmart", "api_base_url", ""),
    ("tiktok", "api_base_url", ""),
    ("tiktok", "auth_base_url", ""),
]
TOKEN_ENDPOINTS = {"amazon": "lwa_token_url", "mercadolibre": "token_url", "tiktok": "auth_base_url"}


@pytest.fixture(params=CHANNEL_PACKAGES)
def harness(request: pytest.FixtureRequest) -> Iterator[ChannelHarness]:
    with importlib.import_module(f"harness_{request.param}").running() as handle:
        yield handle


def seen(harness: ChannelHarness) -> int:
    """Requests the simulator received (its own control calls are not logged)."""
    return len(harness.requests("", ""))


def build(
    harness: ChannelHarness, changes: dict[str, Any] | None = None, tokens: TokenStore | None = None
) -> ChannelConnector:
    """Built as the registry builds it (the harness's settings with ``changes``), never told the operator's
    choice."""
    spec = channel_spec(harness.channel)
    connector: ChannelConnector = spec.build(
        spec.settings_model.model_validate({**harness.connection_settings(), **(changes or {})}),
        spec.credentials_model.model_validate(harness.connection_credentials()),
        tokens or MemoryTokenStore(),
    )
    return connector


def assert_refusal(error: ConfigError, message: str = REFUSED) -> None:
    assert isinstance(error, netguard.AddressRefused) and not isinstance(error, TransientError)
    assert error.message == message
    assert "public address" in error.resolution
    assert "FENICIA_ALLOW_PRIVATE_SOURCE_URLS=true" in error.resolution


async def refused(connector: ChannelConnector) -> ConfigError:
    """The error of "Test connection" (the connector is closed after)."""
    try:
        with no_retries(), pytest.raises(ConfigError) as caught:
            await connector.test_connection()
    finally:
        await connector.aclose()
    return caught.value


async def test_a_loopback_address_is_refused_by_default_and_nothing_is_sent(harness: ChannelHarness) -> None:
    connector = build(harness)
    assert getattr(connector, "allow_private_urls", None) is False  # the policy is there, and refuses

    assert_refusal(await refused(connector))
    assert seen(harness) == 0


@pytest.mark.parametrize(("channel", "setting", "suffix"), ADDRESSES, ids=[f"{c}-{s}" for c, s, _ in ADDRESSES])
async def test_every_address_a_merchant_types_is_guarded(channel: str, setting: str, suffix: str) -> None:
    """Each address on loopback while every other one is public: the refusal names loopback, so it is this
    address that was checked (a public one would have been tried over the network instead)."""
    with importlib.import_module(f"harness_{channel}").running() as harness:
        addresses = {name: PUBLIC for c, name, _ in ADDRESSES if c == channel}
        addresses[setting] = f"{harness.url}{suffix}"
        tokens = MemoryTokenStore()
        if setting != TOKEN_ENDPOINTS.get(channel):  # the token endpoint is not what this case is about
            tokens.token = AccessToken(value="in-hand", expires_at=utcnow() + timedelta(hours=1))
        assert_refusal(await refused(build(harness, addresses, tokens)))
        assert seen(harness) == 0


async def test_the_operators_allowance_reaches_a_connector_already_built(harness: ChannelHarness) -> None:
    connector = build(harness)
    try:
        with pytest.raises(netguard.AddressRefused):
            await connector.test_connection()
        netguard.apply_policy(connector, allow_private=True)  # as build_connector does, after building it
        assert await connector.test_connection()
        assert seen(harness) > 0
        netguard.apply_policy(connector, allow_private=False)  # and taken back, on the same client
        before = seen(harness)
        with pytest.raises(netguard.AddressRefused):
            await connector.test_connection()
        assert seen(harness) == before
    finally:
        await connector.aclose()


async def test_a_name_is_judged_by_the_addresses_it_resolves_to(harness: ChannelHarness) -> None:
    """``localhost`` is a name, not an address: resolved, then refused for what it resolves to."""
    local = {
        name: value.replace("127.0.0.1", "localhost")
        for name, value in harness.connection_settings().items()
        if isinstance(value, str) and value.startswith("http://127.0.0.1")
    }
    error = await refused(build(harness, local))
    assert error.message.startswith("Fenicia does not fetch from localhost (")
    assert "a loopback address" in error.message
    assert seen(harness) == 0


# --- where Fenicia builds channel connectors ----------------------------------------------------------


async def test_the_dashboards_test_of_a_new_connection_refuses_unless_the_operator_allows(
    harness: ChannelHarness, settings: Settings
) -> None:
    spec = channel_spec(harness.channel)
    models = (
        spec.settings_model.model_validate(harness.connection_settings()),
        spec.credentials_model.model_validate(harness.connection_credentials()),
    )
    with no_retries(), pytest.raises(ConfigError) as caught:
        await check_credentials(spec, *models, allow_private=refused_settings(settings).allow_private_source_urls)
    assert_refusal(caught.value)
    assert seen(harness) == 0

    assert settings.allow_private_source_urls  # the test settings allow it: every simulator is on loopback
    assert await check_credentials(spec, *models, allow_private=settings.allow_private_source_urls)


class Saved(NamedTuple):
    workspace: int
    connection: int
    token: str  # an API token of the workspace


def saved(db: Database, box: SecretBox, harness: ChannelHarness) -> Saved:
    """A connection to the simulator, saved as the API or the dashboard saves it."""
    with db.session() as session:
        workspace, token = factories.workspace(session)
        data = ConnectionCreate(
            channel=harness.channel,
            name=f"My {harness.channel}",
            settings=harness.connection_settings(),
            credentials=harness.connection_credentials(),
        )
        return Saved(workspace, create_connection(session, box, workspace, data).id, token)


async def test_a_saved_connection_is_refused_unless_the_operator_allows(
    harness: ChannelHarness, settings: Settings, db: Database, box: SecretBox
) -> None:
    with db.read_session() as session:
        conn = session.get(ChannelConnection, saved(db, box, harness).connection)
        assert conn is not None
        never_told = build_connector(conn, box, db)
        connectors = [
            build_connector(conn, box, db, allow_private=refused_settings(settings).allow_private_source_urls),
            build_connector(conn, box, db, allow_private=settings.allow_private_source_urls),
        ]

    assert_refusal(await refused(never_told))
    assert_refusal(await refused(connectors[0]))
    assert seen(harness) == 0
    try:
        assert await connectors[1].test_connection()
    finally:
        await connectors[1].aclose()


async def test_a_sync_run_goes_to_error_at_once_and_is_not_retried(
    harness: ChannelHarness, settings: Settings, db: Database, box: SecretBox
) -> None:
    workspace, conn_id, _ = saved(db, box, harness)
    ctx = SyncContext(db=db, box=box, settings=refused_settings(settings), worker_id="test-worker")
    with db.session() as session:
        run, _ = request_sync(session, workspace, conn_id, trigger="manual")
        run_id = run.id

    with no_retries():
        await execute_run(ctx, run_id)

    with db.read_session() as session:
        done, conn = session.get(SyncRun, run_id), session.get(ChannelConnection, conn_id)
        assert done is not None and conn is not None
        assert (done.status, done.error_code, done.error_message) == (RunStatus.FAILED, "config_error", REFUSED)
        assert (conn.status, conn.status_message) == (ConnectionStatus.ERROR, REFUSED)
        assert "FENICIA_ALLOW_PRIVATE_SOURCE_URLS=true" in (conn.resolution or "")
        assert (conn.retry_count, conn.next_attempt_at) == (0, None)  # a settings problem: no retry planned
        queued = session.scalars(select(SyncRun.id).where(SyncRun.status == RunStatus.QUEUED)).all()
        assert queued == []
    assert seen(harness) == 0


@pytest.mark.parametrize("channel", ["shopify", "tiktok"])
def test_the_api_answers_what_to_do(channel: str, settings: Settings, db: Database, box: SecretBox) -> None:
    app = create_app(settings=refused_settings(settings), db=db, box=box, dispatcher=RecordingDispatcher())
    with importlib.import_module(f"harness_{channel}").running() as harness, TestClient(app) as client:
        _, conn_id, token = saved(db, box, harness)
        answer = client.post(f"/api/v1/connections/{conn_id}/test", headers={"Authorization": f"Bearer {token}"})
        assert seen(harness) == 0

    assert answer.status_code == 400
    body = answer.json()
    assert body["ok"] is False
    assert body["error"]["code"] == "config_error"
    assert body["error"]["message"] == REFUSED
    assert "FENICIA_ALLOW_PRIVATE_SOURCE_URLS=true" in body["error"]["resolution"]
