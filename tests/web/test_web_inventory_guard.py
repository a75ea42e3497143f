"""Every inventory form of the dashboard refuses a missing or wrong CSRF token and changes nothing; bad input
gets a clear error and changes nothing; another workspace's user sees and changes none of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from doubles import RecordingDispatcher
from fenicia.catalog.models import Product
from fenicia.channels.context import SyncContext
from fenicia.db.engine import Database
from fenicia.inventory.models import InventorySource, LocationMapping, SkuOverride, SourceRun, StockLevel, UnmappedSku
from web.inv_pages import (
    BASE,
    add_location,
    add_products,
    created_id,
    mapping_form,
    run_dispatched,
    text_of,
    unmapped,
    upload_source,
)

Login = Callable[..., Response]
FILE = {"file": ("stock.csv", b"SKU,Qty\nMUG-RED,1\n", "text/csv")}


@dataclass
class Saved:
    source_id: int
    unmapped_id: int


@pytest.fixture
def saved(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> Saved:
    """Tenant A's upload source, saved and synced once: levels for MUG-RED and MUG-BLUE, TEE-XL unmapped."""
    add_products(db, tenant_a.id, "MUG-RED", "MUG-BLUE")
    source_id = created_id(upload_source(client, signed_in))
    client.post(f"{BASE}/{source_id}/setup/mapping", data=mapping_form(signed_in, strip_prefix="ACME-"))
    run_dispatched(ctx, dispatcher)
    client.post(f"{BASE}/{source_id}/setup/finish", data={"csrf_token": signed_in})
    run_dispatched(ctx, dispatcher)
    return Saved(source_id, unmapped(db, tenant_a.id)["ACME-TEE-XL"].id)


def state(db: Database) -> tuple[Any, ...]:
    """Everything an inventory form could change, to compare before and after."""
    with db.read_session() as s:
        sources = s.execute(
            select(
                InventorySource.id,
                InventorySource.name,
                InventorySource.status,
                InventorySource.disabled,
                InventorySource.frequency_seconds,
                InventorySource.mapping,
                InventorySource.settings,
                InventorySource.credentials_encrypted,
                InventorySource.truncation_guard_percent,
            ).order_by(InventorySource.id)
        ).all()
        levels = s.execute(select(StockLevel.product_id, StockLevel.available).order_by(StockLevel.id)).all()
        report = s.execute(select(UnmappedSku.code, UnmappedSku.resolved_at).order_by(UnmappedSku.id)).all()
        counts = [
            s.scalar(select(func.count()).select_from(model))
            for model in (SourceRun, SkuOverride, LocationMapping, Product)
        ]
    return tuple(sources), tuple(levels), tuple(report), tuple(counts)


def posts(saved: Saved) -> dict[str, tuple[str, dict[str, str], dict[str, Any] | None]]:
    """Every inventory form: name → (path, fields besides the token, files)."""
    sid, uid = saved.source_id, saved.unmapped_id
    return {
        "new upload": (f"{BASE}/new/spreadsheet-upload", {"name": "X", "frequency": "manual"}, FILE),
        "new url": (f"{BASE}/new/spreadsheet-url", {"name": "X", "frequency": "900", "setting__url": "http://x"}, None),
        "connection": (f"{BASE}/{sid}/connection", {"name": "Renamed"}, None),
        "setup mapping": (f"{BASE}/{sid}/setup/mapping", mapping_form("", case="upper"), None),
        "mapping": (f"{BASE}/{sid}/mapping", mapping_form("", case="upper"), None),
        "preview": (f"{BASE}/{sid}/preview", {}, None),
        "finish": (f"{BASE}/{sid}/setup/finish", {}, None),
        "sync": (f"{BASE}/{sid}/sync", {}, None),
        "accept drop": (f"{BASE}/{sid}/accept-drop", {}, None),
        "frequency": (f"{BASE}/{sid}/frequency", {"frequency": "300"}, None),
        "pause": (f"{BASE}/{sid}/pause", {}, None),
        "resume": (f"{BASE}/{sid}/resume", {}, None),
        "delete": (f"{BASE}/{sid}/delete", {"confirm": "yes"}, None),
        "test": (f"{BASE}/{sid}/test", {}, None),
        "upload": (f"{BASE}/{sid}/upload", {}, FILE),
        "map": (f"{BASE}/unmapped/{uid}/map", {"product_sku": "MUG-RED", "back": str(sid)}, None),
        "create product": (f"{BASE}/unmapped/{uid}/create-product", {"sku": "TEE", "back": "report"}, None),
    }


