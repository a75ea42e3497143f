"""The monitoring panel of a saved source: "Sync now", the statuses a failing source shows with its retry
time (on the panel, the list and the home page), the truncation guard's "accept", frequency, pause,
delete, a new upload, "Test connection", the connection form, and the live stream the pages listen to.

The app's engine is a recording stand-in; the runs it was handed are executed in-process by the real
source run code (``run_dispatched``), against real files and a real HTTP server on loopback.
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from doubles import RecordingDispatcher
from fenicia.channels.context import SyncContext
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.inventory.models import SourceRun
from fenicia.inventory.services import request_source_sync
from fenicia.web.render import format_time
from fenicia.web.routes.live import parse_event_id
from inventory.inv_world import FileServer
from web.inv_pages import (
    BASE,
    STOCK_CSV,
    add_products,
    created_id,
    files,
    finish_setup,
    levels,
    run_dispatched,
    saved_upload_source,
    source,
    sources,
    text_of,
    upload_source,
    url_form,
    url_source,
)

__all__ = ["files"]  # the fixture, used by name


# --- sync now, and the statuses a failing source shows ----------------------------------------------------


def test_sync_now_hands_a_run_to_the_engine_and_a_second_click_shows_the_same_run(
    client: TestClient, signed_in: str, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> None:
    source_id = saved_upload_source(client, signed_in, ctx, dispatcher)
    first = client.post(f"{BASE}/{source_id}/sync", data={"csrf_token": signed_in})
    second = client.post(f"{BASE}/{source_id}/sync", data={"csrf_token": signed_in, "next": BASE})
    assert "Sync requested" in first.text and "Waiting for a worker" in first.text
    assert second.url.path == BASE and "was already queued or running" in second.text
    handed = dispatcher.of("sync_source")[-2:]
    assert handed[0] == handed[1] and handed[0][1] == source_id
    with db.read_session() as s:
        queued = s.scalar(select(func.count(SourceRun.id)).where(SourceRun.status == "queued"))
    assert queued == 1


def test_a_source_whose_server_fails_shows_pending_with_its_retry_time_on_every_page(
    client: TestClient,
    signed_in: str,
    tenant_a: Any,
    db: Database,
    files: FileServer,
    ctx: SyncContext,
    dispatcher: RecordingDispatcher,
) -> None:
    source_id = url_source(client, signed_in, f"{files.url}/files/stock.csv")
    finish_setup(client, signed_in, ctx, dispatcher, source_id)
    files.statuses["stock.csv"] = (503, {})
    client.post(f"{BASE}/{source_id}/sync", data={"csrf_token": signed_in})
    [failed] = run_dispatched(ctx, dispatcher)
    stored = source(db, source_id)
    retry = format_time(stored.next_attempt_at)
    assert failed.status == "failed" and stored.status == "Pending" and stored.next_attempt_at > utcnow()
    panel = text_of(client.get(f"{BASE}/{source_id}").text)
    assert f"Pending {stored.status_message}" in panel and "Retry 1 of 3 at" in panel
    assert f"Next attempt {retry}" in panel and "Nothing to do yet: Fenicia retries automatically." in panel
    assert "answered 503" in text_of(client.get(f"/partials/inventory-sources/{source_id}").text)
    listed = text_of(client.get(BASE).text)
    assert f"Pending {format_time(stored.last_success_at)} {retry}" in listed
    home = text_of(client.get("/").text)
    assert "1 inventory sources in Error or Pending" in home and "Supplier sheet Pending" in home


def test_a_rate_limited_source_waits_for_the_servers_retry_after_without_spending_a_retry(
    client: TestClient,
    signed_in: str,
    db: Database,
    files: FileServer,
    ctx: SyncContext,
    dispatcher: RecordingDispatcher,
) -> None:
    source_id = url_source(client, signed_in, f"{files.url}/files/stock.csv")
    finish_setup(client, signed_in, ctx, dispatcher, source_id)
    files.statuses["stock.csv"] = (429, {"Retry-After": "600"})
    client.post(f"{BASE}/{source_id}/sync", data={"csrf_token": signed_in})
    run_dispatched(ctx, dispatcher)
    stored = source(db, source_id)
    assert stored.status == "Pending" and stored.retry_count == 0
    panel = text_of(client.get(f"{BASE}/{source_id}").text)
    assert "asked to slow down (429)" in panel and f"Next attempt {format_time(stored.next_attempt_at)}" in panel
    files.statuses.clear()
    client.post(f"{BASE}/{source_id}/sync", data={"csrf_token": signed_in})  # pulls the waiting retry forward
    [retried] = run_dispatched(ctx, dispatcher)
    assert retried.trigger == "manual" and retried.status == "succeeded" and source(db, source_id).status == "Completed"


def test_a_file_the_guard_refuses_can_be_accepted_from_the_panel(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> None:
    skus = [f"SKU-{n}" for n in range(10)]
    add_products(db, tenant_a.id, *skus)
    source_id = created_id(upload_source(client, signed_in, content="SKU,Qty\n" + "".join(f"{s},3\n" for s in skus)))
    finish_setup(client, signed_in, ctx, dispatcher, source_id)
    files = {"file": ("stock.csv", b"SKU,Qty\nSKU-1,2\n", "text/csv")}
    client.post(f"{BASE}/{source_id}/upload", data={"csrf_token": signed_in}, files=files)
    run_dispatched(ctx, dispatcher)
    panel = text_of(client.get(f"{BASE}/{source_id}").text)
    assert "Error" in panel and "refused by the truncation guard" in panel and "What to do:" in panel
    assert levels(db, source_id)["SKU-1"] == 3
    accepted = client.post(f"{BASE}/{source_id}/accept-drop", data={"csrf_token": signed_in})
    assert "The smaller file is accepted" in accepted.text
    run_dispatched(ctx, dispatcher)
    assert levels(db, source_id)["SKU-1"] == 2 and levels(db, source_id)["SKU-5"] == 0
    assert source(db, source_id).status == "Completed"


# --- settings of a saved source ------------------------------------------------------------------------------


def test_frequency_pause_resume_and_delete(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> None:
    source_id = saved_upload_source(client, signed_in, ctx, dispatcher)
    assert (
        "Sync frequency saved."
        in client.post(f"{BASE}/{source_id}/frequency", data={"csrf_token": signed_in, "frequency": "3600"}).text
    )
    assert source(db, source_id).frequency_seconds == 3600
    paused = client.post(f"{BASE}/{source_id}/pause", data={"csrf_token": signed_in})
    assert "The source is paused" in paused.text and source(db, source_id).disabled
    assert 'button type="submit" class="secondary">Resume syncing' in paused.text
    client.post(f"{BASE}/{source_id}/resume", data={"csrf_token": signed_in})
    assert not source(db, source_id).disabled
    kept = client.post(f"{BASE}/{source_id}/delete", data={"csrf_token": signed_in})
    assert kept.status_code == 422 and "the box confirming it was not ticked" in kept.text
    deleted = client.post(f"{BASE}/{source_id}/delete", data={"csrf_token": signed_in, "confirm": "yes"})
    assert deleted.url.path == BASE and "The source was deleted" in deleted.text and sources(db, tenant_a.id) == []


def test_a_new_file_is_uploaded_from_the_panel_and_synced_and_a_bad_one_changes_nothing(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> None:
    add_products(db, tenant_a.id, "MUG-RED", "MUG-BLUE")
    source_id = saved_upload_source(client, signed_in, ctx, dispatcher)
    before = source(db, source_id).settings
    bad = {"file": ("new.csv", b"SKU,Qty\nACME-MUG-RED,lots\n", "text/csv")}
    refused = client.post(f"{BASE}/{source_id}/upload", data={"csrf_token": signed_in}, files=bad)
    assert refused.status_code == 422 and "Row 2, column 'Qty': 'lots' is not a number" in text_of(refused.text)
    assert source(db, source_id).settings == before
    good = {"file": ("new.csv", STOCK_CSV.replace(",5,", ",11,").encode(), "text/csv")}
    uploaded = client.post(f"{BASE}/{source_id}/upload", data={"csrf_token": signed_in}, files=good)
    assert "File uploaded and checked" in uploaded.text and "Now: new.csv" in uploaded.text
    run_dispatched(ctx, dispatcher)
    assert levels(db, source_id)["MUG-RED"] == 11


def test_test_connection_on_the_panel_changes_nothing(
    client: TestClient,
    signed_in: str,
    db: Database,
    files: FileServer,
    ctx: SyncContext,
    dispatcher: RecordingDispatcher,
) -> None:
    source_id = url_source(client, signed_in, f"{files.url}/files/stock.csv")
    finish_setup(client, signed_in, ctx, dispatcher, source_id)
    passed = client.post(f"{BASE}/{source_id}/test", data={"csrf_token": signed_in})
    assert "Connection test passed: Read 'stock.csv'" in text_of(passed.text)
    files.statuses["stock.csv"] = (403, {})
    failed = client.post(f"{BASE}/{source_id}/test", data={"csrf_token": signed_in})
    assert failed.status_code == 502 and "The connection test failed:" in failed.text and "What to do:" in failed.text
    assert source(db, source_id).status == "Completed"


def test_changing_the_connection_is_tested_first_and_blank_secrets_keep_the_stored_ones(
    client: TestClient, signed_in: str, db: Database, box: SecretBox, files: FileServer
) -> None:
    files.token = "sheet-token"
    url = f"{files.url}/files/stock.csv"
    form = url_form(signed_in, url, credential__http_bearer_token="sheet-token")
    source_id = created_id(client.post(f"{BASE}/new/spreadsheet-url", data=form, follow_redirects=False))
    page = client.get(f"{BASE}/{source_id}/connection").text
    assert f'value="{url}"' in page and "sheet-token" not in page and "Leave a field empty to keep" in page
    moved = {"csrf_token": signed_in, "name": "Supplier sheet", "setting__url": f"{files.url}/files/gone.csv"}
    refused = client.post(f"{BASE}/{source_id}/connection", data=moved)
    assert refused.status_code == 400 and "so nothing was changed" in refused.text
    assert source(db, source_id).settings["url"] == url
    renamed = {"csrf_token": signed_in, "name": "Supplier sheet 2", "setting__url": url, "setting__header_row": ""}
    saved = client.post(f"{BASE}/{source_id}/connection", data=renamed)
    assert "Connection settings saved" in saved.text
    stored = source(db, source_id)
    assert stored.name == "Supplier sheet 2" and stored.settings["header_row"] == 1
    assert box.decrypt(stored.credentials_encrypted)["http_bearer_token"] == "sheet-token"


# --- the live stream ------------------------------------------------------------------------------------------


def _events(body: str) -> list[tuple[str, str]]:
    """(event name, event id) of each event in an SSE body."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], fields.get("id", "")))
    return found


