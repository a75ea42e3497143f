"""ERPNext source: "test connection" and settings validation, against the simulator over loopback HTTP."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from erpnext_sim import running_erpnext
from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.erpnext import ErpnextCredentials, ErpnextSettings
from fenicia.connectors.source_registry import source_spec
from fenicia.core.errors import AuthError, ConfigError
from sourcekit import connect, connection_error


async def test_connection_ok_names_the_user_and_counts_bins() -> None:
    with running_erpnext() as site:
        message = await connect(site.connector())
    assert "as stock@example.com" in message
    assert "4 stock rows (Bin)" in message


async def test_wrong_secret_says_keys_were_rejected() -> None:
    with running_erpnext() as site:
        error = await connection_error(site.connector(secret="wrong"), AuthError)
    assert "rejected the API key and secret" in error.message
    assert "Generate Keys" in error.resolution


async def test_missing_permission_names_user_and_doctype() -> None:
    with running_erpnext(stock_read=False) as site:
        error = await connection_error(site.connector(), AuthError)
    assert "user 'stock@example.com' may not read stock levels (Bin)" in error.message
    assert "does not have doctype access" in error.message
    assert "<strong>" not in error.message
    assert "Stock User" in error.resolution


async def test_url_that_is_not_erpnext() -> None:
    with running_erpnext() as site:
        error = await connection_error(site.connector(url=f"{site.url}/desk"), ConfigError)
    assert "No Frappe/ERPNext API at" in error.message
    assert "/desk" in error.message


@pytest.mark.parametrize("url", ["not a url", "ftp://erp.example.com", "https://erp.example.com/app#x"])
def test_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="must be a web address"):
        ErpnextSettings(url=url)


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="unknown Bin fields"):
        ErpnextSettings(url="https://erp.example.com", reserved_fields=("projected_qty",))
    with pytest.raises(ValidationError, match="unknown time zone"):
        ErpnextSettings(url="https://erp.example.com", time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="must not contain ':'"):
        ErpnextCredentials(api_key="key:secret", api_secret="x")
    with pytest.raises(ValidationError, match="must not be empty"):
        ErpnextCredentials(api_key="key", api_secret=" ")


def test_registry_builds_a_source_connector() -> None:
    spec = source_spec("erpnext")
    assert (spec.key, spec.kind, spec.supports_delta) == ("erpnext", "erp", True)
    connector = spec.build(ErpnextSettings(url="erp.example.com"), ErpnextCredentials(api_key="k", api_secret="s"))
    assert isinstance(connector, InventorySourceConnector)
