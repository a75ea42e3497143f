"""An SFTP drop folder: the newest file whose name matches a glob, downloaded unless already applied.

The fingerprint check happens before the download: a file with the same name, size and modification
time as the one applied last is not fetched again; after a download, the SHA-256 catches the same
content re-uploaded under a new name. The server's host key is pinned when ``sftp_host_key`` is set;
without it any key is accepted and "Test connection" shows the key to pin.
"""

from __future__ import annotations

import asyncio
import posixpath
import socket
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import asyncssh

from fenicia.connectors.spreadsheet.files import CHUNK_BYTES, HashingWriter, LocalFile, same_file, work_dir
from fenicia.connectors.spreadsheet.settings import SpreadsheetCredentials, SpreadsheetSettings
from fenicia.core.errors import AuthError, ConfigError, ConnectorError, FeniciaError, TransientError

CHECK_CREDENTIALS = "Check the SFTP username, password or private key in the source's credentials."


@dataclass(frozen=True)
class RemoteFile:
    path: str
    name: str
    size: int
    modified_at: datetime


@dataclass(frozen=True)
class Listing:
    newest: RemoteFile | None
    matching: int
    host_key: str | None  # the server's public key, OpenSSH format


class SftpDrop:
    def __init__(self, settings: SpreadsheetSettings, credentials: SpreadsheetCredentials) -> None:
        self.settings = settings
        self.credentials = credentials

    def where(self) -> str:
        s = self.settings
        return f"{s.sftp_username}@{s.sftp_host}:{s.sftp_port}"

    async def describe(self) -> Listing:
        async with self._session() as (conn, sftp):
            newest, matching = await self._newest(sftp)
            key = conn.get_server_host_key()
            return Listing(newest, matching, key.export_public_key().decode().strip() if key else None)

    async def fetch(self, known: dict[str, Any] | None) -> LocalFile | None:
        """The newest matching file on local disk; None when it is the one applied last (or none matches
        after an earlier import: the sender may clean the folder)."""
        async with self._session() as (_conn, sftp):
            newest, _ = await self._newest(sftp)
            if newest is None:
                if known:
                    return None
                raise ConfigError(
                    f"No file matching '{self.settings.sftp_pattern}' in '{self.settings.sftp_directory}' "
                    f"on {self.settings.sftp_host}.",
                    resolution="Check the folder and the file name pattern, or wait for the first file.",
                )
            if same_file(known, newest.name, newest.size, newest.modified_at):
                return None
            return await self._download(sftp, newest)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[tuple[Any, Any]]:
        try:
            async with (
                asyncssh.connect(**self._options()) as conn,
                conn.start_sftp_client() as sftp,
            ):
                yield conn, sftp
        except FeniciaError:
            raise
        except Exception as exc:
            raise sftp_error(exc, self.where(), self.settings.sftp_directory) from exc

    def _options(self) -> dict[str, Any]:
        s, c = self.settings, self.credentials
        options: dict[str, Any] = {
            "host": s.sftp_host,
            "port": s.sftp_port,
            "username": s.sftp_username,
            "password": c.sftp_password.get_secret_value() if c.sftp_password else None,
            "client_keys": [self._private_key()] if c.sftp_private_key else None,
            "agent_path": None,
            "config": None,
            "known_hosts": self._known_hosts(),
            "connect_timeout": s.timeout_seconds,
            "login_timeout": s.timeout_seconds,
        }
        return options

    def _private_key(self) -> Any:
        c = self.credentials
        assert c.sftp_private_key is not None
        passphrase = c.sftp_key_passphrase.get_secret_value() if c.sftp_key_passphrase else None
        try:
            return asyncssh.import_private_key(c.sftp_private_key.get_secret_value(), passphrase)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise ConfigError(
                f"The SFTP private key cannot be read ({exc}).",
                resolution="Paste the whole OpenSSH private key (and its passphrase, if it has one).",
            ) from exc

    def _known_hosts(self) -> Any:
        pinned = self.settings.sftp_host_key
        if not pinned:
            return None  # not pinned: accepted, and shown by "Test connection" so it can be pinned
        try:
            return ([asyncssh.import_public_key(pinned)], [], [])
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise ConfigError(
                "The pinned SFTP host key cannot be read.",
                resolution="Paste the key as 'Test connection' shows it (e.g. 'ssh-ed25519 AAAA...').",
            ) from exc

    async def _newest(self, sftp: Any) -> tuple[RemoteFile | None, int]:
        folder, pattern = self.settings.sftp_directory, self.settings.sftp_pattern
        found: list[RemoteFile] = []
        for entry in await sftp.readdir(folder):
            attrs = entry.attrs
            if attrs.permissions is not None and not stat.S_ISREG(attrs.permissions):
                continue
            if entry.filename.startswith(".") or not fnmatchcase(entry.filename, pattern):
                continue
            modified = datetime.fromtimestamp(attrs.mtime or 0, UTC)
            path = posixpath.join(folder, entry.filename)
            found.append(RemoteFile(path, entry.filename, int(attrs.size or 0), modified))
        newest = max(found, key=lambda f: (f.modified_at, f.name), default=None)
        return newest, len(found)

    async def _download(self, sftp: Any, remote: RemoteFile) -> LocalFile:
        suffix = posixpath.splitext(remote.name)[1]
        writer = HashingWriter(work_dir(self.settings), self.settings.max_file_bytes, suffix=suffix)
        try:
            async with sftp.open(remote.path, "rb") as handle:
                while chunk := await handle.read(CHUNK_BYTES):
                    writer.write(chunk)
        except BaseException:
            writer.abandon()
            raise
        sha = writer.close()
        return LocalFile(writer.path, remote.name, writer.size, sha, remote.modified_at, temporary=True)


def sftp_error(exc: BaseException, where: str, folder: str) -> FeniciaError:
    """The one mapping of SSH/SFTP failures to the Fenicia error taxonomy."""
    if isinstance(exc, asyncssh.PermissionDenied):
        return AuthError(f"The SFTP server {where} refused the login.", resolution=CHECK_CREDENTIALS)
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return ConfigError(
            f"The SFTP server {where} presented a host key that does not match the pinned one.",
            resolution="If the server's key really changed, paste the new key (see 'Test connection'); "
            "otherwise someone may be intercepting the connection.",
        )
    if isinstance(exc, asyncssh.SFTPNoSuchFile):
        return ConfigError(f"The folder '{folder}' does not exist on {where}.", resolution="Check the folder.")
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return AuthError(f"{where} does not let this user read '{folder}'.", resolution=CHECK_CREDENTIALS)
    if isinstance(exc, socket.gaierror):
        return TransientError(f"The SFTP host of {where} cannot be found ({exc.strerror}).")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TransientError(f"The SFTP server {where} did not answer in time.")
    if isinstance(exc, OSError | asyncssh.DisconnectError | asyncssh.ConnectionLost):
        return TransientError(f"Could not talk to the SFTP server {where} ({exc}).")
    if isinstance(exc, asyncssh.SFTPError):
        return TransientError(f"The SFTP server {where} failed ({exc}).")
    return ConnectorError(f"Unexpected error talking to the SFTP server {where} ({type(exc).__name__}).")
