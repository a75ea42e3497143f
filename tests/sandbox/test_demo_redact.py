"""The demo serves TikTok's token endpoint itself: its access log must not print the secrets in that URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from fenicia.sandbox import redact

TOKEN_URL = (
    "/_sim/tiktok/demo-store/api/v2/token/refresh?app_key=demo1&app_secret=s3cret&refresh_token=ROW_r3fresh"
    "&grant_type=refresh_token"
)


@pytest.fixture
def redacting() -> Iterator[None]:
    redact.install()
    yield
    redact.uninstall()


def test_secret_query_values_are_masked_and_the_rest_kept() -> None:
    masked = redact.redact(TOKEN_URL)

    assert "s3cret" not in masked and "ROW_r3fresh" not in masked
    assert "app_secret=***" in masked and "refresh_token=***" in masked
    assert "app_key=demo1" in masked and "grant_type=refresh_token" in masked
    assert redact.redact("/_sim/shopify/demo-store/admin/api/2024-04/orders.json?status=any") == (
        "/_sim/shopify/demo-store/admin/api/2024-04/orders.json?status=any"
    )


def test_the_access_log_prints_masked_urls_while_the_demo_runs(
    redacting: None, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger(redact.ACCESS_LOGGER)
    with caplog.at_level(logging.INFO, logger=redact.ACCESS_LOGGER):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", TOKEN_URL, "1.1", 200)

    line = caplog.records[-1].getMessage()
    assert "s3cret" not in line and "ROW_r3fresh" not in line and "app_secret=***" in line
