"""Every HTTP inventory source refuses a loopback, private or otherwise non-public address (server-side
request forgery) unless the operator allows it, and the refusal tells the merchant what to do.

Against each source's real simulator on loopback: refused by default (nothing reaches the simulator, no
in-call retry), working once the operator's choice arrives (``netguard.apply_policy``, after the connector
and its client are built), and the same through the inventory services that build connectors for "Test
connection", a saved source's test and the scheduled reads, and through the API a merchant's form calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import factories
from doubles import RecordingDispatcher
from erpnext_sim import running_erpnext
from fenicia.api.app import create_app
from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.source_registry import source_spec
from fenicia.core import netguard
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ConfigError, TransientError
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.inventory import services
from fenicia.inventory.schemas import SourceCreate
from netguard_kit import no_retries, refused_settings
from odoo_sim import running_odoo
from shiphero_sim import running_shiphero
from shopify_sim import running_shop
from sourcekit import FAST, connect, read_levels
from woocommerce_sim import running_woocommerce

BASE = "/api/v1/inventory"
PUBLIC = "93.184.216.34"  # a public address, written as one so that no DNS is needed


@dataclass(frozen=True)
class Kind:
    """One source type: its simulator, the setting that holds the merchant's address, valid credentials."""

    key: str
    running: Callable[[], AbstractContextManager[Any]]
    address: str
    credentials: Callable[[Any], dict[str, str]]  # the simulator's config -> the source's credentials


