"""/integrations/inventory-sources: adding a source step by step (system type → connection, tested first →
mapping → preview → save), its monitoring panel (status, run history, chart, levels, freshness), "Sync
now", the status a failing source shows with its retry time, and the live stream the pages listen to.

The app's engine is a recording stand-in; the runs it was handed are executed in-process by the real
source run code (``run_dispatched``), against real files and a real HTTP server on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from doubles import RecordingDispatcher
from fenicia.channels.context import SyncContext
from fenicia.connectors.source_registry import source_specs
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.web.render import format_time
from fenicia.web.sources_form import choices, source_form
from inventory.inv_world import FileServer
from odoo_sim import running_odoo
from web.inv_pages import (
    BASE,
    add_products,
    created_id,
    files,
    levels,
    mapping_form,
    run_dispatched,
    saved_upload_source,
    source,
    sources,
    text_of,
    unmapped,
    upload_source,
    url_form,
    url_source,
)

__all__ = ["files"]  # the fixture, used by name

# --- step 1 and the forms built from the models ----------------------------------------------------------


def test_the_first_step_offers_every_source_type_and_the_three_spreadsheet_transports(
    client: TestClient, signed_in: str
) -> None:
    page = client.get(f"{BASE}/new").text
    for key in (
        "spreadsheet-upload",
        "spreadsheet-url",
        "spreadsheet-sftp",
        *sorted(set(source_specs()) - {"spreadsheet"}),
    ):
        assert f'href="{BASE}/new/{key}"' in page
    assert "1. System type" in page and 'aria-current="step"' in page
    missing = client.get(f"{BASE}/new/ftp")
    assert missing.status_code == 404 and "What to do:" in missing.text


@pytest.mark.parametrize("key", [c.key for c in choices()])
def test_each_connection_form_is_built_from_the_types_own_models(client: TestClient, signed_in: str, key: str) -> None:
    pick = next(c for c in choices() if c.key == key)
    form = source_form(pick)
    page = client.get(f"{BASE}/new/{key}").text
    for field in form.all_settings():
        assert f'name="{field.input_name}"' in page
    for field in form.credentials:
        kind = 'type="password"' if field.widget == "password" else ""
        assert f'name="{field.input_name}"' in page and kind in page
    for required in (name for name, info in pick.spec.settings_model.model_fields.items() if info.is_required()):
        assert f'name="setting__{required}" type="text" value="" required' in page
    assert ('type="file" name="file"' in page) == pick.upload
    assert ('enctype="multipart/form-data"' in page) == pick.upload
    assert 'name="setting__transport"' not in page and 'name="setting__upload_file"' not in page


def test_the_spreadsheet_columns_and_tuning_are_under_their_own_headings(client: TestClient, signed_in: str) -> None:
    page = client.get(f"{BASE}/new/spreadsheet-url").text
    assert "<summary>More settings</summary>" in page and "<summary>Columns</summary>" in page
    assert 'name="setting__columns__sku"' in page and 'name="setting__delimiter"' in page
    assert '<option value=";">Semicolon (;)</option>' in page
    assert 'name="credential__http_password" type="password"' in page
    assert 'name="setting__sftp_host"' not in page and 'name="credential__sftp_password"' not in page


# --- the whole flow, with an uploaded file ------------------------------------------------------------------


def test_an_upload_source_is_tested_mapped_previewed_and_saved(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> None:
    add_products(db, tenant_a.id, "MUG-RED", "MUG-BLUE")
    response = upload_source(client, signed_in)
    assert response.status_code == 303
    source_id = created_id(response)
    assert response.headers["location"] == f"{BASE}/{source_id}/setup/mapping"
    saved = source(db, source_id)
    assert saved.disabled and saved.settings["upload_name"] == "stock.csv" and saved.frequency_seconds is None
    mapping_page = text_of(client.get(response.headers["location"]).text)
    assert "Connection test passed: Read 'stock.csv' (78 bytes): SKU from 'SKU', quantity from 'Qty'" in mapping_page
    assert "3. Mapping" in mapping_page

    mapped = client.post(f"{BASE}/{source_id}/setup/mapping", data=mapping_form(signed_in, strip_prefix="ACME-"))
    assert mapped.url.path == f"{BASE}/{source_id}/setup/preview"
    assert "Waiting for a worker" in mapped.text  # the preview is queued, shown live
    assert [r.preview for r in run_dispatched(ctx, dispatcher)] == [True]
    preview = text_of(client.get(f"{BASE}/{source_id}/setup/preview").text)
    assert "Rows read 3 Mapped to products 2 Unmapped 1" in preview
    assert "ACME-TEE-XL TEE-XL Unmapped: no product has this code" in preview
    assert "ACME-MUG-RED MUG-RED Mapped MUG-RED MAIN" in preview
    assert levels(db, source_id) == {} and unmapped(db, tenant_a.id) == {}  # a preview applies nothing

    saved_page = client.post(f"{BASE}/{source_id}/setup/finish", data={"csrf_token": signed_in})
    assert saved_page.url.path == f"{BASE}/{source_id}" and "its first sync runs now" in saved_page.text
    [first] = run_dispatched(ctx, dispatcher)
    assert (first.trigger, first.status) == ("initial", "succeeded")
    assert levels(db, source_id) == {"MUG-RED": 5, "MUG-BLUE": 3}
    assert not source(db, source_id).disabled


def test_the_panel_shows_status_runs_chart_levels_freshness_and_the_unmapped_codes(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> None:
    add_products(db, tenant_a.id, "MUG-RED", "MUG-BLUE")
    source_id = saved_upload_source(client, signed_in, ctx, dispatcher)
    client.post(f"{BASE}/{source_id}/sync", data={"csrf_token": signed_in})
    run_dispatched(ctx, dispatcher)
    html = client.get(f"{BASE}/{source_id}").text
    page = text_of(html)
    assert 'class="status status-ok">Completed' in html and "Numbers from less than a minute ago" in page
    assert "Rows read / mapped / unmapped 3 / 2 / 1" in page
    assert html.count('<figure class="chart">') == 2
    assert html.count('<rect class="bar"') == 4  # 2 charts, 2 syncs each
    assert "(manual, succeeded) at" in html and "(initial, succeeded) at" in html
    assert "MUG-RED ACME-MUG-RED MAIN 5" in page and "2 levels" in page
    assert "ACME-TEE-XL" in page and "Stock source Warehouse file" in page and 'value="TEE-XL"' in html
    assert f'hx-get="/partials/inventory-sources/{source_id}" hx-trigger="sse:sources"' in html
    assert 'sse-connect="/events/sources?since=sources%3A' in html  # the fingerprint the page shows
    live = client.get(f"/partials/inventory-sources/{source_id}").text
    assert "Run history" in live and "<html" not in live


def test_the_list_shows_each_sources_status_last_success_and_next_attempt(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> None:
    source_id = saved_upload_source(client, signed_in, ctx, dispatcher)
    in_setup = created_id(upload_source(client, signed_in, name="Half done"))
    page = client.get(BASE).text
    text = text_of(page)
    stored = source(db, source_id)
    assert f"Warehouse file Spreadsheet upload Completed {format_time(stored.last_success_at)} Manual only" in text
    assert f'href="{BASE}/{in_setup}/setup/mapping">Finish the set-up' in page and "Paused" in text
    assert "Unmapped SKUs : 3 codes that match no product yet" in text
    assert 'hx-get="/partials/inventory-sources" hx-trigger="sse:sources"' in page


# --- tests that fail, and nothing saved --------------------------------------------------------------------


def test_a_file_with_a_bad_row_is_refused_by_row_and_column_and_nothing_is_saved(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, settings: Settings
) -> None:
    bad = "SKU,Qty\nMUG-RED,5\nMUG-BLUE,ten\n"
    response = upload_source(client, signed_in, content=bad)
    assert response.status_code == 422
    page = text_of(response.text)
    assert "The file was refused, so nothing was stored: Row 3, column 'Qty': 'ten' is not a number." in page
    assert "What to do:" in page and 'value="Warehouse file"' in response.text
    assert sources(db, tenant_a.id) == []
    assert not any((settings.data_dir / "uploads").rglob("*.csv"))


def test_no_file_chosen_says_so(client: TestClient, signed_in: str, tenant_a: Any, db: Database) -> None:
    form = {"csrf_token": signed_in, "name": "Stock", "frequency": "manual"}
    response = client.post(f"{BASE}/new/spreadsheet-upload", data=form, files={"file": ("", b"", "text/csv")})
    assert response.status_code == 422 and "No file was chosen." in response.text and "What to do:" in response.text
    assert sources(db, tenant_a.id) == []


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (404, "There is no file at"),
        (401, "refused access to the file (401)"),
        (503, "answered 503"),
    ],
)
def test_a_url_the_server_refuses_saves_nothing_and_says_what_the_server_said(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, files: FileServer, status: int, words: str
) -> None:
    files.statuses["stock.csv"] = (status, {})
    form = url_form(signed_in, f"{files.url}/files/stock.csv", credential__http_password="hunter2-secret")
    response = client.post(f"{BASE}/new/spreadsheet-url", data=form)
    page = text_of(response.text)
    assert response.status_code == 400
    assert (
        "The connection test failed, so nothing was saved. Spreadsheet (CSV, XLSX, Google Sheets, SFTP) said:" in page
    )
    assert words in page and "What to do:" in page
    assert f'value="{files.url}/files/stock.csv"' in response.text and "hunter2-secret" not in response.text
    assert sources(db, tenant_a.id) == []


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"name": ""}, "The source needs a name of 1 to 200 characters."),
        ({"setting__url": ""}, "Transport 'url' needs 'url', the file's address"),
        ({"frequency": "60"}, "'60' is not a sync frequency."),
        ({"setting__header_row": "zero"}, "Header row: input should be a valid integer"),
        ({"setting__encoding": "klingon"}, "Encoding: unknown encoding 'klingon'"),
    ],
)
def test_bad_connection_settings_are_named_and_nothing_is_saved(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, files: FileServer, form: dict[str, str], words: str
) -> None:
    data = url_form(signed_in, f"{files.url}/files/stock.csv") | form
    response = client.post(f"{BASE}/new/spreadsheet-url", data=data)
    assert response.status_code == 422 and words in text_of(response.text) and "What to do:" in response.text
    assert sources(db, tenant_a.id) == [] and files.requests == 0


def test_a_url_source_is_tested_against_the_server_before_it_is_saved(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, files: FileServer
) -> None:
    source_id = url_source(client, signed_in, f"{files.url}/files/stock.csv")
    assert files.requests == 1
    stored = source(db, source_id)
    assert (stored.settings["transport"], stored.frequency_seconds, stored.disabled) == ("url", 900, True)
    assert "Connection test passed: Read 'stock.csv'" in text_of(client.get(f"{BASE}/{source_id}/setup/mapping").text)


def test_saving_needs_a_preview_that_read_the_source(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, files: FileServer
) -> None:
    source_id = url_source(client, signed_in, f"{files.url}/files/stock.csv")
    response = client.post(f"{BASE}/{source_id}/setup/finish", data={"csrf_token": signed_in})
    assert response.status_code == 422 and "needs a preview that read it without errors first" in response.text
    assert source(db, source_id).disabled


def test_a_preview_that_fails_says_why_and_what_to_do(
    client: TestClient,
    signed_in: str,
    tenant_a: Any,
    files: FileServer,
    ctx: SyncContext,
    dispatcher: RecordingDispatcher,
) -> None:
    source_id = url_source(client, signed_in, f"{files.url}/files/stock.csv")
    files.files["stock.csv"] = b"Article,Count\nMUG-RED,4\n"
    client.post(f"{BASE}/{source_id}/setup/mapping", data=mapping_form(signed_in))
    run_dispatched(ctx, dispatcher)
    page = text_of(client.get(f"/partials/inventory-sources/{source_id}/preview").text)
    assert "The preview could not read the source:" in page and "Article" in page and "What to do:" in page
    assert "Save and start syncing" not in page


# --- a source type other than spreadsheets: the same flow, its own form ----------------------------------------


def test_an_odoo_source_is_added_from_its_own_form_and_a_key_odoo_refuses_saves_nothing(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, box: SecretBox
) -> None:
    with running_odoo() as odoo:
        form = {
            "csrf_token": signed_in,
            "name": "Main ERP",
            "frequency": "300",
            "setting__url": odoo.url,
            "setting__protocol": "json2",
            "setting__timeout_seconds": "2",
            "setting__max_retries_in_call": "0",
            "credential__api_key": "not-the-key",
        }
        refused = client.post(f"{BASE}/new/odoo", data=form)
        page = text_of(refused.text)
        assert refused.status_code == 400 and "The connection test failed, so nothing was saved. Odoo said:" in page
        assert "What to do:" in page and "not-the-key" not in refused.text and sources(db, tenant_a.id) == []
        form["credential__api_key"] = odoo.sim.config.api_key
        saved = client.post(f"{BASE}/new/odoo", data=form, follow_redirects=False)
        assert saved.status_code == 303, text_of(saved.text)
        stored = source(db, created_id(saved))
        assert (stored.kind, stored.settings["url"], stored.frequency_seconds) == ("odoo", odoo.url, 300)
        assert box.decrypt(stored.credentials_encrypted)["api_key"] == odoo.sim.config.api_key
        assert "Connection test passed:" in text_of(client.get(saved.headers["location"]).text)
