"""Spreadsheet transports against real local servers: an HTTP(S) URL (loopback HTTP) and an SFTP drop
(an asyncssh server in this process, on loopback, rooted in a temp dir)."""

from __future__ import annotations

import asyncio
import time

import pytest

from fenicia.core.errors import AuthError, ConfigError, FeniciaError, ValidationFailed
from fenicia.inventory.schemas import SourceUpdate
from fenicia.inventory.services import build_source_connector, update_source
from inventory.inv_world import FileServer, InvWorld, SftpServer, csv_text

HEADER = ("SKU", "Qty")


def _test_connection(world: InvWorld, source_id: int) -> str:
    source = world.get_source(source_id)
    connector = build_source_connector(source, world.box, world.ctx.settings)
    return asyncio.run(connector.test_connection())


def _test_fails(world: InvWorld, source_id: int) -> FeniciaError:
    with pytest.raises(FeniciaError) as caught:
        _test_connection(world, source_id)
    return caught.value


# --- HTTP(S) -----------------------------------------------------------------------------------------------


def test_a_url_source_reads_the_file_with_its_token_and_dates_it(world: InvWorld, file_server: FileServer) -> None:
    world.products(["A", "B"])
    file_server.token = "sheet-token"
    file_server.files["stock.csv"] = csv_text([("A", 3), ("B", 4)]).encode()
    source_id = world.source(
        {"transport": "url", "url": f"{file_server.url}/files/stock.csv"},
        credentials={"http_bearer_token": "sheet-token"},
    )

    run = world.sync(source_id)

    assert run.status == "succeeded" and world.levels(source_id) == {("A", "main"): 3, ("B", "main"): 4}
    assert run.snapshot_at == file_server.modified  # the file's Last-Modified, not the time we read it
    assert _test_connection(world, source_id) == "Read 'stock.csv' (16 bytes): SKU from 'SKU', quantity from 'Qty'."


def test_a_scheduled_read_of_an_unchanged_url_file_applies_nothing(world: InvWorld, file_server: FileServer) -> None:
    world.products(["A"])
    file_server.files["stock.csv"] = csv_text([("A", 3)]).encode()
    source_id = world.source({"transport": "url", "url": f"{file_server.url}/files/stock.csv"})
    world.sync(source_id)

    same = world.sync(source_id, trigger="schedule")
    file_server.files["stock.csv"] = csv_text([("A", 8)]).encode()
    changed = world.sync(source_id, trigger="schedule")

    assert (same.rows_read, changed.rows_read) == (0, 1)
    assert world.levels(source_id) == {("A", "main"): 8}


def test_url_test_connection_says_what_is_wrong(world: InvWorld, file_server: FileServer) -> None:
    file_server.token = "right"
    file_server.files["stock.csv"] = b"Code,Description\nA,x\n"
    base = {"transport": "url", "url": f"{file_server.url}/files/stock.csv"}
    wrong_token = world.source(base, credentials={"http_bearer_token": "wrong"})
    missing = world.source(
        {**base, "url": f"{file_server.url}/files/nope.csv"}, credentials={"http_bearer_token": "right"}
    )
    columns = world.source(base, credentials={"http_bearer_token": "right"})
    login = world.source({**base, "url": f"{file_server.url}/files/login"}, credentials={"http_bearer_token": "right"})

    assert isinstance(_test_fails(world, wrong_token), AuthError)
    assert "refused access to the file (401)" in _test_fails(world, wrong_token).message
    assert isinstance(_test_fails(world, missing), ConfigError)
    assert "no file at" in _test_fails(world, missing).message
    assert isinstance(_test_fails(world, columns), ValidationFailed)
    assert "No quantity column" in _test_fails(world, columns).message
    assert "web page" in _test_fails(world, login).message


def test_a_url_file_over_the_size_limit_is_refused(world: InvWorld, file_server: FileServer) -> None:
    file_server.files["big.csv"] = b"SKU,Qty\n" + b"A,1\n" * 600
    source_id = world.source({"transport": "url", "url": f"{file_server.url}/files/big.csv", "max_file_bytes": 1024})

    run = world.sync(source_id)

    assert run.status == "failed" and "larger than this source's limit" in (run.error_message or "")


# --- SFTP ----------------------------------------------------------------------------------------------


