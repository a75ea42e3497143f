"""WooCommerce source: "test connection" and settings validation, against the simulator over loopback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.source_registry import source_spec
from fenicia.connectors.woocommerce import WoocommerceCredentials, WoocommerceSettings
from fenicia.core.errors import AuthError, ConfigError
from sourcekit import connect, connection_error
from woocommerce_sim import running_woocommerce

KEYS = {"consumer_key": "ck_1", "consumer_secret": "cs_1"}


@pytest.mark.parametrize("auth_method", ["basic", "query"])
async def test_connection_ok_names_the_shop_and_counts_products(auth_method: str) -> None:
    with running_woocommerce() as shop:
        message = await connect(shop.connector(auth_method=auth_method))
        logged = shop.requests("/wc/v3/products")
    assert message == "Connected to WooCommerce shop Sandbox Store: 5 products"
    assert all("consumer_secret" not in r["query"] for r in logged)


async def test_wrong_secret_is_named() -> None:
    with running_woocommerce() as shop:
        error = await connection_error(shop.connector(secret="cs_wrong"), AuthError)
    assert error.message == "WooCommerce refused the API key: Consumer secret is invalid."
    assert "Read permission" in error.resolution


async def test_write_only_key_lacks_read_permission() -> None:
    with running_woocommerce(key_permission="write") as shop:
        error = await connection_error(shop.connector(), AuthError)
    assert "does not have read permissions" in error.message


async def test_server_dropping_the_authorization_header_suggests_query_auth() -> None:
    with running_woocommerce(strip_authorization=True) as shop:
        error = await connection_error(shop.connector(), AuthError)
        message = await connect(shop.connector(auth_method="query"))
    assert "drops the Authorization header" in error.message
    assert "'query'" in error.resolution
    assert "Connected" in message


async def test_plain_http_site_needs_https() -> None:
    with running_woocommerce(is_ssl=False) as shop:
        error = await connection_error(shop.connector(), AuthError)
    assert "over plain HTTP it only accepts OAuth 1.0a" in error.message
    assert "https://" in error.resolution


async def test_wordpress_without_woocommerce() -> None:
    with running_woocommerce(woocommerce_active=False) as shop:
        error = await connection_error(shop.connector(), ConfigError)
    assert "Sandbox Store runs WordPress without the WooCommerce REST API" in error.message


async def test_url_that_is_not_wordpress() -> None:
    with running_woocommerce() as shop:
        error = await connection_error(shop.connector(site_url=f"{shop.url}/blog"), ConfigError)
    assert "No WordPress REST API at" in error.message
    assert "/blog/wp-json/" in error.message


def test_settings_and_credentials_validation() -> None:
    assert WoocommerceSettings(site_url="shop.example.com/wp-json/wc/v3/").site_url == "https://shop.example.com"
    with pytest.raises(ValidationError, match="must be a web address"):
        WoocommerceSettings(site_url="not a url")
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        WoocommerceSettings(site_url="shop.example.com", page_size=500)
    with pytest.raises(ValidationError, match="starts with ck_"):
        WoocommerceCredentials(consumer_key="cs_swapped", consumer_secret="cs_1")
    with pytest.raises(ValidationError, match="starts with cs_"):
        WoocommerceCredentials(consumer_key="ck_1", consumer_secret="ck_swapped")


def test_registry_builds_a_source_connector() -> None:
    spec = source_spec("woocommerce")
    assert (spec.key, spec.kind, spec.supports_delta) == ("woocommerce", "shop", True)
    connector = spec.build(WoocommerceSettings(site_url="shop.example.com"), WoocommerceCredentials(**KEYS))
    assert isinstance(connector, InventorySourceConnector)
