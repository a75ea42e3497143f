"""Inventory sources and products in the browser, against `fenicia serve --demo` and its real engine.

Adding a source from a CSV file through every step (system type → connection, tested → mapping →
preview → save), then resolving its unmapped SKU by mapping it to a product; "Sync now" going Syncing →
Completed live; a source whose server fails going Pending with its next attempt time; products with stock
per location and what each channel is sent; and a second workspace's user seeing none of it. Screenshots
of the main screens go to docs/screenshots/ (see conftest).

The stock file behind a URL source is served by this test process on loopback (:class:`SheetServer`),
so the test decides when it is slow, and when it answers 429 with a Retry-After.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import servers
from browser.demo_browser import PHONE, DemoServer, sign_in
from fenicia.accounts.services import create_api_token
from fenicia.catalog.models import Product
from fenicia.catalog.schemas import ProductCreate
from fenicia.catalog.services import create_product
from fenicia.inventory.models import InventorySource

Shot = Callable[..., Path]
BASE = "/integrations/inventory-sources"
HOLD_LIMIT_SECONDS = 60.0  # a held sheet answers anyway after this long, so a failed test cannot hang
RETRY_AFTER_SECONDS = 600
OTHER_PASSWORD = "other-shop-password"
WIDTHS = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@dataclass
class SheetServer:
    """A published stock sheet on loopback: its CSV, or an error status instead; while ``held`` is set, it
    answers only once the test calls :meth:`release` (so "Syncing" stays on screen until the test saw it)."""

    url: str = ""
    content: str = ""
    held: bool = False
    released: threading.Event = field(default_factory=threading.Event)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def app(self) -> Starlette:
        async def sheet(request: Request) -> Response:
            self.requests += 1
            if self.held:
                await asyncio.to_thread(self.released.wait, HOLD_LIMIT_SECONDS)
            if self.status != 200:
                return Response("slow down", status_code=self.status, headers=self.headers)
            return Response(self.content, media_type="text/csv")

        return Starlette(routes=[Route("/stock.csv", sheet)])

    def hold(self) -> None:
        self.released.clear()
        self.held = True

    def release(self) -> None:
        self.held = False
        self.released.set()


@pytest.fixture
def sheet() -> Iterator[SheetServer]:
    server = SheetServer()
    with servers.serve(server.app()) as url:
        server.url = f"{url}/stock.csv"
        yield server


@pytest.fixture
def tag() -> str:
    """Makes this test's SKUs and names its own on the shared demo server."""
    return secrets.token_hex(2).upper()


def _products(server: DemoServer, *skus: str) -> None:
    with server.db.session() as session:
        for sku in skus:
            create_product(session, server.demo_workspace_id(), ProductCreate(sku=sku, name=f"Product {sku}"))


def _mark(page: Page) -> None:
    page.evaluate("window.__stillTheSamePage = true")


def _not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__stillTheSamePage === true"))


def _source_id(page: Page) -> int:
    return int(page.url.split(f"{BASE}/", 1)[1].split("/", 1)[0].split("?", 1)[0])


def _map_and_preview(page: Page, prefix: str = "") -> None:
    """Step 3, then waits for step 4's preview to finish."""
    if prefix:
        page.get_by_label("Remove prefix").fill(prefix)
    page.get_by_role("button", name="Save mapping and preview").click()
    expect(page.locator("#preview-live")).to_contain_text("Preview ready")


def _save(page: Page) -> None:
    """ "Save and start syncing", then waits for the first sync to complete."""
    page.get_by_role("button", name="Save and start syncing").click()
    expect(page.get_by_role("status").first).to_contain_text("The source is saved")
    expect(page.locator("#source-live .status").first).to_have_text("Completed")


def _add_upload_source(page: Page, name: str, csv: Path, prefix: str = "") -> int:
    page.goto(BASE)
    page.get_by_role("link", name="Add source").click()
    page.get_by_role("link", name="Spreadsheet file (CSV or XLSX upload)").click()
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_label("Stock file (CSV or XLSX)").set_input_files(str(csv))
    page.get_by_role("button", name="Test connection and continue").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Connection test passed: Read '{csv.name}'")
    source_id = _source_id(page)
    _map_and_preview(page, prefix)
    return source_id


# --- add a source from a CSV file, and resolve its unmapped SKU -----------------------------------------------


