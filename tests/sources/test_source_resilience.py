"""What every HTTP inventory source must do alike, against its simulator over loopback HTTP: honour 429s,
retry 5xx and timeouts inside the call, hand long waits to the engine, take the snapshot time from the
server's clock, and name an unreachable host. One table of sources, one test each."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import servers
from erpnext_sim import running_erpnext
from fenicia.connectors.base import InventorySourceConnector
from fenicia.connectors.source_registry import source_spec
from fenicia.core import netguard
from fenicia.core.errors import AuthError, ConfigError, RateLimitedError, TransientError
from odoo_sim import running_odoo
from shiphero_sim import running_shiphero
from sourcekit import SimHandle, connection_error, read_levels
from woocommerce_sim import running_woocommerce


@dataclass(frozen=True)
class Source:
    """One source and what reading its simulator's demo data looks like."""

    id: str
    running: Callable[..., AbstractContextManager[Any]]
    api_path: str  # where its data calls go: faults are put there and the request log is read there
    levels: int  # rows the demo data reads to
    calls: int  # data calls one read of the demo data makes
    settings: dict[str, Any] = field(default_factory=dict)
    revoke: tuple[str, str, str] | None = None  # (fault kind, path, error text) of credentials revoked mid-read


SOURCES = [
    Source("odoo-json2", running_odoo, "/json/2/", 5, 2, revoke=("revoke_key", "stock.quant", "Invalid apikey")),
    Source("odoo-jsonrpc", running_odoo, "/jsonrpc", 5, 3, {"protocol": "jsonrpc"}),
    Source(
        "erpnext",
        running_erpnext,
        "/api/resource/",
        4,
        2,
        revoke=("revoke_keys", "/api/resource/Item", "rejected the API key"),
    ),
    Source("shiphero", running_shiphero, "/graphql", 4, 1),
    Source(
        "woocommerce",
        running_woocommerce,
        "/wp-json/wc/v3/",
        6,
        2,
        revoke=("revoke_key", "/variations", "Consumer key is invalid"),
    ),
]
REVOKABLE = [source for source in SOURCES if source.revoke is not None]


def ids(source: Source) -> str:
    return source.id


def statuses(handle: SimHandle[Any], source: Source) -> list[int]:
    return [int(r["status"]) for r in handle.requests(source.api_path)]


@pytest.mark.parametrize("source", SOURCES, ids=ids)
async def test_snapshot_time_comes_from_the_server_clock(source: Source) -> None:
    with source.running() as handle:
        connector = handle.connector(**source.settings)
        before = datetime.now(UTC).replace(microsecond=0)
        await read_levels(connector)
        after = datetime.now(UTC)
        await connector.aclose()
    assert connector.snapshot_at is not None
    assert connector.snapshot_at.microsecond == 0  # HTTP Date: whole seconds, so the server's, not ours
    assert before - timedelta(seconds=1) <= connector.snapshot_at <= after


@pytest.mark.parametrize("source", SOURCES, ids=ids)
async def test_429_is_honoured_then_the_read_goes_on(source: Source) -> None:
    with source.running(retry_after_s=0.05) as handle:
        handle.fault("http_429", count=1, path_contains=source.api_path)
        connector = handle.connector(**source.settings)
        levels = await read_levels(connector)
        await connector.aclose()
        seen = statuses(handle, source)
    assert len(levels) == source.levels
    assert seen == [429] + [200] * source.calls


@pytest.mark.parametrize("source", SOURCES, ids=ids)
async def test_a_long_retry_after_goes_back_to_the_engine(source: Source) -> None:
    with source.running(retry_after_s=120) as handle:
        handle.fault("http_429", count=1, path_contains=source.api_path)
        connector = handle.connector(**source.settings)
        with pytest.raises(RateLimitedError) as caught:
            await read_levels(connector)
        await connector.aclose()
        seen = statuses(handle, source)
    assert caught.value.retry_after == 120
    assert seen == [429]  # not waited out inside the call


