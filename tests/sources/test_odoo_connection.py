"""Odoo source: "test connection" and settings validation, against the simulator over loopback HTTP."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.odoo import OdooCredentials, OdooSettings
from fenicia.connectors.source_registry import source_spec
from fenicia.core.errors import AuthError, ConfigError
from odoo_sim import running_odoo
from sourcekit import connect, connection_error

PROTOCOLS = ["json2", "jsonrpc"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_connection_ok_counts_stock_rows(protocol: str) -> None:
    with running_odoo() as odoo:
        message = await connect(odoo.connector(protocol=protocol))
    assert "Connected to Odoo" in message
    assert "5 stock records" in message
    assert ("JSON-2" if protocol == "json2" else "JSON-RPC") in message


async def test_bad_api_key_json2_says_the_key_was_rejected() -> None:
    with running_odoo() as odoo:
        error = await connection_error(odoo.connector(api_key="wrong"), AuthError)
    assert "rejected the API key" in error.message
    assert "Invalid apikey" in error.message
    assert "New API Key" in error.resolution


async def test_bad_password_jsonrpc_names_the_login() -> None:
    with running_odoo() as odoo:
        error = await connection_error(odoo.connector(api_key="wrong", protocol="jsonrpc"), AuthError)
    assert "refused the login 'admin@example.com'" in error.message
    assert "database 'odoo'" in error.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_missing_inventory_rights_says_which_records(protocol: str) -> None:
    with running_odoo(stock_access=False) as odoo:
        error = await connection_error(odoo.connector(protocol=protocol), AuthError)
    assert "not allowed to access 'Quants' (stock.quant)" in error.message
    assert "Inventory" in error.resolution


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_wrong_database_is_named(protocol: str) -> None:
    with running_odoo() as odoo:
        error = await connection_error(odoo.connector(protocol=protocol, database="nope"), ConfigError)
    assert "no database named 'nope'" in error.message


async def test_json2_on_a_multi_database_server_asks_for_the_database() -> None:
    with running_odoo(databases=("odoo", "staging")) as odoo:
        error = await connection_error(odoo.connector(), ConfigError)
        message = await connect(odoo.connector(database="staging"))
    assert "several databases" in error.message
    assert "database 'staging'" in message


async def test_json2_on_an_old_server_suggests_jsonrpc() -> None:
    with running_odoo(server_version="17.0") as odoo:
        error = await connection_error(odoo.connector(), ConfigError)
        message = await connect(odoo.connector(protocol="jsonrpc"))
    assert "Odoo 17.0, which has no JSON-2 API" in error.message
    assert "JSON-RPC" in error.resolution
    assert "Connected" in message


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [("json2", "does not answer like an Odoo server"), ("jsonrpc", "No Odoo JSON-RPC endpoint")],
)
async def test_url_that_is_not_odoo(protocol: str, expected: str) -> None:
    with running_odoo() as odoo:
        error = await connection_error(odoo.connector(protocol=protocol, url=f"{odoo.url}/shop"), ConfigError)
    assert expected in error.message
    assert "/shop" in error.message


@pytest.mark.parametrize("url", ["not a url", "ftp://odoo.example.com", "https://odoo.example.com/?db=x", ""])
def test_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="must be a web address"):
        OdooSettings(url=url)


def test_url_is_normalized() -> None:
    assert OdooSettings(url=" mycompany.odoo.com/ ").url == "https://mycompany.odoo.com"
    assert OdooSettings(url="http://10.0.0.5:8069/odoo-proxy/").url == "http://10.0.0.5:8069/odoo-proxy"


def test_jsonrpc_needs_database_and_login() -> None:
    with pytest.raises(ValidationError, match="JSON-RPC needs both 'database' and 'login'"):
        OdooSettings(url="https://x.odoo.com", protocol="jsonrpc", database="x")


def test_blank_key_is_refused_and_secret_is_hidden() -> None:
    with pytest.raises(ValidationError, match="must not be empty"):
        OdooCredentials(api_key="  ")
    assert "s3cret" not in repr(OdooCredentials(api_key="s3cret"))


def test_registry_builds_a_source_connector() -> None:
    spec = source_spec("odoo")
    assert (spec.key, spec.kind, spec.supports_delta) == ("odoo", "erp", True)
    connector = spec.build(OdooSettings(url="https://x.odoo.com"), OdooCredentials(api_key="k"))
    assert isinstance(connector, InventorySourceConnector)
    with pytest.raises(ConfigError):
        spec.build(OdooCredentials(api_key="k"), OdooCredentials(api_key="k"))
