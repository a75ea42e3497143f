"""A merchant for inventory-source tests: products, locations, spreadsheet sources, uploads and runs,
all through the real services and the real database; plus real local servers (HTTP and SFTP)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import asyncssh
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import factories
import servers
from fenicia.catalog.models import Location, Product
from fenicia.channels.context import SyncContext
from fenicia.channels.models import Listing
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.inventory import uploads
from fenicia.inventory.models import InventorySource, SourceRun, StockLevel, StockPush, UnmappedSku
from fenicia.inventory.runs import execute_source_run
from fenicia.inventory.schemas import SourceCreate
from fenicia.inventory.services import create_source, request_source_sync
from shopify_sim import FAST_CONNECTOR

_ids = itertools.count(1)
FAST_RETRIES = (300.0, 900.0, 3600.0)


@dataclass
class InvWorld:
    """One merchant. ``kicks`` records the stock-push kicks source runs make."""

    ctx: SyncContext
    ws: int
    token: str
    kicks: list[int] = field(default_factory=list)

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def box(self) -> SecretBox:
        return self.ctx.box

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # -- catalog --------------------------------------------------------------------------------------

    def product(self, sku: str, name: str | None = None, barcode: str | None = None) -> int:
        with self.db.session() as s:
            product = Product(workspace_id=self.ws, sku=sku, name=name or sku, barcode=barcode)
            s.add(product)
            s.flush()
            return product.id

    def products(self, skus: list[str]) -> dict[str, int]:
        with self.db.session() as s:
            rows = [Product(workspace_id=self.ws, sku=sku, name=sku) for sku in skus]
            s.add_all(rows)
            s.flush()
            return {row.sku: row.id for row in rows}

    def location(self, code: str) -> int:
        with self.db.session() as s:
            location = Location(workspace_id=self.ws, code=code, name=code)
            s.add(location)
            s.flush()
            return location.id

    def listing(self, product_id: int) -> tuple[int, int]:
        """A Shopify connection (not contacted) with one listing of the product: (connection, listing)."""
        with self.db.session() as s:
            conn = factories.shopify_connection(
                s, self.box, self.ws, settings=FAST_CONNECTOR, name=f"Shop {next(_ids)}"
            )
            listing = Listing(
                workspace_id=self.ws, connection_id=conn.id, product_id=product_id, external_id=f"L{next(_ids)}"
            )
            listing.inventory_ref = "1"
            s.add(listing)
            s.flush()
            return conn.id, listing.id

    # -- sources and runs ---------------------------------------------------------------------------------

    def source(self, settings: dict[str, Any] | None = None, **fields: Any) -> int:
        data = SourceCreate(
            kind=fields.pop("kind", "spreadsheet"),
            name=fields.pop("name", f"Stock file {next(_ids)}"),
            settings={"transport": "upload", **(settings or {})},
            credentials=fields.pop("credentials", {}),
            frequency_seconds=fields.pop("frequency_seconds", None),
            **fields,
        )
        with self.db.session() as s:
            return create_source(s, self.box, self.ws, data).id

    def upload(self, source_id: int, content: bytes | str, name: str = "stock.csv") -> None:
        """Stores a file as the upload endpoint does (checked whole first: raises on a bad file)."""
        body = content.encode() if isinstance(content, str) else content
        with self.db.read_session() as s:
            source = s.get(InventorySource, source_id)
            assert source is not None
        incoming = uploads.begin_upload(self.ctx.settings, source)
        incoming.write(body)
        sha = incoming.close()
        try:
            asyncio.run(uploads.check_file(source, self.box, self.ctx.settings, incoming, sha))
        except BaseException:
            incoming.discard()
            raise
        with self.db.session() as s:
            uploads.keep_upload(s, self.ctx.settings, self.ws, source_id, incoming, sha, name)

    def request(self, source_id: int, *, trigger: str = "manual", preview: bool = False) -> int:
        with self.db.session() as s:
            run, _ = request_source_sync(s, self.ws, source_id, trigger=trigger, preview=preview)
            return run.id

    def execute(self, run_id: int) -> SourceRun:
        asyncio.run(execute_source_run(self.ctx, run_id, self.kicks.append))
        return self.run(run_id)

    def sync(self, source_id: int, *, trigger: str = "manual", preview: bool = False) -> SourceRun:
        return self.execute(self.request(source_id, trigger=trigger, preview=preview))

    def run(self, run_id: int) -> SourceRun:
        with self.db.read_session() as s:
            run = s.get(SourceRun, run_id)
            assert run is not None
            return run

    def runs(self, source_id: int) -> list[SourceRun]:
        with self.db.read_session() as s:
            return list(s.scalars(select(SourceRun).where(SourceRun.source_id == source_id).order_by(SourceRun.id)))

    def get_source(self, source_id: int) -> InventorySource:
        with self.db.read_session() as s:
            source = s.get(InventorySource, source_id)
            assert source is not None
            return source

    # -- what was applied ------------------------------------------------------------------------------------

    def levels(self, source_id: int) -> dict[tuple[str, str], int]:
        """(product SKU, location code) → available."""
        with self.db.read_session() as s:
            rows = s.execute(
                select(Product.sku, Location.code, StockLevel.available)
                .join(Product, Product.id == StockLevel.product_id)
                .join(Location, Location.id == StockLevel.location_id)
                .where(StockLevel.source_id == source_id)
            )
            return {(sku, code): available for sku, code, available in rows}

    def level_rows(self, source_id: int) -> list[StockLevel]:
        with self.db.read_session() as s:
            return list(s.scalars(select(StockLevel).where(StockLevel.source_id == source_id).order_by(StockLevel.id)))

    def unmapped(self) -> dict[str, UnmappedSku]:
        with self.db.read_session() as s:
            rows = s.scalars(select(UnmappedSku).where(UnmappedSku.workspace_id == self.ws))
            return {f"{row.scope}|{row.code}": row for row in rows}

    def pushes(self) -> list[StockPush]:
        with self.db.read_session() as s:
            return list(s.scalars(select(StockPush).where(StockPush.workspace_id == self.ws).order_by(StockPush.id)))


def new_world(ctx: SyncContext, name: str = "Inv") -> InvWorld:
    with ctx.db.session() as s:
        ws, token = factories.workspace(s, name)
    return InvWorld(ctx, ws, token)


def csv_text(rows: list[tuple[Any, ...]], header: tuple[str, ...] = ("SKU", "Qty"), delimiter: str = ",") -> str:
    lines = [delimiter.join(header)] + [delimiter.join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


# --- a real HTTP file server on loopback ---------------------------------------------------------------------


@dataclass
class FileServer:
    """Serves ``files`` at /files/{name}; ``statuses`` forces an answer; ``token`` requires a bearer."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    statuses: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    token: str | None = None
    modified: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    requests: int = 0

    def app(self) -> Starlette:
        async def serve_file(request: Request) -> Response:
            self.requests += 1
            name = request.path_params["name"]
            if name in self.statuses:
                code, headers = self.statuses[name]
                return Response(f"status {code}", status_code=code, headers=headers)
            if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
                return Response("unauthorized", status_code=401)
            if name == "login":
                return HTMLResponse("<!DOCTYPE html><html><body>Sign in</body></html>")
            if name not in self.files:
                return Response("no such file", status_code=404)
            headers = {"Last-Modified": format_datetime(self.modified, usegmt=True)}
            return Response(self.files[name], media_type="text/csv", headers=headers)

        return Starlette(routes=[Route("/files/{name}", serve_file)])


