"""Table tests: Frappe answers mapped to Fenicia errors; the fixtures through the Bin normalizer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fenicia.connectors import erpnext
from fenicia.connectors.erpnext.client import frappe_message, retry_after_of, to_error
from fenicia.connectors.erpnext.settings import ErpnextSettings
from fenicia.connectors.erpnext.stock import frappe_datetime, to_level
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

FIXTURES = Path(erpnext.__file__).parent / "fixtures"
ERRORS = json.loads((FIXTURES / "errors.json").read_text())
REQUEST = httpx.Request("GET", "https://erp.example.com/api/resource/Bin")
SETTINGS = ErpnextSettings(url="https://erp.example.com")


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=REQUEST)
    return httpx.Response(status, json=body or {}, headers=headers, request=REQUEST)


STATUS_TABLE: list[tuple[httpx.Response, type[FeniciaError]]] = [
    (answer(401, ERRORS["401"]), AuthError),
    (answer(403, ERRORS["403"]), AuthError),
    (answer(404, "<h1>Not Found</h1>"), ConfigError),
    (answer(417, ERRORS["417"]), ValidationFailed),
    (answer(409, {"exc_type": "DuplicateEntryError"}), ValidationFailed),
    (answer(429, ERRORS["429"], {"Retry-After": "4"}), RateLimitedError),
    (answer(500, {"exc_type": "InternalServerError"}), TransientError),
    (answer(502, "<html>Bad gateway</html>"), TransientError),
    (answer(504, ""), TransientError),
    (answer(402, {"exc_type": "PaymentRequired"}), ConnectorError),
]


@pytest.mark.parametrize(("response", "expected"), STATUS_TABLE, ids=lambda v: getattr(v, "status_code", ""))
def test_status_maps_to_error(response: httpx.Response, expected: type[FeniciaError]) -> None:
    error = to_error(response)
    assert type(error) is expected
    assert error.message
    assert error.resolution


def test_server_messages_are_read_without_html() -> None:
    text = frappe_message(answer(403, ERRORS["403"]))
    assert text == "User stock@example.com does not have doctype access via role permission for document Bin"
    assert frappe_message(answer(401, ERRORS["401"])) == "frappe.exceptions.AuthenticationError"


def test_rate_limit_reset_header_is_a_fallback_for_retry_after() -> None:
    assert retry_after_of(answer(429, {}, {"X-RateLimit-Reset": "12"})) == 12.0
    assert retry_after_of(answer(429, {}, {"Retry-After": "3", "X-RateLimit-Reset": "12"})) == 3.0


def test_fixture_bins_normalize() -> None:
    rows = json.loads((FIXTURES / "bin_list.json").read_text())["response"]["data"]
    levels = [to_level(row, SETTINGS, {"SKU001": "T-shirt"}) for row in rows]
    assert [(lv.code, lv.location, lv.available, lv.on_hand, lv.reserved, lv.name) for lv in levels if lv] == [
        ("SKU001", "Stores - WP", 15, 20, 5, "T-shirt"),
        ("000789", "Stores - WP", 0, 3, 5, None),
        ("SKU001", "Finished Goods - WP", 4, 4, 0, "T-shirt"),
    ]
    assert to_level({"item_code": "", "warehouse": "Stores - WP"}, SETTINGS, {}) is None


def test_cursor_is_written_in_the_site_time_zone() -> None:
    moment = datetime(2024, 5, 2, 8, 30, 15, 900000, tzinfo=UTC)
    assert frappe_datetime(moment, "Europe/Berlin") == "2024-05-02 10:30:15"
    assert frappe_datetime(moment, "America/New_York") == "2024-05-02 04:30:15"