def _post(client: TestClient, form: tuple[str, dict[str, str], dict[str, Any] | None], token: str | None) -> Response:
    path, fields, files = form
    data = {k: v for k, v in fields.items() if k != "csrf_token"}
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data, files=files, follow_redirects=False)


def test_every_inventory_form_refuses_a_missing_or_wrong_csrf_token(
    client: TestClient, saved: Saved, db: Database, dispatcher: RecordingDispatcher
) -> None:
    before, handed = state(db), len(dispatcher.calls)
    for name, form in posts(saved).items():
        for token in (None, "forged-token"):
            response = _post(client, form, token)
            assert response.status_code == 403, (name, token, response.status_code)
            assert "security token does not match" in response.text and "nothing changed" in response.text, name
            assert state(db) == before and len(dispatcher.calls) == handed, (name, token)


# --- bad input: a clear error, nothing changed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        (
            {"overrides": "ACME-TEE-XL = NO-SUCH-SKU"},
            422,
            "No product has the SKU 'NO-SUCH-SKU' (the override of 'ACME-TEE-XL')",
        ),
        ({"overrides": "just a code"}, 422, "Line 1 of the overrides ('just a code') is not 'code = target'."),
        ({"overrides": "A = MUG-RED\nA = MUG-BLUE"}, 422, "Line 2 of the overrides gives 'A' a second time."),
        ({"locations": "Dock 4 = NOWHERE"}, 422, "No location has the code 'NOWHERE' (the mapping of 'Dock 4')"),
        ({"truncation_guard_percent": "150"}, 422, "a whole number from 0 to 100, not '150'"),
        ({"case": "sideways"}, 422, "Letter case: input should be 'upper' or 'lower'"),
        ({"strip_prefix": "x" * 101}, 422, "Remove prefix: string should have at most 100 characters"),
    ],
)
def test_a_bad_mapping_names_the_problem_and_changes_nothing(
    client: TestClient, signed_in: str, saved: Saved, db: Database, fields: dict[str, str], status: int, words: str
) -> None:
    before = state(db)
    form = mapping_form(signed_in, **({"case": "upper"} | fields))
    response = client.post(f"{BASE}/{saved.source_id}/mapping", data=form)
    page = text_of(response.text)
    assert response.status_code == status and words in page and "What to do:" in page, page[:600]
    assert state(db) == before
    for typed in ("overrides", "locations"):  # what was typed is kept, to correct it
        if typed in fields:
            assert fields[typed].splitlines()[0] in page


def test_a_good_mapping_saves_rules_overrides_and_locations_together(
    client: TestClient,
    signed_in: str,
    tenant_a: Any,
    saved: Saved,
    db: Database,
    ctx: SyncContext,
    dispatcher: RecordingDispatcher,
) -> None:
    dock = add_location(db, tenant_a.id, "DOCK")
    form = mapping_form(
        signed_in,
        strip_prefix="ACME-",
        overrides="ACME-TEE-XL = MUG-BLUE",
        locations="MAIN = DOCK",
        create_locations="false",
    )
    response = client.post(f"{BASE}/{saved.source_id}/mapping", data=form)
    assert response.url.path == f"{BASE}/{saved.source_id}" and "Mapping saved" in response.text
    with db.read_session() as s:
        source = s.get(InventorySource, saved.source_id)
        assert source is not None
        assert source.mapping["strip_prefix"] == "ACME-" and source.mapping["create_locations"] is False
        assert s.scalars(
            select(LocationMapping.location_id).where(LocationMapping.external_location == "MAIN")
        ).all() == [dock]
        overrides = s.execute(select(SkuOverride.external_code, SkuOverride.product_id)).all()
    assert [code for code, _ in overrides] == ["ACME-TEE-XL"]
    assert unmapped(db, tenant_a.id)["ACME-TEE-XL"].resolved_at is not None  # the override resolved its report row
    page = client.get(f"{BASE}/{saved.source_id}/mapping").text
    assert "ACME-TEE-XL = MUG-BLUE" in page and "MAIN = DOCK" in page
    emptied = mapping_form(signed_in, strip_prefix="ACME-", overrides="", locations="MAIN = DOCK")
    client.post(f"{BASE}/{saved.source_id}/mapping", data=emptied)
    with db.read_session() as s:
        assert s.scalar(select(func.count(SkuOverride.id))) == 0