KINDS = [
    Kind("odoo", running_odoo, "url", lambda c: {"api_key": c.api_key}),
    Kind("erpnext", running_erpnext, "url", lambda c: {"api_key": c.api_key, "api_secret": c.api_secret}),
    Kind("shiphero", running_shiphero, "api_url", lambda c: {"refresh_token": c.refresh_token}),
    Kind(
        "woocommerce",
        running_woocommerce,
        "site_url",
        lambda c: {"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret},
    ),
    Kind("shopify_stock", running_shop, "shop_url", lambda c: {"access_token": c.access_token}),
]
IDS = [kind.key for kind in KINDS]


@dataclass
class Running:
    """A simulator serving one source type on loopback, and the form that points a source at it."""

    kind: Kind
    handle: Any

    def settings(self) -> dict[str, Any]:
        return {self.kind.address: self.handle.url, **FAST}

    def credentials(self) -> dict[str, str]:
        return self.kind.credentials(self.handle.sim.config)

    def build(self) -> InventorySourceConnector:
        """Built as the registry builds it, and never told the operator's choice."""
        spec = source_spec(self.kind.key)
        connector: InventorySourceConnector = spec.build(
            spec.settings_model(**self.settings()), spec.credentials_model(**self.credentials())
        )
        return connector

    def form(self) -> SourceCreate:
        return SourceCreate(
            kind=self.kind.key, name="Warehouse", settings=self.settings(), credentials=self.credentials()
        )

    def seen(self) -> int:
        """Requests the simulator received on its API (its own control calls are not counted)."""
        return len(self.handle.requests())


@pytest.fixture(params=KINDS, ids=IDS)
def source(request: pytest.FixtureRequest) -> Iterator[Running]:
    kind: Kind = request.param
    with kind.running() as handle:
        yield Running(kind, handle)


def assert_refusal(error: ConfigError) -> None:
    assert isinstance(error, netguard.AddressRefused) and not isinstance(error, TransientError)
    assert error.message == (
        "Fenicia does not fetch from 127.0.0.1: it is a loopback address, not one on the public internet."
    )
    assert "public address" in error.resolution
    assert "FENICIA_ALLOW_PRIVATE_SOURCE_URLS=true" in error.resolution


async def refused(connector: InventorySourceConnector) -> ConfigError:
    with no_retries(), pytest.raises(ConfigError) as caught:
        await connect(connector)
    return caught.value


async def test_a_loopback_address_is_refused_by_default_and_nothing_is_sent(source: Running) -> None:
    connector = source.build()
    assert getattr(connector, "allow_private_urls", None) is False  # the policy is there, and refuses

    assert_refusal(await refused(connector))
    assert source.seen() == 0


async def test_a_read_is_refused_too(source: Running) -> None:
    connector = source.build()
    try:
        with no_retries(), pytest.raises(ConfigError) as caught:
            await read_levels(connector)
    finally:
        await connector.aclose()
    assert_refusal(caught.value)
    assert source.seen() == 0


async def test_the_operators_allowance_reaches_a_connector_already_built(source: Running) -> None:
    connector = source.build()
    try:
        with pytest.raises(ConfigError):
            await connector.test_connection()
        netguard.apply_policy(connector, allow_private=True)  # as the services do, after building it
        message = await connector.test_connection()
        assert message.startswith("Connected to ")
        assert source.seen() > 0
        netguard.apply_policy(connector, allow_private=False)  # and taken back, on the same client
        seen = source.seen()
        with pytest.raises(netguard.AddressRefused):
            await connector.test_connection()
        assert source.seen() == seen
    finally:
        await connector.aclose()


async def test_a_name_is_judged_by_the_addresses_it_resolves_to(source: Running) -> None:
    """``localhost`` is a name, not an address: resolved, then refused for what it resolves to."""
    url = source.handle.url.replace("127.0.0.1", "localhost")
    spec = source_spec(source.kind.key)
    settings = spec.settings_model(**{**source.settings(), source.kind.address: url})
    error = await refused(spec.build(settings, spec.credentials_model(**source.credentials())))
    assert error.message.startswith("Fenicia does not fetch from localhost (")
    assert "a loopback address" in error.message
    assert source.seen() == 0


async def test_a_redirect_from_a_public_address_to_a_private_one_is_refused() -> None:
    """Every hop is checked. The source clients follow no redirect (a 3xx is an answer to map), but the
    guard they share checks each one for a client that does. The inner transport stands in for the public
    internet: it records what would have been sent there."""
    sent: list[str] = []

    def internet(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    guard = netguard.GuardedTransport(inner=httpx.MockTransport(internet))
    async with httpx.AsyncClient(transport=guard, follow_redirects=True) as client:
        with pytest.raises(netguard.AddressRefused) as caught:
            await client.get(f"http://{PUBLIC}/stock.csv")
    assert "from 169.254.169.254: it is a link-local address" in caught.value.message
    assert sent == [f"http://{PUBLIC}/stock.csv"]


# --- through the services that build connectors, and the API a merchant's form calls ---------------------


async def test_test_connection_of_a_form_refuses_unless_the_operator_allows(
    source: Running, settings: Settings
) -> None:
    error = await refused(services.build_unsaved_connector(source.form(), refused_settings(settings)))
    assert_refusal(error)
    assert source.seen() == 0

    assert settings.allow_private_source_urls  # the test settings allow it: every test server is on loopback
    assert (await connect(services.build_unsaved_connector(source.form(), settings))).startswith("Connected to ")


async def test_a_saved_source_is_refused_unless_the_operator_allows(
    source: Running, settings: Settings, db: Database, box: SecretBox
) -> None:
    with db.session() as session:
        workspace, _ = factories.workspace(session)
        saved = services.create_source(session, box, workspace, source.form())
        connectors = [
            services.build_source_connector(saved, box, refused_settings(settings)),
            services.build_source_connector(saved, box, settings),
        ]

    assert_refusal(await refused(connectors[0]))
    assert source.seen() == 0
    assert (await connect(connectors[1])).startswith("Connected to ")


@pytest.mark.parametrize("kind", [KINDS[0], KINDS[-1]], ids=["odoo", "shopify_stock"])
def test_the_api_answers_what_to_do(kind: Kind, settings: Settings, db: Database, box: SecretBox) -> None:
    app = create_app(settings=refused_settings(settings), db=db, box=box, dispatcher=RecordingDispatcher())
    with db.session() as session:
        _, token = factories.workspace(session)
    with kind.running() as handle, TestClient(app) as client:
        running = Running(kind, handle)
        body = running.form().model_dump(mode="json")
        answer = client.post(f"{BASE}/sources/test", json=body, headers={"Authorization": f"Bearer {token}"})
        assert running.seen() == 0

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "config_error"
    assert "127.0.0.1: it is a loopback address" in error["message"]
    assert "FENICIA_ALLOW_PRIVATE_SOURCE_URLS=true" in error["resolution"]
