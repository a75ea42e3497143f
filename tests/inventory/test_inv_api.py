"""/api/v1/inventory on the real database, with a recording stand-in for the engine: sources, uploads,
sync and preview hand-over, runs, levels, overrides, location mappings, the unmapped report, and tenant
isolation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from doubles import RecordingDispatcher
from fenicia.core.settings import Settings
from fenicia.inventory.models import InventorySource
from inventory.inv_world import FileServer, InvWorld, csv_text

SECRET = "sftp-TOPSECRET-pass"
BASE = "/api/v1/inventory"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "spreadsheet", "name": "Warehouse file", "settings": {"transport": "upload"}}
    body.update(overrides)
    return body


def _count_sources(world: InvWorld) -> int:
    with world.db.read_session() as s:
        return int(s.scalar(select(func.count(InventorySource.id))) or 0)


def test_create_list_read_never_show_credentials(api: TestClient, world: InvWorld) -> None:
    body = _body(
        settings={"transport": "sftp", "sftp_host": "sftp.example.com", "sftp_username": "acme"},
        credentials={"sftp_password": SECRET},
        frequency_seconds=300,
    )
    created = api.post(f"{BASE}/sources", json=body, headers=world.headers)
    assert created.status_code == 201, created.text
    source = created.json()
    assert (source["status"], source["frequency_seconds"], source["paused"]) == ("Pending", 300, False)
    assert source["freshness"]["stale"] is True and source["next_sync_at"] is not None
    listed = api.get(f"{BASE}/sources", headers=world.headers)
    read = api.get(f"{BASE}/sources/{source['id']}", headers=world.headers)
    assert [s["id"] for s in listed.json()] == [source["id"]] and read.status_code == 200
    for response in (created, listed, read):
        assert SECRET not in response.text and "credentials" not in response.text


def test_bad_input_is_422_naming_the_problem_and_stores_nothing(api: TestClient, world: InvWorld) -> None:
    cases = [
        (_body(settings={"transport": "url"}), "needs 'url'"),
        (_body(settings={"transport": "sftp", "sftp_host": "h", "sftp_username": "u"}), "password or a private key"),
        (_body(kind="quickbooks"), "quickbooks"),
        (_body(frequency_seconds=42), "frequency"),
        (_body(settings={"transport": "upload", "encoding": "klingon"}), "encoding"),
        (_body(settings={"transport": "upload", "upload_file": "../../etc/passwd"}), None),  # ignored, not stored
    ]
    for body, words in cases[:-1]:
        response = api.post(f"{BASE}/sources", json=body, headers=world.headers)
        assert response.status_code == 422, body
        assert words in response.json()["error"]["message"], response.text
    assert _count_sources(world) == 0
    created = api.post(f"{BASE}/sources", json=cases[-1][0], headers=world.headers)
    assert created.status_code == 201 and created.json()["settings"]["upload_file"] is None


def test_source_types_describe_their_forms(api: TestClient, world: InvWorld) -> None:
    types = {t["key"]: t for t in api.get(f"{BASE}/source-types", headers=world.headers).json()}
    spreadsheet = types["spreadsheet"]
    assert spreadsheet["kind"] == "spreadsheet" and spreadsheet["supports_delta"] is False
    assert "transport" in spreadsheet["settings_schema"]["properties"]
    password = spreadsheet["credentials_schema"]["properties"]["sftp_password"]
    assert {"format": "password", "type": "string", "writeOnly": True} in password["anyOf"]


def test_upload_stores_the_checked_file_and_can_queue_a_sync(
    api: TestClient, world: InvWorld, dispatcher: RecordingDispatcher, settings: Settings
) -> None:
    world.products(["A"])
    source_id = world.source()
    content = csv_text([("A", 5)]).encode()

    raw = api.post(
        f"{BASE}/sources/{source_id}/upload?filename=stock%20nov.csv&then=sync", content=content, headers=world.headers
    )
    assert raw.status_code == 201, raw.text
    stored = raw.json()["source"]["settings"]
    assert (stored["upload_name"], stored["upload_size"]) == ("stock nov.csv", len(content))
    assert (settings.data_dir / "uploads" / stored["upload_file"]).read_bytes() == content
    run = raw.json()["run"]
    assert dispatcher.of("sync_source") == [(run["id"], source_id)]

    form = api.post(
        f"{BASE}/sources/{source_id}/upload",
        files={"file": ("b.csv", csv_text([("A", 6)]).encode(), "text/csv")},
        headers=world.headers,
    )
    assert form.status_code == 201 and form.json()["source"]["settings"]["upload_name"] == "b.csv"
    assert form.json()["run"] is None
    assert world.execute(run["id"]).rows_read == 1 and world.levels(source_id) == {("A", "main"): 6}


def test_a_bad_or_too_large_upload_is_refused_and_changes_nothing(
    api: TestClient, world: InvWorld, settings: Settings
) -> None:
    source_id = world.source({"max_file_bytes": 2048})
    bad = api.post(f"{BASE}/sources/{source_id}/upload", content=b"SKU,Qty\nA,1\nB,x\n", headers=world.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == "Row 3, column 'Qty': 'x' is not a number."
    big = api.post(f"{BASE}/sources/{source_id}/upload", content=b"SKU,Qty\n" + b"A,1\n" * 1000, headers=world.headers)
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    empty = api.post(f"{BASE}/sources/{source_id}/upload", content=b"", headers=world.headers)
    assert empty.status_code == 422
    assert world.get_source(source_id).settings.get("upload_file") is None
    folder = Path(settings.data_dir / "uploads" / str(world.ws) / str(source_id))
    assert list(folder.iterdir()) == []


def test_uploading_to_a_url_source_is_refused(api: TestClient, world: InvWorld, file_server: FileServer) -> None:
    source_id = world.source({"transport": "url", "url": f"{file_server.url}/files/x.csv"})
    response = api.post(f"{BASE}/sources/{source_id}/upload", content=b"SKU,Qty\nA,1\n", headers=world.headers)
    assert response.status_code == 422 and "does not take uploaded files" in response.json()["error"]["message"]


def test_sync_now_is_one_at_a_time_and_preview_is_separate(
    api: TestClient, world: InvWorld, dispatcher: RecordingDispatcher
) -> None:
    world.products(["A"])
    source_id = world.source()
    world.upload(source_id, csv_text([("A", 5), ("NEW", 1)]))

    first = api.post(f"{BASE}/sources/{source_id}/sync", headers=world.headers)
    second = api.post(f"{BASE}/sources/{source_id}/sync", headers=world.headers)
    preview = api.post(f"{BASE}/sources/{source_id}/preview", headers=world.headers)

    assert (first.status_code, second.status_code, preview.status_code) == (202, 200, 202)
    assert first.json()["id"] == second.json()["id"] != preview.json()["id"]
    assert preview.json()["preview"] is True
    world.execute(preview.json()["id"])
    detail = api.get(f"{BASE}/source-runs/{preview.json()['id']}", headers=world.headers).json()
    assert [(r["code"], r["status"]) for r in detail["preview_rows"]] == [("A", "mapped"), ("NEW", "unmapped")]
    world.execute(first.json()["id"])
    runs = api.get(f"{BASE}/sources/{source_id}/runs", headers=world.headers).json()
    assert [r["trigger"] for r in runs] == ["preview", "manual"] and runs[1]["duration_seconds"] >= 0
    assert runs[0]["preview_rows"] is None  # the history stays light
    levels = api.get(f"{BASE}/sources/{source_id}/levels", headers=world.headers).json()
    assert [(lv["sku"], lv["location"], lv["available"]) for lv in levels] == [("A", "main", 5)]
    by_sku = api.get(f"{BASE}/levels?sku=A", headers=world.headers).json()
    assert [lv["source_id"] for lv in by_sku] == [source_id]


def test_patch_pause_frequency_mapping_and_delete(api: TestClient, world: InvWorld, settings: Settings) -> None:
    source_id = world.source(frequency_seconds=900)
    world.upload(source_id, csv_text([("A", 1)]))
    folder = settings.data_dir / "uploads" / str(world.ws) / str(source_id)
    assert len(list(folder.iterdir())) == 1
    patched = api.patch(
        f"{BASE}/sources/{source_id}",
        json={"name": "Renamed", "frequency_seconds": None, "mapping": {"case": "upper"}, "paused": True},
        headers=world.headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["frequency_seconds"], body["mapping"]["case"], body["paused"]) == (
        "Renamed",
        None,
        "upper",
        True,
    )
    assert (
        api.patch(f"{BASE}/sources/{source_id}", json={"update_mode": "delta"}, headers=world.headers).status_code
        == 422
    )
    assert api.delete(f"{BASE}/sources/{source_id}", headers=world.headers).status_code == 204
    assert api.get(f"{BASE}/sources/{source_id}", headers=world.headers).status_code == 404
    assert not folder.exists()  # the uploaded files went with it


def test_overrides_location_mappings_and_the_report_over_the_api(
    api: TestClient, world: InvWorld, dispatcher: RecordingDispatcher
) -> None:
    ids = world.products(["MUG", "CUP"])
    connection_id, _ = world.listing(ids["MUG"])
    location_id = world.location("MAIN")
    source_id = world.source()
    mapped = api.post(
        f"{BASE}/sources/{source_id}/locations",
        json={"external_location": "", "location_id": location_id},
        headers=world.headers,
    )
    assert mapped.status_code == 201
    world.upload(source_id, csv_text([("mug-1", 4), ("cup-1", 2), ("tea-1", 3)]))
    world.sync(source_id)

    report = {r["code"]: r for r in api.get(f"{BASE}/unmapped", headers=world.headers).json()}
    assert set(report) == {"mug-1", "cup-1", "tea-1"} and report["mug-1"]["last_quantity"] == 4
    resolved = api.post(
        f"{BASE}/unmapped/{report['mug-1']['id']}/map", json={"product_id": ids["MUG"]}, headers=world.headers
    )
    assert resolved.status_code == 200 and resolved.json()["connections_pushed"] == [connection_id]
    assert dispatcher.of("push_stock") == [(connection_id,)]
    override = api.post(
        f"{BASE}/sources/{source_id}/overrides",
        json={"external_code": "cup-1", "product_id": ids["CUP"]},
        headers=world.headers,
    )
    assert override.status_code == 201
    created = api.post(f"{BASE}/unmapped/{report['tea-1']['id']}/create-product", json={}, headers=world.headers)
    assert created.status_code == 201

    assert world.levels(source_id) == {("MUG", "MAIN"): 4, ("CUP", "MAIN"): 2, ("tea-1", "MAIN"): 3}
    assert api.get(f"{BASE}/unmapped", headers=world.headers).json() == []
    overrides = api.get(f"{BASE}/sources/{source_id}/overrides", headers=world.headers).json()
    assert sorted(o["external_code"] for o in overrides) == ["cup-1", "mug-1"]
    gone = api.delete(f"{BASE}/sources/{source_id}/overrides/{overrides[0]['id']}", headers=world.headers)
    assert gone.status_code == 204
    locations = api.get(f"{BASE}/sources/{source_id}/locations", headers=world.headers).json()
    assert [(m["external_location"], m["location_id"]) for m in locations] == [("", location_id)]


def test_test_connection_before_and_after_saving(api: TestClient, world: InvWorld, file_server: FileServer) -> None:
    file_server.files["s.csv"] = b"SKU,Qty\nA,1\n"
    body = _body(settings={"transport": "url", "url": f"{file_server.url}/files/s.csv"})
    ok = api.post(f"{BASE}/sources/test", json=body, headers=world.headers)
    assert ok.status_code == 200 and ok.json()["ok"] is True and "quantity from 'Qty'" in ok.json()["message"]
    assert _count_sources(world) == 0

    source_id = world.source({"transport": "url", "url": f"{file_server.url}/files/missing.csv"})
    failed = api.post(f"{BASE}/sources/{source_id}/test", headers=world.headers)
    assert failed.status_code == 400 and failed.json()["ok"] is False
    assert "no file at" in failed.json()["error"]["message"]


def test_another_workspace_cannot_see_or_touch_a_source(
    api: TestClient, world: InvWorld, other_world: InvWorld, dispatcher: RecordingDispatcher
) -> None:
    product_id = world.product("A")
    source_id = world.source()
    world.upload(source_id, csv_text([("A", 5), ("ZZ", 1)]))
    run = world.sync(source_id)
    row_id = world.unmapped()[f"source:{source_id}|ZZ"].id
    theirs = other_world.headers
    their_product = other_world.product("B")

    assert api.get(f"{BASE}/sources", headers=theirs).json() == []
    assert api.get(f"{BASE}/unmapped", headers=theirs).json() == []
    assert api.get(f"{BASE}/levels", headers=theirs).json() == []
    attempts = [
        ("get", f"/sources/{source_id}", None),
        ("patch", f"/sources/{source_id}", {"name": "mine"}),
        ("post", f"/sources/{source_id}/test", None),
        ("post", f"/sources/{source_id}/sync", None),
        ("post", f"/sources/{source_id}/preview", None),
        ("get", f"/sources/{source_id}/runs", None),
        ("get", f"/source-runs/{run.id}", None),
        ("get", f"/sources/{source_id}/levels", None),
        ("get", f"/sources/{source_id}/overrides", None),
        ("post", f"/sources/{source_id}/overrides", {"external_code": "ZZ", "product_id": their_product}),
        ("get", f"/sources/{source_id}/locations", None),
        ("post", f"/unmapped/{row_id}/map", {"product_id": their_product}),
        ("post", f"/unmapped/{row_id}/create-product", {}),
        ("delete", f"/sources/{source_id}", None),
    ]
    for method, path, body in attempts:
        response = api.request(method.upper(), f"{BASE}{path}", json=body, headers=theirs)
        assert response.status_code == 404, (method, path, response.status_code)
    upload = api.post(f"{BASE}/sources/{source_id}/upload", content=b"SKU,Qty\nA,9\n", headers=theirs)
    assert upload.status_code == 404
    mine = api.post(
        f"{BASE}/sources/{source_id}/overrides",
        json={"external_code": "ZZ", "product_id": their_product},
        headers=world.headers,
    )
    assert mine.status_code == 404  # a product of another workspace cannot be mapped to either
    assert dispatcher.calls == []
    assert world.get_source(source_id).name != "mine" and world.levels(source_id) == {("A", "main"): 5}
    assert product_id
