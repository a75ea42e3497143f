"""Signing in and out, the login rate limit, a form without its CSRF token, and a second workspace that sees
none of the demo's data — in the browser, against `fenicia serve --demo`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from browser.demo_browser import DEMO_EMAIL, DEMO_PASSWORD, DemoServer, sign_in

Shot = Callable[..., Path]
OTHER_PASSWORD = "another-shop-password"


def test_a_signed_out_visitor_signs_in_after_a_wrong_password_and_signs_out(anon_page: Page, shot: Shot) -> None:
    page = anon_page
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Forders$"))
    shot(page, "login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The email or password is not right.")
    expect(alert).to_contain_text("What to do:")
    expect(page.get_by_label("Email")).to_have_value(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/orders$"))
    expect(page.locator("header .who")).to_have_text(DEMO_EMAIL)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_the_sixth_failed_sign_in_is_refused_with_when_to_try_again(anon_page: Page) -> None:
    page = anon_page
    email = "intruder@example.test"  # its own (email, address) count: the demo user is never locked out
    page.goto("/login")
    for _ in range(5):
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("guess-guess")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("The email or password is not right.")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("guess-guess")
    with page.expect_response("**/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many failed sign-ins")
    expect(alert).to_contain_text("You can try again at")
    expect(alert).to_contain_text("What to do:")


def test_a_form_sent_without_its_csrf_token_is_refused_and_changes_nothing(page: Page, server: DemoServer) -> None:
    placed = server.place_order(customer={"first_name": "No", "last_name": "Forgery", "email": "csrf@example.test"})
    order_id = server.imported(placed)
    page.goto(f"/orders/{order_id}")
    form = page.locator("form[action$='/cancel']")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(f"**/orders/{order_id}/cancel") as answer:
        form.get_by_role("button", name="Cancel order").click()
    assert answer.value.status == 403
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("security token does not match your session")
    expect(alert).to_contain_text("nothing changed")
    expect(alert).to_contain_text("What to do:")
    page.goto(f"/orders/{order_id}")
    expect(page.locator("#order-status")).to_have_text("Unshipped")
    expect(page.locator(".timeline li[data-kind='action_requested']")).to_have_count(0)


def test_a_second_workspace_sees_none_of_the_demo(
    page: Page, new_context: Callable[..., Any], server: DemoServer
) -> None:
    other = new_context().new_page()
    sign_in(other, server.new_workspace_user("Other Shop", OTHER_PASSWORD), OTHER_PASSWORD)
    other.goto("/orders")
    expect(other.locator("#orders-table")).to_contain_text("0 orders")
    page.goto("/orders")
    page.wait_for_load_state("networkidle")
    other.wait_for_load_state("networkidle")
    placed = server.place_order(customer={"first_name": "Only", "last_name": "Demo", "email": "demo-only@example.test"})
    expect(page.locator("#orders-table tbody tr", has_text="Only Demo")).to_be_visible()  # the demo sees it live
    expect(other.locator("#orders-table")).to_contain_text("0 orders")
    other.goto(f"/orders?q={placed['name'].lstrip('#')}")
    expect(other.locator("#orders-table")).to_contain_text("0 orders")
    demo_order = server.imported(placed)
    for path in (f"/orders/{demo_order}", f"/channels/{server.demo_connection_id()}"):
        response = other.goto(path)
        assert response is not None and response.status == 404
        expect(other.get_by_role("alert")).to_contain_text("does not exist in this workspace")
    other.goto("/channels")
    expect(other.locator("main")).to_contain_text("No channels connected yet")
    expect(other.locator("main")).not_to_contain_text("Demo Shopify")
    other.goto("/settings")
    expect(other.locator("table.users tbody tr")).to_have_count(1)
    expect(other.locator("main")).not_to_contain_text(DEMO_EMAIL)
    other.goto("/")
    expect(other.locator("main")).to_contain_text("No notifications.")