def test_the_sources_stream_announces_a_change_of_any_source_or_run(
    app: FastAPI, client: TestClient, signed_in: str, tenant_a: Any, db: Database
) -> None:
    app.state.web_sse_tick_seconds = 0.05
    app.state.web_sse_lifetime_seconds = 0.3
    [(name, ident)] = _events(client.get("/events/sources").text)
    assert name == "hello" and set(parse_event_id(ident)) == {"sources"}
    source_id = created_id(upload_source(client, signed_in))
    changed = _events(client.get("/events/sources", headers={"Last-Event-ID": ident}).text)
    assert [n for n, _ in changed] == ["sources"]
    ident = changed[0][1]
    assert _events(client.get("/events/sources", headers={"Last-Event-ID": ident}).text) == []
    app.state.web_sse_lifetime_seconds = 1.5

    def sync_later() -> None:
        time.sleep(0.4)
        with db.session() as s:
            request_source_sync(s, tenant_a.id, source_id, preview=True)

    worker = threading.Thread(target=sync_later)
    worker.start()
    body = client.get("/events/sources", headers={"Last-Event-ID": ident}).text
    worker.join()
    assert [n for n, _ in _events(body)] == ["sources"]


def test_a_sync_started_between_the_page_and_its_stream_is_announced(
    app: FastAPI, client: TestClient, signed_in: str, tenant_a: Any, db: Database
) -> None:
    """The page's ``?since=`` is the fingerprint it was rendered at, so the first connection reports a run
    that started after the render (a stream starting from its own first read would miss it)."""
    app.state.web_sse_tick_seconds = 0.05
    app.state.web_sse_lifetime_seconds = 0.3
    source_id = created_id(upload_source(client, signed_in))
    page = client.get(f"{BASE}/{source_id}").text
    address = html.unescape(re.search(r'sse-connect="(/events/sources[^"]*)"', page)[1])  # type: ignore[index]
    assert "?since=" in address
    assert _events(client.get(address).text) == []  # nothing changed since the render
    with db.session() as s:
        request_source_sync(s, tenant_a.id, source_id, preview=True)
    assert [n for n, _ in _events(client.get(address).text)] == ["sources"]


def test_the_stream_needs_a_session(client: TestClient) -> None:
    response = client.get("/events/sources", follow_redirects=False)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_old_source_links_of_notifications_lead_to_the_panel(client: TestClient, signed_in: str) -> None:
    response = client.get("/inventory/sources/7", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"{BASE}/7"