@contextmanager
def running_file_server() -> Iterator[FileServer]:
    server = FileServer()
    with servers.serve(server.app()) as url:
        server.url = url
        yield server


# --- a real SFTP server on loopback (asyncssh, in its own thread and event loop) -----------------------------


@dataclass
class SftpServer:
    port: int
    root: Path
    host_key: str  # the server's public key, OpenSSH format
    client_key: asyncssh.SSHKey  # a key the server accepts for user "drop"
    username: str = "drop"
    password: str = "drop-secret"

    def settings(self, **extra: Any) -> dict[str, Any]:
        return {
            "transport": "sftp",
            "sftp_host": "127.0.0.1",
            "sftp_port": self.port,
            "sftp_username": self.username,
            "sftp_directory": "/drop",
            "sftp_pattern": "stock_*.csv",
            "timeout_seconds": 5,
            **extra,
        }

    def drop(self, name: str, content: str, mtime: float | None = None) -> Path:
        import os

        path = self.root / "drop" / name
        path.write_text(content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path


class _DropServer(asyncssh.SSHServer):
    def __init__(self, password: str, client_key: asyncssh.SSHKey) -> None:
        self._password = password
        self._client_key = client_key

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == "drop" and password == self._password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == "drop" and key.export_public_key() == self._client_key.export_public_key()


@contextmanager
def running_sftp(root: Path) -> Iterator[SftpServer]:
    (root / "drop").mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    password = "drop-secret"

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            lambda: _DropServer(password, client_key),
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
        )

    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    port = acceptor.sockets[0].getsockname()[1]
    try:
        yield SftpServer(port, root, host_key.export_public_key().decode().strip(), client_key, password=password)
    finally:
        acceptor.close()
        asyncio.run_coroutine_threadsafe(acceptor.wait_closed(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
