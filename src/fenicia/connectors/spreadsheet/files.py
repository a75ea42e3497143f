"""Getting the file to read onto local disk: an upload already there, or a download (HTTP(S)).

Every transport ends with a ``LocalFile``: a path plus the file's fingerprint (name, size, modification
time, SHA-256). The engine remembers the fingerprint of the last file it applied, so a scheduled read of
an unchanged file is skipped instead of re-imported. Downloads stream to a temporary file with a size
limit; nothing is held in memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from fenicia.connectors.spreadsheet.settings import SpreadsheetCredentials, SpreadsheetSettings
from fenicia.core import netguard
from fenicia.core.clock import as_utc, parse_iso
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

CHUNK_BYTES = 256 * 1024
DOWNLOADS_DIR = ".downloads"
USER_AGENT = "Fenicia stock import"
SHARE_HINT = "For a Google Sheet, share it with 'Anyone with the link' (or publish it to the web)."


@dataclass
class LocalFile:
    path: Path
    name: str
    size: int
    sha256: str
    modified_at: datetime | None
    temporary: bool

    def fingerprint(self) -> dict[str, Any]:
        modified = self.modified_at.isoformat() if self.modified_at else None
        return {"name": self.name, "size": self.size, "sha256": self.sha256, "modified_at": modified}

    def discard(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def same_file(known: dict[str, Any] | None, name: str, size: int, modified_at: datetime | None) -> bool:
    """True when name, size and modification time all match the file applied last."""
    if not known or modified_at is None or known.get("modified_at") is None:
        return False
    same_time = parse_iso(str(known["modified_at"])) == as_utc(modified_at)
    return bool(known.get("name") == name and known.get("size") == size and same_time)


def work_dir(settings: SpreadsheetSettings) -> Path | None:
    if settings.files_root is None:
        return None
    folder = Path(settings.files_root) / DOWNLOADS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def too_large(limit: int) -> ValidationFailed:
    return ValidationFailed(
        f"The file is larger than this source's limit of {limit // (1024 * 1024)} MB.",
        resolution="Raise 'max_file_bytes' in the source's settings, or split the file. Nothing was applied.",
    )


class HashingWriter:
    """A temporary file that hashes and counts what is written, refusing more than ``limit`` bytes."""

    def __init__(self, folder: Path | None, limit: int, suffix: str = "") -> None:
        fd, name = tempfile.mkstemp(prefix="fenicia-", suffix=suffix, dir=folder)
        self.path = Path(name)
        self._handle = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        self.limit = limit

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise too_large(self.limit)
        self._hash.update(chunk)
        self._handle.write(chunk)

    def close(self) -> str:
        self._handle.close()
        return self._hash.hexdigest()

    def abandon(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)


# --- upload ------------------------------------------------------------------------------------------


def uploaded_file(settings: SpreadsheetSettings) -> LocalFile:
    """The file last uploaded to this source, kept under the data directory."""
    if not settings.upload_file:
        raise ConfigError(
            "No file has been uploaded to this source yet.",
            resolution="Upload a CSV or XLSX file to the source, then sync it.",
        )
    root = Path(settings.files_root or ".").resolve()
    path = (root / settings.upload_file).resolve()
    if root not in path.parents or not path.is_file():
        raise ConfigError(
            f"The uploaded file '{settings.upload_name or settings.upload_file}' is no longer in the data directory.",
            resolution="Upload the file again.",
        )
    size = path.stat().st_size
    sha = settings.upload_sha256 or sha256_of(path)
    return LocalFile(path, settings.upload_name or path.name, size, sha, settings.uploaded_at, temporary=False)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# --- HTTP(S) -----------------------------------------------------------------------------------------


def _auth(credentials: SpreadsheetCredentials) -> tuple[httpx.Auth | None, dict[str, str]]:
    headers = {"User-Agent": USER_AGENT}
    if credentials.http_bearer_token is not None:
        headers["Authorization"] = f"Bearer {credentials.http_bearer_token.get_secret_value()}"
        return None, headers
    if credentials.http_username and credentials.http_password is not None:
        return httpx.BasicAuth(credentials.http_username, credentials.http_password.get_secret_value()), headers
    return None, headers


async def download(
    settings: SpreadsheetSettings, credentials: SpreadsheetCredentials, *, allow_private: bool = False
) -> LocalFile:
    """GETs ``settings.url`` into a temporary file; errors are mapped by :func:`url_error`. The address and
    every redirect must be public unless ``allow_private`` (the operator's choice, see ``core.netguard``)."""
    assert settings.url is not None
    auth, headers = _auth(credentials)
    writer = HashingWriter(work_dir(settings), settings.max_file_bytes)
    guard = netguard.transport(allow_private)
    try:
        async with (
            httpx.AsyncClient(
                timeout=settings.timeout_seconds, follow_redirects=True, headers=headers, transport=guard
            ) as client,
            client.stream("GET", settings.url, auth=auth or httpx.USE_CLIENT_DEFAULT) as response,
        ):
            check_response(response, settings.url)
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                writer.write(chunk)
            name = file_name(response, settings.url)
            modified = last_modified(response)
    except FeniciaError:
        writer.abandon()
        raise
    except Exception as exc:
        writer.abandon()
        raise url_error(exc, settings.url) from exc
    sha = writer.close()
    return LocalFile(writer.path, name, writer.size, sha, modified, temporary=True)


def check_response(response: httpx.Response, url: str) -> None:
    if response.status_code >= 400:
        raise url_error(response, url)
    if "text/html" in response.headers.get("content-type", ""):
        raise AuthError(
            f"{_host(url)} answered with a web page (a sign-in page?) instead of the file.",
            resolution=f"Check that the address points at the file itself. {SHARE_HINT}",
        )


def url_error(outcome: httpx.Response | Exception, url: str) -> FeniciaError:
    """The one mapping of HTTP answers and transport failures to the Fenicia error taxonomy."""
    host = _host(url)
    if isinstance(outcome, Exception):
        if isinstance(outcome, httpx.TimeoutException):
            return TransientError(f"{host} did not send the file in time ({type(outcome).__name__}).")
        if isinstance(outcome, httpx.ConnectError):
            return TransientError(f"Could not connect to {host} ({outcome}).")
        if isinstance(outcome, httpx.HTTPError):
            return TransientError(f"Network error while downloading from {host} ({type(outcome).__name__}).")
        return ConnectorError(f"Unexpected error while downloading from {host} ({type(outcome).__name__}).")
    status = outcome.status_code
    if status in (401, 403):
        return AuthError(
            f"{host} refused access to the file ({status}).",
            resolution=f"Check the username and password or token in the source's credentials. {SHARE_HINT}",
            status=status,
        )
    if status in (404, 410):
        return ConfigError(f"There is no file at {url} ({status}).", resolution="Check the file's address.")
    if status == 429:
        return RateLimitedError(f"{host} asked to slow down (429).", retry_after=retry_after_of(outcome))
    if status >= 500:
        return TransientError(f"{host} answered {status}.", retry_after=retry_after_of(outcome), status=status)
    return ConfigError(f"{host} refused the request ({status}).", resolution="Check the file's address.")


def retry_after_of(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((as_utc(when) - as_utc(datetime.now(when.tzinfo))).total_seconds(), 0.0)


def last_modified(response: httpx.Response) -> datetime | None:
    value = response.headers.get("last-modified")
    if not value:
        return None
    try:
        return as_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return None


def file_name(response: httpx.Response, url: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return str(value.strip('"'))
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or _host(url)


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
