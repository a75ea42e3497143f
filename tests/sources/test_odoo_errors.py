"""Table tests: Odoo answers and transport failures mapped to Fenicia errors; the simulator's ORM corners."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fenicia.connectors.httpkit import retry_wait
from fenicia.connectors.odoo.client import rpc_error, to_error
from fenicia.connectors.odoo.settings import OdooSettings
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)
from odoo_sim import running_odoo

REQUEST = httpx.Request("POST", "https://odoo.example.com/json/2/stock.quant/search_read")
SETTINGS = OdooSettings(url="https://odoo.example.com", protocol="jsonrpc", database="prod", login="bot@example.com")


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=REQUEST)
    return httpx.Response(status, json=body or {}, headers=headers, request=REQUEST)


def odoo_body(name: str, message: str) -> dict[str, Any]:
    return {"name": name, "message": message, "arguments": [message], "context": {}, "debug": ""}


STATUS_TABLE: list[tuple[httpx.Response, type[FeniciaError], str]] = [
    (answer(401, odoo_body("werkzeug.exceptions.Unauthorized", "Invalid apikey")), AuthError, "Invalid apikey"),
    (answer(403, odoo_body("odoo.exceptions.AccessError", "not allowed")), AuthError, "not allowed"),
    (answer(404, "<html>Not Found</html>"), ConfigError, "404"),
    (answer(422, odoo_body("builtins.ValueError", "Invalid field")), ValidationFailed, "Invalid field"),
    (answer(400, odoo_body("werkzeug.exceptions.BadRequest", "bad json")), ValidationFailed, "bad json"),
    (answer(429, "slow down", {"Retry-After": "7"}), RateLimitedError, "slow down"),
    (answer(500, odoo_body("werkzeug.exceptions.InternalServerError", "boom")), TransientError, "500"),
    (answer(502, "<html>Bad gateway</html>"), TransientError, "502"),
    (answer(503, ""), TransientError, "503"),
    (answer(418, "teapot"), ConnectorError, "418"),
]

RPC_TABLE: list[tuple[str, str, type[FeniciaError], str]] = [
    ("odoo.exceptions.AccessDenied", "Access Denied", AuthError, "login 'bot@example.com'"),
    ("odoo.exceptions.AccessError", "You are not allowed to access 'Quants'", AuthError, "Quants"),
    ("psycopg2.OperationalError", 'FATAL:  database "prod" does not exist', ConfigError, "no database named 'prod'"),
    ("builtins.ValueError", "Invalid field stock.quant.foo", ValidationFailed, "Invalid field"),
    ("odoo.exceptions.UserError", "Nope", ValidationFailed, "Nope"),
    ("builtins.RuntimeError", "odd", ConnectorError, "odd"),
]


@pytest.mark.parametrize(("response", "expected", "text"), STATUS_TABLE, ids=lambda v: getattr(v, "status_code", ""))
def test_status_maps_to_error(response: httpx.Response, expected: type[FeniciaError], text: str) -> None:
    error = to_error(response)
    assert type(error) is expected
    assert text in error.message or text == "slow down"
    assert error.resolution


def test_retry_after_is_read_from_429() -> None:
    error = to_error(answer(429, "", {"Retry-After": "7"}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7.0


@pytest.mark.parametrize(("name", "message", "expected", "text"), RPC_TABLE)
def test_jsonrpc_error_maps_to_error(name: str, message: str, expected: type[FeniciaError], text: str) -> None:
    error = rpc_error(
        {"code": 200, "message": "Odoo Server Error", "data": {"name": name, "message": message}}, SETTINGS
    )
    assert type(error) is expected
    assert text in error.message


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (httpx.ConnectError("refused", request=REQUEST), "Could not connect to Odoo at odoo.example.com"),
        (httpx.ReadTimeout("slow", request=REQUEST), "did not answer in time"),
        (httpx.RemoteProtocolError("closed", request=REQUEST), "Network error"),
    ],
)
def test_transport_failures_are_transient(exc: Exception, text: str) -> None:
    error = to_error(exc, "https://odoo.example.com")
    assert type(error) is TransientError
    assert text in error.message


def test_retry_wait_honours_retry_after_and_gives_up() -> None:
    settings = OdooSettings(url="https://x.example.com", retry_wait_cap_seconds=10, retry_base_wait_seconds=0.5)
    assert retry_wait(RateLimitedError("x", retry_after=3), 0, settings) == 3
    assert retry_wait(RateLimitedError("x", retry_after=30), 0, settings) is None  # too long: the engine waits
    assert retry_wait(TransientError("x"), 1, settings) == 1.0
    assert retry_wait(TransientError("x"), 2, settings) is None  # max_retries_in_call reached
    assert retry_wait(AuthError("x"), 0, settings) is None


async def test_simulator_orm_domains_order_and_errors() -> None:
    with running_odoo() as odoo:
        headers = {"Authorization": f"bearer {odoo.sim.config.api_key}"}
        url = f"{odoo.url}/json/2/stock.location/search_read"
        async with httpx.AsyncClient(headers=headers) as http:
            either = {
                "domain": ["|", ["name", "=", "Shelf 1"], ["name", "=", "Customers"]],
                "fields": ["complete_name"],
            }
            found = (await http.post(url, json=either)).json()
            wh = {"domain": [["location_id", "child_of", 1], ["usage", "=", "internal"]], "order": "id desc"}
            children = (await http.post(url, json={**wh, "fields": ["name"]})).json()
            bad = await http.post(url, json={"domain": [["nope", "=", 1]]})
            unknown = await http.post(f"{odoo.url}/json/2/sale.order/search_read", json={})
            rpc = await http.post(
                f"{odoo.url}/jsonrpc",
                json={
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {"service": "common", "method": "version"},
                    "id": 1,
                },
            )
    assert {r["complete_name"] for r in found} == {"WH/Stock/Shelf 1", "Customers"}
    assert [r["name"] for r in children] == ["Shelf 1", "Stock"]
    assert bad.status_code == 422
    assert bad.json()["name"] == "builtins.ValueError"
    assert unknown.status_code == 404
    assert rpc.json()["result"]["server_version"] == "19.0"
