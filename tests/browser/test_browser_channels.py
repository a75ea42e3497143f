"""Channels in the browser: "Sync orders" goes Syncing → Completed live with a progress bar, then warns that
a full sync ran recently; "Test connection"; the connect form refuses credentials the channel rejects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from browser.demo_browser import DemoServer

Shot = Callable[..., Path]
SLOW_SHOP_SECONDS = 4.0  # the shop answers the sync's first page this late, so "Syncing" stays on screen


def test_sync_orders_shows_syncing_then_completed_live_and_then_warns_it_ran_recently(
    page: Page, server: DemoServer, shot: Shot
) -> None:
    conn = server.demo_connection_id()
    page.goto("/channels")
    expect(page.locator("#channel-status")).to_contain_text("Completed")
    shot(page, "channels")
    page.goto(f"/channels/{conn}")
    live = page.locator("#channel-live")
    expect(live.locator(".status")).to_have_text("Completed")
    server.shop("POST", "faults", {"kind": "latency", "seconds": SLOW_SHOP_SECONDS, "path_contains": "/orders.json"})
    try:
        live.get_by_role("button", name="Sync orders").click()
        expect(page.get_by_role("status").first).to_contain_text("Sync orders started")
        expect(live.locator(".status")).to_have_text("Syncing")
        expect(live.locator("progress.run-progress:not([value])")).to_be_visible()  # moving, total unknown
        expect(live.get_by_role("button", name="Sync running…")).to_be_disabled()
        page.evaluate("window.__stillTheSamePage = true")
        expect(live.locator(".status")).to_have_text("Completed")
    finally:
        server.shop("DELETE", "faults")
    expect(live.locator("progress.run-progress[value='1']")).to_be_visible()
    expect(live.locator(".run-status")).to_have_text("Succeeded")
    expect(live.locator("table tbody tr").first).to_contain_text("Bulk (manual)")
    warning = live.get_by_role("note")
    expect(warning).to_contain_text("A full sync of this channel started at")
    expect(warning).to_contain_text("What to do:")
    assert page.evaluate("window.__stillTheSamePage === true"), "the page was reloaded"
    shot(page, "channel")


def test_the_demo_channel_has_synced_without_a_failed_run(page: Page, server: DemoServer) -> None:
    """The first poll imports the shop's history while its first orders arrive by webhook: no run may fail."""
    page.goto(f"/channels/{server.demo_connection_id()}")
    history = page.locator("#channel-live table tbody")
    expect(history).to_contain_text("Poll (schedule)")
    failed = history.locator("tr", has_text="Failed")
    assert failed.count() == 0, f"failed sync runs: {failed.all_inner_texts()}"


def test_test_connection_asks_the_channel_with_the_stored_credentials(page: Page, server: DemoServer) -> None:
    page.goto(f"/channels/{server.demo_connection_id()}")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status").first).to_contain_text("Connection test passed")


def test_the_connect_form_saves_nothing_when_the_channel_refuses_the_credentials(
    page: Page, server: DemoServer
) -> None:
    page.goto("/channels")
    connections = page.locator("#channel-status tbody tr")
    before = connections.count()
    page.get_by_role("link", name="Connect a channel").click()
    page.get_by_role("link", name="Shopify").click()
    page.get_by_label("Name").fill("Second shop")
    page.get_by_label("Shop URL").fill(server.shop_url)
    page.get_by_label("Access token").fill("shpat_wrong")
    page.get_by_label("Client secret").fill("shpss_wrong")
    page.get_by_role("button", name="Test connection and connect").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The connection test failed, so nothing was saved.")
    expect(alert).to_contain_text("What to do:")
    expect(page.get_by_label("Name")).to_have_value("Second shop")
    expect(page.get_by_label("Shop URL")).to_have_value(server.shop_url)
    expect(page.get_by_label("Access token")).to_have_value("")  # a secret is never sent back to the browser
    page.goto("/channels")
    expect(connections).to_have_count(before)
