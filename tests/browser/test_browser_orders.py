"""Orders in the browser: new orders appear without a reload, ship with tracking and see the push on the
timeline, cancel, search; screenshots of the orders list and the order page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from browser.demo_browser import DemoServer

Shot = Callable[..., Path]
NO_RELOAD_MARK = "window.__stillTheSamePage"


def _mark_page(page: Page) -> None:
    """A flag in the page's JavaScript state: it survives live updates and is gone after any reload."""
    page.evaluate(f"{NO_RELOAD_MARK} = true")


def _not_reloaded(page: Page) -> bool:
    return bool(page.evaluate(f"{NO_RELOAD_MARK} === true"))


def test_new_demo_orders_appear_on_the_open_orders_page_without_a_reload(
    page: Page, server: DemoServer, shot: Shot
) -> None:
    page.goto("/orders")
    table = page.locator("#orders-table")
    expect(table.locator("tbody tr").first).to_be_visible()
    page.wait_for_load_state("networkidle")  # the live stream is connected
    _mark_page(page)
    placed = server.place_order(customer={"first_name": "Live", "last_name": "Arrival", "email": "live@example.test"})
    arrived = table.locator("tbody tr", has_text="Live Arrival")  # other demo channels' orders may come too
    expect(arrived).to_be_visible()
    expect(arrived).to_contain_text(placed["name"])
    assert _not_reloaded(page)
    shot(page, "orders")


def test_ship_with_a_tracking_number_then_the_push_shows_on_the_timeline(
    page: Page, server: DemoServer, shot: Shot
) -> None:
    placed = server.place_order(customer={"first_name": "Ship", "last_name": "Me", "email": "ship@example.test"})
    order_id = server.imported(placed)
    page.goto(f"/orders/{order_id}")
    expect(page.locator("#order-status")).to_have_text("Unshipped")
    form = page.locator("form[action$='/ship']")
    form.get_by_label("Carrier").fill("UPS")
    form.get_by_label("Tracking number").fill("1ZBROWSER0001")
    form.get_by_label("Tracking URL").fill("https://www.ups.com/track?tracknum=1ZBROWSER0001")
    form.get_by_role("button", name="Mark as shipped").click()
    expect(page.get_by_role("status").first).to_contain_text("Mark as shipped is queued")
    _mark_page(page)
    pushed = page.locator(".timeline li[data-kind='pushed']")
    expect(pushed).to_contain_text("Shipment pushed to Shopify")
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.locator("#order-activity")).to_contain_text("1ZBROWSER0001")
    assert _not_reloaded(page)
    fulfillments = server.shop_order(str(placed["id"]))["fulfillments"]
    assert [f["tracking_number"] for f in fulfillments] == ["1ZBROWSER0001"]
    shot(page, "order", full_page=True)


def test_cancel_an_order_the_channel_allows_cancelling(page: Page, server: DemoServer) -> None:
    placed = server.place_order(customer={"first_name": "Cancel", "last_name": "Me", "email": "cancel@example.test"})
    order_id = server.imported(placed)
    page.goto(f"/orders/{order_id}")
    form = page.locator("form[action$='/cancel']")
    expect(form.get_by_role("button", name="Cancel order")).to_be_enabled()
    form.get_by_label("Reason").select_option("customer")
    form.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("status").first).to_contain_text("The cancellation is queued")
    expect(page.locator(".timeline li[data-kind='pushed']")).to_contain_text("Cancellation accepted by Shopify")
    expect(page.locator("#order-status")).to_have_text("Cancelled")
    assert server.shop_order(str(placed["id"]))["cancelled_at"]


def test_search_finds_an_order_by_customer_and_by_number(page: Page, server: DemoServer) -> None:
    placed = server.place_order(customer={"first_name": "Zelda", "last_name": "Searchable", "email": "z@example.test"})
    server.imported(placed)
    page.goto("/orders")
    page.get_by_label("Search").fill("Searchable")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#orders-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(placed["name"])
    page.get_by_label("Search").fill(placed["name"])
    page.get_by_role("button", name="Filter").click()
    expect(rows.filter(has_text="Zelda Searchable")).to_have_count(1)  # the same number on another channel may show too
    expect(page).to_have_url(re.compile(r"[?&]q="))


def test_an_unknown_order_says_what_happened_and_what_to_do(page: Page) -> None:
    response = page.goto("/orders/999999")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("does not exist in this workspace")
    expect(page.get_by_role("alert")).to_contain_text("What to do:")
