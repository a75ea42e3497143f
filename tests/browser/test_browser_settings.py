"""Settings and notifications in the browser: add a user, an API token shown once then revoked, the
notification email, staff see the forms disabled with the reason; the header's unread count follows
new notifications live, and marking read brings it down."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from browser.demo_browser import DemoServer, sign_in

Shot = Callable[..., Path]
STAFF_PASSWORD = "staff-password-1"


def test_add_a_user_who_as_staff_sees_the_forms_disabled_with_the_reason(
    page: Page, new_context: Callable[..., Any]
) -> None:
    email = f"packer-{secrets.token_hex(3)}@demo-store.test"
    page.goto("/settings")
    form = page.locator("form[action='/settings/users']")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(STAFF_PASSWORD)
    form.get_by_label("Role").select_option("staff")
    form.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status").first).to_contain_text("User added")
    expect(page.locator("table.users")).to_contain_text(email)
    staff = new_context().new_page()
    sign_in(staff, email, STAFF_PASSWORD)
    staff.goto("/settings")
    expect(staff.get_by_role("button", name="Add user")).to_be_disabled()
    expect(staff.get_by_role("button", name="Create token")).to_be_disabled()
    expect(staff.get_by_label("Password")).to_be_disabled()
    expect(staff.locator("main")).to_contain_text("Only an owner or admin of the workspace can do this.")


def test_an_api_token_is_shown_once_works_and_stops_working_when_revoked(
    page: Page, server: DemoServer, shot: Shot
) -> None:
    name = f"Warehouse script {secrets.token_hex(2)}"
    page.goto("/settings")
    form = page.locator("form[action='/settings/tokens']")
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert token.startswith("fen_")
    expect(page.locator("main")).to_contain_text("it is shown only this once")
    shot(page, "settings")
    api = page.request.get("/api/v1/orders?limit=1", headers={"Authorization": f"Bearer {token}"})
    assert api.status == 200
    page.goto("/settings")
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(token)
    row = page.locator("table.tokens tbody tr", has_text=name)
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status").first).to_contain_text("API token revoked")
    expect(page.locator("table.tokens tbody tr", has_text=name)).to_contain_text("Revoked")
    refused = page.request.get("/api/v1/orders?limit=1", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 401


def test_change_the_notification_email(page: Page) -> None:
    address = f"ops-{secrets.token_hex(2)}@demo-store.test"
    page.goto("/settings")
    form = page.locator("form[action='/settings/notification-email']")
    form.get_by_label("Email").fill(address)
    form.get_by_role("button", name="Save email").click()
    expect(page.get_by_role("status").first).to_contain_text("Notification email saved.")
    expect(page.locator("form[action='/settings/notification-email']")).to_contain_text(f"Now: {address}.")


def _mark_all_read(page: Page) -> None:
    page.goto("/notifications")
    button = page.get_by_role("button", name="Mark all read")
    if button.count():
        button.click()
    expect(page.locator("#unread .badge")).to_have_count(0)


def test_new_notifications_raise_the_header_count_live_and_marking_read_lowers_it(
    page: Page, server: DemoServer, shot: Shot
) -> None:
    _mark_all_read(page)
    page.goto("/")
    page.wait_for_load_state("networkidle")
    server.notify_demo(
        "Demo Shopify stopped syncing",
        "Shopify refused the access token (401).",
        "Reconnect the channel: open it under Channels and enter a new access token.",
        link=f"/channels/{server.demo_connection_id()}",
    )
    server.notify_demo(
        "Tracking for #1009 could not be pushed",
        "Shopify did not answer in time.",
        "Nothing to do yet: Fenicia retries automatically.",
        level="warning",
    )
    expect(page.locator("#unread .badge")).to_have_text("2")
    page.reload()
    expect(page.locator("main")).to_contain_text("Demo Shopify stopped syncing")
    shot(page, "home")
    page.get_by_role("link", name="Notifications").first.click()
    expect(page.locator("li.unread")).to_have_count(2)
    shot(page, "notifications")
    page.locator("li.unread", has_text="stopped syncing").get_by_role("button", name="Mark read").click()
    expect(page.locator("#unread .badge")).to_have_text("1")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#unread .badge")).to_have_count(0)
    expect(page.locator("li.unread")).to_have_count(0)
