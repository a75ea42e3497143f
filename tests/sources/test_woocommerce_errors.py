"""Table tests: WooCommerce answers mapped to Fenicia errors; the fixtures through the normalizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fenicia.connectors import woocommerce
from fenicia.connectors.woocommerce.client import to_error
from fenicia.connectors.woocommerce.stock import to_level, variation_name
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

FIXTURES = Path(woocommerce.__file__).parent / "fixtures"
ERRORS = json.loads((FIXTURES / "errors.json").read_text())
REQUEST = httpx.Request("GET", "https://shop.example.com/wp-json/wc/v3/products")


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=REQUEST)
    return httpx.Response(status, json=body, headers=headers, request=REQUEST)


STATUS_TABLE: list[tuple[httpx.Response, type[FeniciaError], str]] = [
    (answer(401, ERRORS["key_invalid_401"]), AuthError, "Consumer key is invalid."),
    (answer(401, ERRORS["no_read_permission_401"]), AuthError, "read permissions"),
    (answer(401, ERRORS["cannot_view_401"]), AuthError, "cannot list resources"),
    (
        answer(403, {"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that."}),
        AuthError,
        "not allowed",
    ),
    (answer(404, ERRORS["no_route_404"]), ConfigError, "REST API is not active"),
    (answer(400, ERRORS["invalid_param_400"]), ValidationFailed, "per_page"),
    (answer(429, {"code": "x", "message": "slow"}, {"Retry-After": "5"}), RateLimitedError, "429"),
    (answer(500, {"code": "internal_server_error", "message": "critical error"}), TransientError, "500"),
    (answer(502, "<html>bad gateway</html>"), TransientError, "502"),
    (answer(402, {"code": "x", "message": "pay"}), ConnectorError, "402"),
]


@pytest.mark.parametrize(("response", "expected", "text"), STATUS_TABLE, ids=lambda v: getattr(v, "status_code", ""))
def test_status_maps_to_error(response: httpx.Response, expected: type[FeniciaError], text: str) -> None:
    error = to_error(response)
    assert type(error) is expected
    assert text in error.message


def test_fixture_products_and_variations_normalize() -> None:
    products = json.loads((FIXTURES / "products_page.json").read_text())["response"]
    variations = json.loads((FIXTURES / "variations_page.json").read_text())["response"]
    levels = [to_level(p, p["name"]) for p in products]
    levels += [to_level(v, variation_name("Shirt", v)) for v in variations]
    assert [(lv.code, lv.available, lv.name) for lv in levels if lv] == [
        ("WOO-HOODIE", 12, "Hoodie"),
        ("007", 5, "Pin"),
        ("POSTER", 0, "Poster"),
        ("WOO-SHIRT-S", 4, "Shirt - Small"),
        ("WOO-SHIRT-L", 0, "Shirt - Large"),
    ]