@pytest.mark.parametrize("kind", ["http_500", "http_503"])
@pytest.mark.parametrize("source", SOURCES, ids=ids)
async def test_5xx_is_retried_then_becomes_transient(source: Source, kind: str) -> None:
    with source.running() as handle:
        handle.fault(kind, count=2, path_contains=source.api_path)  # both in-call retries are needed
        connector = handle.connector(**source.settings)
        assert len(await read_levels(connector)) == source.levels
        handle.control("DELETE", "requests")
        handle.fault(kind, path_contains=source.api_path)  # until cleared
        with pytest.raises(TransientError) as caught:
            await read_levels(connector)
        await connector.aclose()
        attempts = len(handle.requests(source.api_path))
    assert kind[-3:] in caught.value.message
    assert attempts == 3  # the first try and max_retries_in_call=2


@pytest.mark.parametrize("source", SOURCES, ids=ids)
async def test_timeout_is_retried_in_the_call(source: Source) -> None:
    with source.running() as handle:
        handle.fault("timeout", count=1, seconds=0.6, path_contains=source.api_path)
        connector = handle.connector(**{**source.settings, "timeout_seconds": 0.2})
        levels = await read_levels(connector)
        await connector.aclose()
        seen = statuses(handle, source)
    assert len(levels) == source.levels
    assert seen.count(200) == source.calls


@pytest.mark.parametrize("source", REVOKABLE, ids=ids)
async def test_credentials_revoked_during_a_read_are_an_auth_error(source: Source) -> None:
    assert source.revoke is not None
    kind, path, text = source.revoke
    with source.running() as handle:
        handle.fault(kind, path_contains=path)
        connector = handle.connector(**source.settings)
        with pytest.raises(AuthError, match=text):
            await read_levels(connector)
        await connector.aclose()


WOO_KEYS = {"consumer_key": "ck_1", "consumer_secret": "cs_1"}
OFFLINE = [  # (source type, its address setting, credentials, message, resolution)
    ("odoo", "url", {"api_key": "k"}, "Could not connect to Odoo at", "Check the source's URL"),
    ("erpnext", "url", {"api_key": "k", "api_secret": "s"}, "Could not connect to ERPNext at", "Check the source's"),
    ("shiphero", "api_url", {"refresh_token": "r"}, "Could not connect to ShipHero at", "Check the API address"),
    ("woocommerce", "site_url", WOO_KEYS, "Could not connect to the shop at", "Check the shop's address"),
    ("shopify_stock", "shop_url", {"access_token": "shpat_x"}, "Could not connect to Shopify at", "retries"),
]


def on_loopback(key: str, settings: dict[str, Any], secrets: dict[str, str]) -> InventorySourceConnector:
    """A connector of type ``key`` built by the registry, allowed to reach loopback (the operator's choice)."""
    spec = source_spec(key)
    connector: InventorySourceConnector = spec.build(spec.settings_model(**settings), spec.credentials_model(**secrets))
    netguard.apply_policy(connector, allow_private=True)
    return connector


@pytest.mark.parametrize(("key", "address", "secrets", "message", "resolution"), OFFLINE, ids=[o[0] for o in OFFLINE])
async def test_unreachable_host_says_it_could_not_connect(
    key: str, address: str, secrets: dict[str, str], message: str, resolution: str
) -> None:
    port = servers.free_port()  # nothing listens there
    settings = {address: f"http://127.0.0.1:{port}", "max_retries_in_call": 0}
    error = await connection_error(on_loopback(key, settings, secrets), TransientError)
    assert f"{message} 127.0.0.1:{port}" in error.message
    assert resolution in error.resolution


async def any_page(request: Request) -> Response:
    return HTMLResponse("<!doctype html><title>Welcome</title><p>Our company's home page</p>")


@pytest.mark.parametrize(
    ("key", "address", "secrets", "message", "resolution"), OFFLINE[:4], ids=[o[0] for o in OFFLINE[:4]]
)
async def test_an_address_that_is_another_web_site_is_a_config_error(
    key: str, address: str, secrets: dict[str, str], message: str, resolution: str
) -> None:
    site = Starlette(routes=[Route("/{path:path}", any_page, methods=["GET", "POST"])])
    with servers.serve(site) as url:
        error = await connection_error(on_loopback(key, {address: url}, secrets), ConfigError)
    assert "is not JSON: this address does not look like" in error.message
    assert resolution in error.resolution