@pytest.mark.parametrize(
    ("path", "fields", "status", "words"),
    [
        ("frequency", {"frequency": "42"}, 422, "'42' is not a sync frequency."),
        ("unmapped-map", {"product_sku": "NO-SUCH"}, 422, "No product has the SKU 'NO-SUCH'; nothing was mapped."),
        ("unmapped-map", {"product_sku": " "}, 422, "Type the SKU of the product this code is."),
        ("unmapped-create", {"sku": "MUG-RED"}, 409, "A product with SKU 'MUG-RED' already exists."),
        ("unmapped-create", {"sku": "S" * 201}, 422, "A SKU has at most 200 characters"),
    ],
)
def test_bad_input_on_the_panel_is_shown_beside_its_form_and_changes_nothing(
    client: TestClient,
    signed_in: str,
    saved: Saved,
    db: Database,
    path: str,
    fields: dict[str, str],
    status: int,
    words: str,
) -> None:
    before = state(db)
    target = {
        "frequency": f"{BASE}/{saved.source_id}/frequency",
        "unmapped-map": f"{BASE}/unmapped/{saved.unmapped_id}/map",
        "unmapped-create": f"{BASE}/unmapped/{saved.unmapped_id}/create-product",
    }[path]
    response = client.post(target, data={"csrf_token": signed_in, "back": str(saved.source_id), **fields})
    page = text_of(response.text)
    assert response.status_code == status and words in page and "What to do:" in page
    assert "Warehouse file" in page and "Run history" in page  # the source's own page, not an error page
    assert state(db) == before


# --- another workspace ------------------------------------------------------------------------------------


@pytest.fixture
def client_b(app: FastAPI, tenant_b: Any, login: Login) -> Iterator[TestClient]:
    with TestClient(app) as other:
        assert login(other, tenant_b.email).status_code == 303
        yield other


def _csrf(client: TestClient) -> str:
    html = client.get("/notifications").text
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_another_workspaces_user_sees_none_of_the_sources_reports_or_products(
    client_b: TestClient, saved: Saved
) -> None:
    sid = saved.source_id
    listed = text_of(client_b.get(BASE).text)
    assert "No inventory sources yet" in listed and "Warehouse file" not in listed
    assert "ACME-TEE-XL" not in client_b.get(f"{BASE}/unmapped").text
    assert "MUG-RED" not in client_b.get("/products").text and "No products yet" in client_b.get("/products").text
    assert "0 inventory sources in Error or Pending" in text_of(client_b.get("/").text)
    for path in (
        f"{BASE}/{sid}",
        f"{BASE}/{sid}/connection",
        f"{BASE}/{sid}/mapping",
        f"{BASE}/{sid}/setup/mapping",
        f"{BASE}/{sid}/setup/preview",
        f"/partials/inventory-sources/{sid}",
        f"/partials/inventory-sources/{sid}/unmapped",
        f"/partials/inventory-sources/{sid}/preview",
    ):
        response = client_b.get(path)
        assert response.status_code == 404, path
        assert "does not exist in this workspace" in response.text and "Warehouse file" not in response.text


def test_another_workspaces_user_changes_nothing_with_a_valid_token(
    client_b: TestClient, saved: Saved, db: Database, dispatcher: RecordingDispatcher
) -> None:
    before, handed, token = state(db), len(dispatcher.calls), _csrf(client_b)
    for name, form in posts(saved).items():
        if name.startswith("new "):
            continue
        response = _post(client_b, form, token)
        assert response.status_code == 404, (name, response.status_code, text_of(response.text)[:300])
        assert "Warehouse file" not in response.text and "ACME" not in response.text, name
        assert state(db) == before and len(dispatcher.calls) == handed, name


def test_another_workspaces_changes_are_not_announced_on_its_stream(
    app: FastAPI, client_b: TestClient, client: TestClient, signed_in: str, saved: Saved
) -> None:
    app.state.web_sse_tick_seconds = 0.05
    app.state.web_sse_lifetime_seconds = 0.3
    hello = client_b.get("/events/sources").text
    ident = hello.split("id: ", 1)[1].split("\n", 1)[0]
    client.post(f"{BASE}/{saved.source_id}/sync", data={"csrf_token": signed_in})
    again = client_b.get("/events/sources", headers={"Last-Event-ID": ident}).text
    assert "event: sources" not in again
