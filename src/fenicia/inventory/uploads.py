"""Files uploaded to a spreadsheet source, kept where every later run can read them again.

Layout: ``<data_dir>/uploads/<workspace id>/<source id>/<UTC time>-<sha256 prefix>.<ext>``. The source's
settings name the current file (``upload_file``, relative to ``<data_dir>/uploads``) with its original
name, size, SHA-256 and upload time; the file before it is kept too (a run that started on it can
finish), older ones are deleted. An upload is written to a temporary name first, checked whole (read by
the source's own connector: encoding, columns, every quantity), and only then renamed and recorded, so a
bad file is answered with the row and column at fault and changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fenicia.connectors.base import LevelsCursor
from fenicia.connectors.source_registry import source_spec
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ValidationFailed
from fenicia.core.settings import Settings
from fenicia.inventory.models import InventorySource
from fenicia.inventory.services import get_source, uploads_root

UPLOAD_KIND = "spreadsheet"
KEEP_FILES = 2
HARD_LIMIT_BYTES = 1024 * 1024 * 1024
EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx")
SAFE_CHARS = re.compile(r"[^A-Za-z0-9._ -]")


@dataclass
class Incoming:
    """A file being received: written, counted and hashed chunk by chunk."""

    path: Path
    relative: str
    limit: int
    size: int = 0

    def __post_init__(self) -> None:
        self._hash = hashlib.sha256()
        self._handle = self.path.open("wb")

    def write(self, chunk: bytes) -> bool:
        """False (and nothing more written) once the file exceeds ``limit``."""
        self.size += len(chunk)
        if self.size > self.limit:
            return False
        self._hash.update(chunk)
        self._handle.write(chunk)
        return True

    def close(self) -> str:
        self._handle.close()
        return self._hash.hexdigest()

    def discard(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)


def upload_limit(source: InventorySource) -> int:
    return min(int((source.settings or {}).get("max_file_bytes") or HARD_LIMIT_BYTES), HARD_LIMIT_BYTES)


def check_accepts_uploads(source: InventorySource) -> None:
    if source.kind != UPLOAD_KIND or (source.settings or {}).get("transport", "upload") != "upload":
        raise ValidationFailed(
            "This source does not take uploaded files: it reads its file from a URL or an SFTP folder.",
            resolution="Upload to a spreadsheet source whose transport is 'upload', or change the transport.",
        )


def begin_upload(settings: Settings, source: InventorySource) -> Incoming:
    folder = Path(uploads_root(settings)) / str(source.workspace_id) / str(source.id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"incoming-{secrets.token_hex(8)}.part"
    return Incoming(folder / name, f"{source.workspace_id}/{source.id}/{name}", upload_limit(source))


async def check_file(source: InventorySource, box: SecretBox, settings: Settings, incoming: Incoming, sha: str) -> int:
    """Reads the whole received file with the source's connector; returns its row count."""
    spec = source_spec(source.kind)
    values = {**(source.settings or {}), **_upload_fields(incoming.relative, "upload", incoming.size, sha)}
    values["files_root"] = uploads_root(settings)
    connector = spec.build(
        spec.settings_model.model_validate(values),
        spec.credentials_model.model_validate(box.decrypt(source.credentials_encrypted)),
    )
    rows = 0
    try:
        async for page in connector.fetch_levels(LevelsCursor()):
            rows += len(page.levels)
    finally:
        await connector.aclose()
    return rows


def keep_upload(
    session: Session, settings: Settings, workspace_id: int, source_id: int, incoming: Incoming, sha: str, name: str
) -> InventorySource:
    """Renames the checked file to its final name and makes it the source's current file."""
    source = get_source(session, workspace_id, source_id)
    now = utcnow()
    final = incoming.path.with_name(f"{now:%Y%m%dT%H%M%S%f}-{sha[:12]}{_extension(name)}")
    os.replace(incoming.path, final)
    relative = f"{workspace_id}/{source_id}/{final.name}"
    fields = _upload_fields(relative, name, incoming.size, sha) | {"uploaded_at": now.isoformat()}
    source.settings = {**(source.settings or {}), **fields}
    source.last_file = None  # a new file is read even by a scheduled run
    _prune(final.parent, keep=KEEP_FILES)
    return source


def remove_files(settings: Settings, workspace_id: int, source_id: int) -> None:
    """A deleted source's uploaded files."""
    shutil.rmtree(Path(uploads_root(settings)) / str(workspace_id) / str(source_id), ignore_errors=True)


def _upload_fields(relative: str, name: str, size: int, sha: str) -> dict[str, Any]:
    return {"upload_file": relative, "upload_name": name, "upload_size": size, "upload_sha256": sha}


def clean_name(filename: str | None) -> str:
    base = Path(filename or "upload.csv").name
    return SAFE_CHARS.sub("_", base)[:200] or "upload.csv"


def _extension(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if suffix in EXTENSIONS else ".csv"


def _prune(folder: Path, keep: int) -> None:
    files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith("incoming-")), reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)
