"""Helpers of the inventory dashboard tests: forms posted the way a browser posts them, runs executed
in-process by the real engine code (the app's engine is a recording stand-in), and what was stored."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from doubles import RecordingDispatcher
from fenicia.catalog.models import Location, Product
from fenicia.channels.context import SyncContext
from fenicia.db.engine import Database
from fenicia.inventory.models import InventorySource, SourceRun, StockLevel, UnmappedSku
from fenicia.inventory.runs import execute_source_run
from inventory.inv_world import FileServer, running_file_server

BASE = "/integrations/inventory-sources"
STOCK_CSV = "SKU,Qty,Warehouse\nACME-MUG-RED,5,MAIN\nACME-MUG-BLUE,3,MAIN\nACME-TEE-XL,7,MAIN\n"
LOCATION_RE = re.compile(r"/integrations/inventory-sources/(\d+)/")


def upload_source(client: TestClient, csrf: str, content: str = STOCK_CSV, name: str = "Warehouse file") -> Response:
    """Step 2 of "Add source" for an upload, as the browser sends it (multipart, with the file)."""
    data = {"csrf_token": csrf, "name": name, "frequency": "manual", "setting__quantity_basis": "available"}
    files = {"file": ("stock.csv", content.encode(), "text/csv")}
    return client.post(f"{BASE}/new/spreadsheet-upload", data=data, files=files, follow_redirects=False)


def created_id(response: Response) -> int:
    match = LOCATION_RE.search(response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


def mapping_form(csrf: str, **values: str) -> dict[str, str]:
    """The mapping step's fields with their defaults (checkboxes on), changed by ``values``."""
    form = {
        "csrf_token": csrf,
        "match_on": "sku",
        "trim": "true",
        "case": "",
        "strip_prefix": "",
        "strip_suffix": "",
        "add_prefix": "",
        "add_suffix": "",
        "overrides": "",
        "create_locations": "true",
        "locations": "",
        "missing_means_zero": "true",
        "truncation_guard_percent": "50",
    }
    return form | values


def run_dispatched(ctx: SyncContext, dispatcher: RecordingDispatcher) -> list[SourceRun]:
    """Executes every source run handed to the engine and not executed yet (as a worker would)."""
    done: list[SourceRun] = []
    for run_id, _ in dispatcher.of("sync_source"):
        with ctx.db.read_session() as s:
            run = s.get(SourceRun, run_id)
            assert run is not None
            pending = run.status in ("queued", "running") and run.scheduled_for is None
        if pending:
            asyncio.run(execute_source_run(ctx, run_id))
            with ctx.db.read_session() as s:
                finished = s.get(SourceRun, run_id)
                assert finished is not None
                done.append(finished)
    return done


def add_products(db: Database, workspace_id: int, *skus: str) -> dict[str, int]:
    with db.session() as s:
        rows = [Product(workspace_id=workspace_id, sku=sku, name=f"Product {sku}") for sku in skus]
        s.add_all(rows)
        s.flush()
        return {row.sku: row.id for row in rows}


def add_location(db: Database, workspace_id: int, code: str) -> int:
    with db.session() as s:
        location = Location(workspace_id=workspace_id, code=code, name=code)
        s.add(location)
        s.flush()
        return location.id


def source(db: Database, source_id: int) -> InventorySource:
    with db.read_session() as s:
        found = s.get(InventorySource, source_id)
        assert found is not None
        return found


def sources(db: Database, workspace_id: int) -> list[InventorySource]:
    with db.read_session() as s:
        query = select(InventorySource).where(InventorySource.workspace_id == workspace_id)
        return list(s.scalars(query.order_by(InventorySource.id)))


def levels(db: Database, source_id: int) -> dict[str, int]:
    """Product SKU → available, of one source."""
    with db.read_session() as s:
        rows = s.execute(
            select(Product.sku, StockLevel.available)
            .join(Product, Product.id == StockLevel.product_id)
            .where(StockLevel.source_id == source_id)
        )
        return {sku: available for sku, available in rows}


def unmapped(db: Database, workspace_id: int) -> dict[str, UnmappedSku]:
    with db.read_session() as s:
        rows = s.scalars(select(UnmappedSku).where(UnmappedSku.workspace_id == workspace_id))
        return {row.code: row for row in rows}


def text_of(html: str) -> str:
    """The page's text with tags removed and spaces collapsed (for phrases split by markup)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# --- sources taken through the flow ---------------------------------------------------------------------

URL_CSV = "SKU,Qty\nMUG-RED,4\nMUG-BLUE,9\n"


@pytest.fixture
def files() -> Iterator[FileServer]:
    with running_file_server() as server:
        server.files["stock.csv"] = URL_CSV.encode()
        yield server


def url_form(csrf: str, url: str, **extra: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "name": "Supplier sheet", "setting__url": url, "frequency": "900"}
    return form | extra


def saved_upload_source(client: TestClient, csrf: str, ctx: SyncContext, dispatcher: RecordingDispatcher) -> int:
    """An upload source taken through the whole flow (prefix rule "ACME-"), synced once."""
    source_id = created_id(upload_source(client, csrf))
    client.post(f"{BASE}/{source_id}/setup/mapping", data=mapping_form(csrf, strip_prefix="ACME-"))
    run_dispatched(ctx, dispatcher)
    client.post(f"{BASE}/{source_id}/setup/finish", data={"csrf_token": csrf})
    run_dispatched(ctx, dispatcher)
    return source_id


def url_source(client: TestClient, csrf: str, url: str) -> int:
    response = client.post(f"{BASE}/new/spreadsheet-url", data=url_form(csrf, url), follow_redirects=False)
    assert response.status_code == 303, text_of(response.text)
    return created_id(response)


def finish_setup(
    client: TestClient, csrf: str, ctx: SyncContext, dispatcher: RecordingDispatcher, source_id: int
) -> None:
    client.post(f"{BASE}/{source_id}/setup/mapping", data=mapping_form(csrf))
    run_dispatched(ctx, dispatcher)
    assert client.post(f"{BASE}/{source_id}/setup/finish", data={"csrf_token": csrf}).status_code == 200
    run_dispatched(ctx, dispatcher)
