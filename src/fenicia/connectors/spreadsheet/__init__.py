"""Spreadsheets as an inventory source: CSV or XLSX by upload, from an HTTP(S) URL (Google Sheets links
included) or from an SFTP drop folder, with column mapping and delimiter/encoding detection."""

from __future__ import annotations

from pydantic import BaseModel

from fenicia.connectors.base import SourceSpec
from fenicia.connectors.spreadsheet.connector import SpreadsheetConnector
from fenicia.connectors.spreadsheet.settings import SpreadsheetCredentials, SpreadsheetSettings
from fenicia.core.errors import ConfigError


def build(settings: BaseModel, credentials: BaseModel) -> SpreadsheetConnector:
    """A connector for one stock file source; the registry passes the models named in ``SOURCE_SPEC``."""
    if not isinstance(settings, SpreadsheetSettings):
        raise ConfigError("Spreadsheet settings are of the wrong type")
    if not isinstance(credentials, SpreadsheetCredentials):
        raise ConfigError("Spreadsheet credentials are of the wrong type")
    if settings.transport == "sftp" and credentials.sftp_password is None and credentials.sftp_private_key is None:
        raise ConfigError(
            "An SFTP source needs a password or a private key.",
            resolution="Add 'sftp_password' or 'sftp_private_key' to the credentials.",
        )
    return SpreadsheetConnector(settings, credentials)


SOURCE_SPEC = SourceSpec(
    key="spreadsheet",
    display_name="Spreadsheet (CSV, XLSX, Google Sheets, SFTP)",
    kind="spreadsheet",
    settings_model=SpreadsheetSettings,
    credentials_model=SpreadsheetCredentials,
    supports_delta=False,
    build=build,
)

__all__ = ["SOURCE_SPEC", "SpreadsheetConnector", "SpreadsheetCredentials", "SpreadsheetSettings", "build"]