def test_add_a_csv_source_through_every_step_then_map_its_unmapped_sku(
    page: Page, server: DemoServer, shot: Shot, tag: str, tmp_path: Path
) -> None:
    red, blue, large = f"MUG-{tag}-RED", f"MUG-{tag}-BLUE", f"TEE-{tag}-LARGE"
    _products(server, red, blue, large)
    csv = tmp_path / f"stock-{tag}.csv"
    csv.write_text(
        "SKU,Qty,Warehouse,Name\n"
        f"ACME-{red},5,MAIN,Red mug\nACME-{blue},3,MAIN,Blue mug\nACME-TEE-{tag}-XL,7,MAIN,T-shirt XL\n"
    )
    source_id = _add_upload_source(page, f"Warehouse file {tag}", csv, prefix="ACME-")
    preview = page.locator("#preview-live")
    expect(preview.locator("tr", has_text=f"ACME-{red}")).to_contain_text("Mapped")
    expect(preview.locator("tr", has_text=f"ACME-TEE-{tag}-XL")).to_contain_text("Unmapped: no product has this code")
    expect(preview.locator(".preview-counts")).to_contain_text("Unmapped")
    shot(page, "add-source", full_page=True)

    _save(page)
    unmapped = page.locator("#source-unmapped tr", has_text=f"ACME-TEE-{tag}-XL")
    expect(unmapped).to_contain_text("T-shirt XL")
    page.locator("#source-live").get_by_role("button", name="Sync now").click()
    expect(page.locator("#source-live table.runs tbody tr")).to_have_count(3)  # preview, initial, manual
    expect(page.locator("#source-live .run-status")).to_have_text("Succeeded")
    expect(page.locator("#source-live figure.chart rect.bar")).to_have_count(4)  # 2 charts, 2 syncs each
    shot(page, "inventory-source", full_page=True)

    unmapped.get_by_text("Map to existing product").click()
    unmapped.get_by_label("Product SKU").fill(large)
    unmapped.get_by_role("button", name="Map to this product").click()
    expect(page.get_by_role("status").first).to_contain_text("its last quantity was applied")
    expect(page.locator("#source-unmapped")).to_contain_text("Every code this source gave matches a product.")
    level = page.locator("#source-live table.levels tr", has_text=large)
    expect(level).to_contain_text(f"ACME-TEE-{tag}-XL")
    expect(level.locator("td[data-label='Available']")).to_have_text("7")
    with server.db.read_session() as session:
        stored = session.get(InventorySource, source_id)
        assert stored is not None and not stored.disabled


# --- Sync now, live; a failing server leaves the source Pending with its retry time ---------------------------


def _add_url_source(page: Page, name: str, url: str) -> int:
    page.goto(f"{BASE}/new")
    page.get_by_role("link", name="Spreadsheet at a web address").click()
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("textbox", name="URL (optional)").fill(url)
    page.get_by_label("Sync frequency").select_option("3600")
    page.get_by_role("button", name="Test connection and continue").click()
    expect(page.get_by_role("status").first).to_contain_text("Connection test passed: Read 'stock.csv'")
    source_id = _source_id(page)
    _map_and_preview(page)
    _save(page)
    return source_id


def _sync_now_slowly(page: Page, sheet: SheetServer) -> None:
    """Sync now while the sheet holds its answer: Syncing, the button disabled, then Completed, all live."""
    live = page.locator("#source-live")
    status = live.locator(".status").first
    sheet.hold()
    try:
        live.get_by_role("button", name="Sync now").click()
        expect(page.get_by_role("status").first).to_contain_text("Sync requested")
        _mark(page)  # the click's answer is a new page; from here on, only live updates
        expect(status).to_have_text("Syncing")
        expect(live.get_by_role("button", name="Sync running…")).to_be_disabled()
    finally:
        sheet.release()
    expect(status).to_have_text("Completed")
    assert _not_reloaded(page), "the page was reloaded"


def _sync_now_rate_limited(page: Page, sheet: SheetServer) -> None:
    """The sheet answers 429 with a Retry-After: Pending, with the next attempt's time, live."""
    live = page.locator("#source-live")
    sheet.status, sheet.headers = 429, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    live.get_by_role("button", name="Sync now").click()
    _mark(page)
    expect(live.locator(".status").first).to_have_text("Pending")
    expect(live).to_contain_text("asked to slow down (429)")
    expect(live).to_contain_text("Nothing to do: next attempt at")
    expect(live.locator("dd.next-attempt")).to_contain_text("UTC")
    assert _not_reloaded(page), "the page was reloaded"


def test_sync_now_goes_syncing_then_completed_and_a_failing_sheet_leaves_the_source_pending(
    page: Page, server: DemoServer, sheet: SheetServer, shot: Shot, tag: str
) -> None:
    sku = f"LAMP-{tag}"
    _products(server, sku)
    sheet.content = f"SKU,Qty\n{sku},12\n"
    _add_url_source(page, f"Supplier sheet {tag}", sheet.url)
    _sync_now_slowly(page, sheet)
    _sync_now_rate_limited(page, sheet)

    page.goto(BASE)
    row = page.locator("#source-status tr", has_text=f"Supplier sheet {tag}")
    expect(row.locator(".status")).to_have_text("Pending")
    expect(row.locator("td[data-label='Next attempt']")).to_contain_text("UTC")
    shot(page, "inventory-sources", full_page=True)
    page.goto("/")
    expect(page.locator("main")).to_contain_text(f"Supplier sheet {tag}")

    sheet.status, sheet.headers = 200, {}
    page.goto(BASE)
    row.get_by_role("button", name="Sync now").click()  # pulls the waiting retry forward
    expect(row.locator(".status")).to_have_text("Completed")


# --- products ----------------------------------------------------------------------------------------------


