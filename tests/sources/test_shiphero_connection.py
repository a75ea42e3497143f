"""ShipHero source: logging in, "test connection" and settings validation, against the simulator."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.shiphero import ShipheroCredentials, ShipheroSettings
from fenicia.connectors.source_registry import source_spec
from fenicia.core.errors import AuthError, ConfigError
from shiphero_sim import running_shiphero
from sourcekit import connect, connection_error


async def test_connection_with_a_refresh_token() -> None:
    with running_shiphero() as shiphero:
        connector = shiphero.connector()
        message = await connect(connector)
        refreshes = shiphero.requests("/auth/refresh")
    assert message == "Connected to ShipHero as ops@example.com: warehouse products can be read"
    assert len(refreshes) == 1
    assert connector.client.token_requests == 1  # one token for both queries


async def test_connection_with_email_and_password() -> None:
    with running_shiphero() as shiphero:
        password = shiphero.sim.config.password
        message = await connect(shiphero.connector({"username": "ops@example.com", "password": password}))
    assert "Connected to ShipHero" in message


async def test_wrong_password_says_so() -> None:
    with running_shiphero() as shiphero:
        wrong = shiphero.connector({"username": "ops@example.com", "password": "nope"})
        error = await connection_error(wrong, AuthError)
    assert "refused the email or password (Wrong email or password.)" in error.message


async def test_wrong_refresh_token_says_so() -> None:
    with running_shiphero() as shiphero:
        error = await connection_error(shiphero.connector({"refresh_token": "stale"}), AuthError)
    assert "refused the refresh token" in error.message
    assert "Third-Party Developer" in error.resolution


async def test_missing_permission_says_so() -> None:
    with running_shiphero() as shiphero:
        shiphero.fault("permission_error", path_contains="/graphql")
        with pytest.raises(AuthError, match="do not have permission to access warehouse products"):
            await connect(shiphero.connector())


async def test_3pl_account_needs_a_customer() -> None:
    with running_shiphero(is_3pl=True) as shiphero:
        error = await connection_error(shiphero.connector(), ConfigError)
        message = await connect(shiphero.connector(customer_account_id=shiphero.sim.store.account_id))
    assert "3PL" in error.message
    assert "customer_account_id" in error.resolution
    assert "customer" in message


async def test_url_that_is_not_shiphero() -> None:
    with running_shiphero() as shiphero, pytest.raises(ConfigError, match="404 Not Found at /v9/auth/refresh"):
        await connect(shiphero.connector(api_url=f"{shiphero.url}/v9"))


def test_settings_and_credentials_validation() -> None:
    assert ShipheroSettings(api_url="public-api.shiphero.com/graphql").api_url == "https://public-api.shiphero.com"
    with pytest.raises(ValidationError, match="must be a web address"):
        ShipheroSettings(api_url="not a url")
    with pytest.raises(ValidationError, match="give a refresh token, or both"):
        ShipheroCredentials(username="ops@example.com")
    with pytest.raises(ValidationError, match="give a refresh token, or both"):
        ShipheroCredentials(refresh_token="  ")
    assert "hunter2" not in repr(ShipheroCredentials(username="a@b.c", password="hunter2"))


def test_registry_builds_a_source_connector() -> None:
    spec = source_spec("shiphero")
    assert (spec.key, spec.kind, spec.supports_delta) == ("shiphero", "wms", True)
    connector = spec.build(ShipheroSettings(), ShipheroCredentials(refresh_token="r"))
    assert isinstance(connector, InventorySourceConnector)
