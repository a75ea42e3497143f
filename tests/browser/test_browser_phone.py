"""On a phone (390x844): every main page fits the screen's width, so nothing needs sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from browser.demo_browser import PHONE, DemoServer

Shot = Callable[..., Path]
WIDTHS = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def _overflow(page: Page, path: str) -> int:
    """How many CSS pixels the page is wider than the screen (0 when it fits)."""
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response.status if response else 'no response'}"
    page.wait_for_load_state("networkidle")
    scroll_width, screen_width = page.evaluate(WIDTHS)
    return max(0, int(scroll_width) - int(screen_width))


@pytest.fixture
def demo_order(server: DemoServer) -> int:
    """An order with a long name and email: the widest content an order page shows."""
    customer = {
        "first_name": "Maximiliana",
        "last_name": "Longname-Fitzgerald",
        "email": "a.very.long.address@example.test",
    }
    placed = server.place_order(customer=customer)
    return server.imported(placed)


def test_the_main_pages_fit_a_phone_screen(phone_page: Page, server: DemoServer, demo_order: int, shot: Shot) -> None:
    conn = server.demo_connection_id()
    pages = [
        "/",
        "/orders",
        f"/orders/{demo_order}",
        "/orders?status=unshipped&placed_from=2020-01-01",
        "/channels",
        f"/channels/{conn}",
        "/channels/new",
        "/channels/new/shopify",
        "/notifications",
        "/settings",
    ]
    too_wide = {path: px for path in pages if (px := _overflow(phone_page, path))}
    assert too_wide == {}, f"pages wider than a 390 px phone (px too wide): {too_wide}"
    phone_page.goto(f"/orders/{demo_order}")
    shot(phone_page, "order-phone", full_page=True)


def test_the_sign_in_page_fits_a_phone_screen(new_context: Callable[..., Any]) -> None:
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    assert _overflow(page, "/login") == 0