def test_an_sftp_drop_reads_the_newest_matching_file(world: InvWorld, sftp: SftpServer) -> None:
    world.products(["A", "B"])
    now = time.time()
    sftp.drop("stock_1.csv", csv_text([("A", 1)]), mtime=now - 300)
    newest = sftp.drop("stock_2.csv", csv_text([("A", 2), ("B", 5)]), mtime=now - 60)
    sftp.drop("other_9.csv", csv_text([("A", 99)]), mtime=now)
    sftp.drop(".stock_3.csv", csv_text([("A", 77)]), mtime=now)  # a hidden, half-written upload
    (sftp.root / "drop" / "stock_dir.csv").mkdir()
    source_id = world.source(sftp.settings(), credentials={"sftp_password": sftp.password})

    run = world.sync(source_id)

    assert run.status == "succeeded", run.error_message
    assert world.levels(source_id) == {("A", "main"): 2, ("B", "main"): 5}
    last_file = world.get_source(source_id).last_file
    assert last_file is not None and last_file["name"] == "stock_2.csv"
    assert last_file["size"] == newest.stat().st_size


def test_an_sftp_file_already_applied_is_neither_fetched_nor_applied_again(world: InvWorld, sftp: SftpServer) -> None:
    world.products(["A"])
    mtime = time.time() - 60
    path = sftp.drop("stock_1.csv", csv_text([("A", 2)]), mtime=mtime)
    source_id = world.source(sftp.settings(), credentials={"sftp_password": sftp.password})
    world.sync(source_id)

    size = path.stat().st_size
    sftp.drop("stock_1.csv", csv_text([("A", 7)]), mtime=mtime)  # same name, size and time: not fetched
    assert path.stat().st_size == size
    unchanged = world.sync(source_id, trigger="schedule")
    sftp.drop("stock_2.csv", csv_text([("A", 2)]), mtime=mtime + 30)  # the applied content, new name: skipped
    renamed = world.sync(source_id, trigger="schedule")
    sftp.drop("stock_3.csv", csv_text([("A", 9)]), mtime=mtime + 40)
    fresh = world.sync(source_id, trigger="schedule")

    assert (unchanged.rows_read, renamed.rows_read, fresh.rows_read) == (0, 0, 1)
    assert world.levels(source_id) == {("A", "main"): 9}
    assert world.get_source(source_id).last_file["name"] == "stock_3.csv"  # type: ignore[index]


def test_sftp_with_a_private_key_and_a_pinned_host_key(world: InvWorld, sftp: SftpServer) -> None:
    world.products(["A"])
    sftp.drop("stock_1.csv", csv_text([("A", 4)]))
    key = sftp.client_key.export_private_key().decode()
    source_id = world.source(sftp.settings(sftp_host_key=sftp.host_key), credentials={"sftp_private_key": key})

    message = _test_connection(world, source_id)
    run = world.sync(source_id)

    assert message.startswith(f"Connected to drop@127.0.0.1:{sftp.port}: 1 matching file(s)")
    assert "Host key" not in message  # pinned: nothing to suggest
    assert run.status == "succeeded" and world.levels(source_id) == {("A", "main"): 4}


def test_sftp_test_connection_says_what_is_wrong(world: InvWorld, sftp: SftpServer) -> None:
    other_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFzKsCOyBcH5ZqBqb1cvK9kV5QjVnHJvXr0wKpVjUH3D"
    wrong_password = world.source(sftp.settings(), credentials={"sftp_password": "nope"})
    wrong_host = world.source(sftp.settings(sftp_host_key=other_key), credentials={"sftp_password": sftp.password})
    wrong_folder = world.source(sftp.settings(sftp_directory="/missing"), credentials={"sftp_password": sftp.password})
    empty = world.source(sftp.settings(), credentials={"sftp_password": sftp.password})

    assert isinstance(_test_fails(world, wrong_password), AuthError)
    assert "refused the login" in _test_fails(world, wrong_password).message
    assert "does not match the pinned one" in _test_fails(world, wrong_host).message
    assert "'/missing' does not exist" in _test_fails(world, wrong_folder).message
    message = _test_connection(world, empty)
    assert "no file matches 'stock_*.csv'" in message and sftp.host_key in message
    run = world.sync(empty)
    assert run.status == "failed" and "No file matching 'stock_*.csv'" in (run.error_message or "")


def test_new_sftp_credentials_clear_the_error(world: InvWorld, sftp: SftpServer) -> None:
    world.products(["A"])
    sftp.drop("stock_1.csv", csv_text([("A", 4)]))
    source_id = world.source(sftp.settings(), credentials={"sftp_password": "nope"})
    failed = world.sync(source_id)
    assert failed.error_code == "auth_error" and world.get_source(source_id).status == "Error"

    with world.db.session() as s:
        update_source(s, world.box, world.ws, source_id, SourceUpdate(credentials={"sftp_password": sftp.password}))
    assert world.get_source(source_id).status == "Pending"
    assert world.sync(source_id).status == "succeeded"
