"""The URL spreadsheet transport refuses loopback, private and other non-public addresses (SSRF) unless the
operator allows them; the refusal says what to do. Against a real loopback file server."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from fenicia.connectors.spreadsheet import SOURCE_SPEC
from fenicia.connectors.spreadsheet.connector import SpreadsheetConnector
from fenicia.connectors.spreadsheet.settings import SpreadsheetCredentials, SpreadsheetSettings
from fenicia.core import netguard
from fenicia.core.errors import ConfigError
from fenicia.core.settings import Settings
from inventory.inv_world import FileServer, csv_text


def _connector(url: str) -> SpreadsheetConnector:
    connector = SOURCE_SPEC.build(SpreadsheetSettings(transport="url", url=url), SpreadsheetCredentials())
    assert isinstance(connector, SpreadsheetConnector)
    return connector


def _refused(url: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        asyncio.run(_connector(url).test_connection())
    return caught.value


def test_private_addresses_are_refused_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FENICIA_ALLOW_PRIVATE_SOURCE_URLS", raising=False)
    assert Settings().allow_private_source_urls is False
    assert _connector("https://files.example.com/stock.csv").allow_private_urls is False


def test_loopback_is_refused_with_what_to_do_and_nothing_is_fetched(file_server: FileServer) -> None:
    file_server.files["stock.csv"] = csv_text([("A", 1)]).encode()

    error = _refused(f"{file_server.url}/files/stock.csv")

    assert "127.0.0.1" in error.message and "loopback" in error.message
    assert "public address" in error.resolution and "FENICIA_ALLOW_PRIVATE_SOURCE_URLS=true" in error.resolution
    assert file_server.requests == 0


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("http://10.1.2.3/stock.csv", "private"),
        ("http://192.168.0.20:8080/stock.csv", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/stock.csv", "loopback"),
        ("http://[::ffff:10.0.0.1]/stock.csv", "private"),
        ("http://100.64.0.1/stock.csv", "non-public"),
        ("http://0.0.0.0/stock.csv", "unspecified"),
        ("http://localhost/stock.csv", "loopback"),  # a name is resolved, then judged by its addresses
    ],
)
def test_non_public_addresses_are_refused(url: str, word: str) -> None:
    error = _refused(url)
    assert f"a {word} address" in error.message and "FENICIA_ALLOW_PRIVATE_SOURCE_URLS" in error.resolution


def test_public_addresses_pass_the_check() -> None:
    for public in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert netguard.refusal(ipaddress.ip_address(public)) is None


def test_the_operator_can_allow_private_addresses(file_server: FileServer, settings: Settings) -> None:
    assert settings.allow_private_source_urls  # the test settings allow it explicitly: servers run on loopback
    file_server.files["stock.csv"] = csv_text([("A", 1)]).encode()
    connector = _connector(f"{file_server.url}/files/stock.csv")

    netguard.apply_policy(connector, settings.allow_private_source_urls)

    assert connector.allow_private_urls
    assert "SKU from 'SKU'" in asyncio.run(connector.test_connection())
    assert file_server.requests == 1


def test_the_guard_for_http_clients_built_before_the_policy_arrives(file_server: FileServer) -> None:
    """How an HTTP source whose client exists before ``apply_policy`` uses it: the guard asks each time."""
    file_server.files["stock.csv"] = b"SKU,Qty\nA,1\n"
    policy = {"allow": False}

    async def fetch() -> int:
        guard = netguard.GuardedTransport(allow=lambda: policy["allow"])
        async with httpx.AsyncClient(base_url=file_server.url, transport=guard) as client:
            return (await client.get("/files/stock.csv")).status_code

    with pytest.raises(ConfigError, match="loopback"):
        asyncio.run(fetch())
    policy["allow"] = True
    assert asyncio.run(fetch()) == 200 and file_server.requests == 1
