"""Table tests: ShipHero answers mapped to Fenicia errors; fixtures through the normalizer; the GraphQL reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fenicia.connectors import shiphero
from fenicia.connectors.shiphero.client import graphql_error, to_error
from fenicia.connectors.shiphero.settings import ShipheroSettings
from fenicia.connectors.shiphero.sim_graphql import GraphQLError, parse
from fenicia.connectors.shiphero.stock import LEVELS_QUERY, to_level
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

FIXTURES = Path(shiphero.__file__).parent / "fixtures"
ERRORS = json.loads((FIXTURES / "errors.json").read_text())
SETTINGS = ShipheroSettings()


def answer(status: int, body: Any, path: str = "/graphql", headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", f"https://public-api.shiphero.com{path}")
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


STATUS_TABLE: list[tuple[httpx.Response, type[FeniciaError], str]] = [
    (answer(403, ERRORS["auth_token_wrong_password_403"], "/auth/token"), AuthError, "email or password"),
    (answer(403, ERRORS["auth_refresh_invalid_403"], "/auth/refresh"), AuthError, "refresh token"),
    (answer(401, ERRORS["expired_token_401"]), AuthError, "Expired token"),
    (answer(403, {"message": "Forbidden"}), AuthError, "Forbidden"),
    (answer(404, "<html>nope</html>"), ConfigError, "404"),
    (answer(400, {"errors": [{"message": "Syntax Error"}]}), ValidationFailed, "Syntax Error"),
    (answer(429, {"errors": [{"message": "Too many requests"}]}, headers={"Retry-After": "3"}), RateLimitedError, ""),
    (answer(500, {"message": "Internal server error"}), TransientError, "500"),
    (answer(504, {"message": "Endpoint request timed out"}), TransientError, "504"),
    (answer(418, "teapot"), ConnectorError, "418"),
]


@pytest.mark.parametrize(("response", "expected", "text"), STATUS_TABLE, ids=lambda v: getattr(v, "status_code", ""))
def test_status_maps_to_error(response: httpx.Response, expected: type[FeniciaError], text: str) -> None:
    error = to_error(response)
    assert type(error) is expected
    assert text in error.message


def test_throttle_error_carries_the_wait() -> None:
    error = graphql_error(ERRORS["throttled"]["errors"])
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (ERRORS["permission"]["errors"], AuthError),
        ([{"message": "A customer_account_id is required for 3PL accounts", "code": 6}], ConfigError),
        ([{"message": "Cannot query field 'x' on type 'Query'."}], ValidationFailed),
    ],
)
def test_graphql_errors_map_to_errors(errors: list[Any], expected: type[FeniciaError]) -> None:
    assert type(graphql_error(errors)) is expected


def test_fixture_nodes_normalize() -> None:
    edges = json.loads((FIXTURES / "warehouse_products.json").read_text())["response"]["data"]["warehouse_products"]
    levels = [to_level(edge["node"], SETTINGS) for edge in edges["data"]["edges"]]
    assert [(lv.code, lv.location, lv.available, lv.on_hand, lv.reserved, lv.name) for lv in levels if lv] == [
        ("SH-TEE-M", "V2FyZWhvdXNlOjc2NzMz", 34, 40, 6, "Tee M"),
        ("0042", "V2FyZWhvdXNlOjc2NzMz", 0, 3, 5, "Sticker"),
    ]
    assert to_level({"sku": "", "warehouse_id": "x"}, SETTINGS) is None


def test_graphql_reader_parses_the_clients_query() -> None:
    roots = parse(LEVELS_QUERY, {"first": 25, "after": "abc", "active": True})
    (root,) = roots
    assert root.name == "warehouse_products"
    assert root.args == {
        "updated_from": None,
        "warehouse_id": None,
        "customer_account_id": None,
        "active": True,
    }
    data = next(f for f in root.selections if f.name == "data")
    assert data.args == {"first": 25, "after": "abc"}
    with pytest.raises(GraphQLError, match="Fragments"):
        parse("{ account { ...F } }", {})
    aliased = parse('query { me: account(x: "a", n: [1, 2.5], o: {k: null}) { data { id } } }', {})
    assert (aliased[0].key, aliased[0].args) == ("me", {"x": "a", "n": [1, 2.5], "o": {"k": None}})
