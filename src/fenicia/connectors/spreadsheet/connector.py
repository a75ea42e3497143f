"""``SpreadsheetConnector``: a stock file (CSV or XLSX) read as an inventory source.

A file is always a full snapshot: every code it holds, at the moment it was written (its modification
time, capped at the start of the read). When the file is the one applied last (``known_file``, set by
the engine for scheduled reads), nothing is read: the read is then reported as not full
(``full_snapshot = False``) with no rows, so nothing is zeroed and nothing changes.

Parsing is CPU work: each page is produced in a worker thread, so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator
from datetime import datetime
from typing import Any

from fenicia.connectors.base import LevelRow, LevelRows, LevelsCursor, LevelsPage
from fenicia.connectors.spreadsheet.columns import resolve_columns
from fenicia.connectors.spreadsheet.files import LocalFile, download, uploaded_file
from fenicia.connectors.spreadsheet.settings import SpreadsheetCredentials, SpreadsheetSettings
from fenicia.connectors.spreadsheet.sftp import SftpDrop
from fenicia.connectors.spreadsheet.stock import Warnings, level_pages
from fenicia.connectors.spreadsheet.table import open_table
from fenicia.core.clock import utcnow

MIB = 1024 * 1024


class SpreadsheetConnector:
    """One stock file source. Methods raise ``fenicia.core.errors`` classes only."""

    def __init__(self, settings: SpreadsheetSettings, credentials: SpreadsheetCredentials) -> None:
        self.settings = settings
        self.credentials = credentials
        self.full_snapshot = True
        self.snapshot_at: datetime | None = None
        self.known_file: dict[str, Any] | None = None  # the engine's memory of the file applied last
        self.file_info: dict[str, Any] | None = None  # the file this read used
        self.warnings: list[str] = []
        # URL files on loopback or private networks are refused unless the operator allows them; set where the
        # connector is built, from Settings.allow_private_source_urls (core.netguard.apply_policy)
        self.allow_private_urls = False

    async def test_connection(self) -> str:
        """Reaches the file and reads its header; says exactly what is wrong when it cannot."""
        if self.settings.transport == "sftp":
            return await self._test_sftp()
        local = await self._get(None)
        assert local is not None
        try:
            columns = await asyncio.to_thread(self._describe_columns, local)
        finally:
            local.discard()
        return f"Read '{local.name}' ({_size(local.size)}): {columns}."

    async def _test_sftp(self) -> str:
        drop = SftpDrop(self.settings, self.credentials)
        listing = await drop.describe()
        key = "" if self.settings.sftp_host_key else f" Host key (pin it in the settings): {listing.host_key}."
        if listing.newest is None:
            return (
                f"Connected to {drop.where()}; no file matches '{self.settings.sftp_pattern}' in "
                f"'{self.settings.sftp_directory}' yet.{key}"
            )
        local = await drop.fetch(None)
        assert local is not None
        try:
            columns = await asyncio.to_thread(self._describe_columns, local)
        finally:
            local.discard()
        return (
            f"Connected to {drop.where()}: {listing.matching} matching file(s); the newest, '{local.name}' "
            f"({_size(local.size)}), has {columns}.{key}"
        )

    def _describe_columns(self, local: LocalFile) -> str:
        with open_table(local.path, self.settings) as table:
            found = resolve_columns(table.header, self.settings.columns, table.header_row)
            parts = [f"SKU from '{found.header(found.sku)}'"]
            for label, position in (
                ("quantity", found.quantity),
                ("on hand", found.on_hand),
                ("reserved", found.reserved),
                ("location", found.location),
                ("name", found.name),
            ):
                if position is not None:
                    parts.append(f"{label} from '{found.header(position)}'")
            return ", ".join(parts)

    async def fetch_levels(self, cursor: LevelsCursor) -> AsyncIterator[LevelsPage]:
        """The whole file, page by page. The cursor is not used: a file is always read whole."""
        started = utcnow()
        self.full_snapshot, self.snapshot_at, self.file_info, self.warnings = True, None, None, []
        if self.settings.transport == "upload" and not self.settings.upload_file:
            self.full_snapshot = False  # nothing to read yet: not an error, the merchant has not uploaded
            self.warnings = ["No file has been uploaded to this source yet."]
            return
        local = await self._get(self.known_file)
        if local is None or _same_content(self.known_file, local):
            self.full_snapshot = False  # unchanged since it was applied: nothing to do
            if local is not None:  # the same content under a new name or time: remember this one
                self.file_info = local.fingerprint()
                local.discard()
            return
        self.snapshot_at = min(local.modified_at, started) if local.modified_at else started
        warnings = Warnings()
        pages = _pages(local, self.settings, warnings)
        try:
            while (levels := await asyncio.to_thread(next, pages, None)) is not None:
                yield LevelsPage(LevelRows(levels))  # tuples, not a million objects: see LevelRows
            self.file_info = local.fingerprint()
            self.warnings = warnings.as_list()
        finally:
            # closes the file when the engine stops reading early; a page still being parsed in its thread
            # ("generator already executing") closes it when it ends
            with contextlib.suppress(ValueError):
                pages.close()
            local.discard()

    async def _get(self, known: dict[str, Any] | None) -> LocalFile | None:
        transport = self.settings.transport
        if transport == "upload":
            return await asyncio.to_thread(uploaded_file, self.settings)
        if transport == "url":
            return await download(self.settings, self.credentials, allow_private=self.allow_private_urls)
        return await SftpDrop(self.settings, self.credentials).fetch(known)

    async def aclose(self) -> None:
        return None


def _pages(
    local: LocalFile, settings: SpreadsheetSettings, warnings: Warnings
) -> Generator[list[LevelRow], None, None]:
    with open_table(local.path, settings) as table:
        yield from level_pages(table, settings, warnings)


def _same_content(known: dict[str, Any] | None, local: LocalFile) -> bool:
    return bool(known and known.get("sha256") == local.sha256)


def _size(size: int) -> str:
    return f"{size / MIB:.1f} MB" if size >= MIB else f"{size:,} bytes"