def _api_token(server: DemoServer) -> str:
    with server.db.session() as session:
        _, raw = create_api_token(session, server.demo_workspace_id(), f"browser-{secrets.token_hex(2)}")
    return raw


def test_products_show_stock_per_location_and_what_each_channel_is_sent(
    page: Page, server: DemoServer, shot: Shot, tag: str, tmp_path: Path
) -> None:
    sku = f"VASE-{tag}"
    _products(server, sku)
    server.place_order(sku=sku, quantity=1)  # the shop now lists it: a listing of the demo Shopify
    token = _api_token(server)
    imported = httpx.post(
        f"{server.url}/api/v1/connections/{server.demo_connection_id()}/listings/import",
        headers={"Authorization": f"Bearer {token}"},
        json={"create_missing_products": False},
        timeout=30,
    )
    assert imported.status_code == 200, imported.text
    csv = tmp_path / f"vases-{tag}.csv"
    csv.write_text(f"SKU,Qty,Warehouse\n{sku},6,MAIN\n{sku},2,STORE-{tag}\n")
    _add_upload_source(page, f"Vase stock {tag}", csv)
    _save(page)

    page.goto("/products")
    row = page.locator("table.products tbody tr", has_text=sku)
    expect(row.locator("td[data-label='Stock per location']")).to_contain_text("MAIN: 6")
    expect(row.locator("td[data-label='Stock per location']")).to_contain_text(f"STORE-{tag}: 2")
    channel = row.locator(".ats", has_text="Demo Shopify")
    expect(channel.locator(".qty")).to_have_text("8")
    expect(channel).to_contain_text("Default rule: nothing held back, every location")
    shot(page, "products", full_page=True)
    row.get_by_role("link", name=sku).click()
    expect(page.locator("table.product-listings")).to_contain_text("= 8 available to sell")
    expect(page.locator("table.product-stock")).to_contain_text(f"Vase stock {tag}")


# --- another workspace, and the phone --------------------------------------------------------------------------


@pytest.fixture
def demo_source(page: Page, tag: str, tmp_path: Path) -> int:
    """A source of the demo workspace, added through the flow up to its preview (not saved yet)."""
    csv = tmp_path / f"check-{tag}.csv"
    csv.write_text(f"SKU,Qty\nCHECK-{tag},1\n")
    return _add_upload_source(page, f"Isolation check {tag}", csv)


def test_a_second_workspaces_user_sees_none_of_it(
    new_context: Callable[..., Any], server: DemoServer, demo_source: int
) -> None:
    other = new_context().new_page()
    sign_in(other, server.new_workspace_user("Other Shop", OTHER_PASSWORD), OTHER_PASSWORD)
    other.goto(BASE)
    expect(other.locator("main")).to_contain_text("No inventory sources yet")
    expect(other.locator("main")).not_to_contain_text("Isolation check")
    other.goto("/products")
    expect(other.locator("main")).to_contain_text("No products yet")
    other.goto(f"{BASE}/unmapped")
    expect(other.locator("main")).to_contain_text("Every code seen matches a product.")
    response = other.goto(f"{BASE}/{demo_source}")
    assert response is not None and response.status == 404
    expect(other.get_by_role("alert")).to_contain_text("does not exist in this workspace")
    with server.db.read_session() as session:
        some_product = session.scalar(
            select(Product.id).where(Product.workspace_id == server.demo_workspace_id()).limit(1)
        )
    if some_product is not None:
        missing = other.goto(f"/products/{some_product}")
        assert missing is not None and missing.status == 404
    other.goto("/")
    expect(other.locator("main")).to_contain_text("0 inventory sources in Error or Pending")


def _overflow(page: Page, path: str) -> int:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response.status if response else 'no response'}"
    page.wait_for_load_state("networkidle")
    scroll_width, screen_width = page.evaluate(WIDTHS)
    return max(0, int(scroll_width) - int(screen_width))


def test_the_inventory_pages_fit_a_phone_screen(
    new_context: Callable[..., Any], demo_session: dict[str, Any], server: DemoServer, demo_source: int, shot: Shot
) -> None:
    phone = new_context(storage_state=demo_session, viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    with server.db.read_session() as session:
        synced = session.scalar(
            select(InventorySource.id)
            .where(
                InventorySource.workspace_id == server.demo_workspace_id(), InventorySource.last_success_at.is_not(None)
            )
            .limit(1)
        )
    pages = [
        BASE,
        f"{BASE}/new",
        f"{BASE}/new/spreadsheet-upload",
        f"{BASE}/new/spreadsheet-sftp",
        f"{BASE}/new/odoo",
        f"{BASE}/{synced or demo_source}",
        f"{BASE}/{demo_source}/setup/mapping",
        f"{BASE}/{demo_source}/setup/preview",
        f"{BASE}/unmapped",
        "/products",
    ]
    too_wide = {path: px for path in pages if (px := _overflow(phone, path))}
    assert too_wide == {}, f"pages wider than a 390 px phone (px too wide): {too_wide}"
    phone.goto(pages[5])
    shot(phone, "inventory-source-phone", full_page=True)
