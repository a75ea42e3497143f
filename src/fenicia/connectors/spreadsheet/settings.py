"""Settings and credentials of one spreadsheet source: a CSV or XLSX file by upload, URL or SFTP drop.

Everything the reference marks as a practical rule rather than a standard (delimiters, encodings, the
decimal separator, duplicate rows, empty quantities) is a setting with a sensible default, so a
merchant's odd file is handled by changing a setting, not the code.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from fenicia.connectors.spreadsheet.google import normalize_sheet_url

Transport = Literal["upload", "url", "sftp"]
FileFormat = Literal["auto", "csv", "xlsx"]
Delimiter = Literal["auto", ",", ";", "\t", "|"]
DecimalSeparator = Literal["auto", ".", ","]
Duplicates = Literal["sum", "error"]
EmptyQuantity = Literal["error", "zero", "skip"]
Basis = Literal["available", "on_hand"]

DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024
UPLOAD_FILE_PATTERN = re.compile(r"^\d+/\d+/[A-Za-z0-9][A-Za-z0-9._-]*$")


class ColumnMapping(BaseModel):
    """Which header names which field. ``None``: found by its header (SKU, Qty, Warehouse, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str | None = Field(None, description="Header of the code column (SKU, item code, EAN...).")
    quantity: str | None = Field(None, description="Header of the quantity column.")
    location: str | None = Field(None, description="Header of the warehouse/location column, if any.")
    name: str | None = Field(None, description="Header of the product name column, if any.")
    on_hand: str | None = Field(None, description="Header of an on-hand column, if any.")
    reserved: str | None = Field(None, description="Header of a reserved/allocated column, if any.")
    auto_match: bool = Field(True, description="Also pick optional columns (location, name...) by header name.")


class SpreadsheetSettings(BaseModel):
    """Non-secret parameters of a spreadsheet source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Transport = Field("upload", description="upload: files sent to Fenicia; url: HTTP(S); sftp: a drop.")
    url: str | None = Field(None, description="HTTP(S) address of the file; Google Sheets links are accepted.")
    sftp_host: str | None = Field(None, description="SFTP server host name.")
    sftp_port: int = Field(22, ge=1, le=65535)
    sftp_username: str | None = None
    sftp_directory: str = Field(".", description="Folder the files are dropped in.")
    sftp_pattern: str = Field("*.csv", description="Glob of the file names to read; the newest match wins.")
    sftp_host_key: str | None = Field(
        None, description="The server's public host key ('ssh-ed25519 AAAA...'); 'Test connection' shows it."
    )
    file_format: FileFormat = Field("auto", description="auto: XLSX when the file is a zip, else CSV.")
    sheet: str | None = Field(None, description="XLSX: the sheet's name; default the first sheet.")
    header_row: int = Field(1, ge=1, le=1000, description="Row number of the header; rows above are ignored.")
    delimiter: Delimiter = Field("auto", description="CSV delimiter; auto picks among , ; tab |.")
    encoding: str = Field("auto", description="auto: BOM, then UTF-8, then Windows-1252.")
    decimal_separator: DecimalSeparator = Field(
        "auto", description="auto: the last of '.'/',' is decimal; one separator before 3 digits is thousands."
    )
    columns: ColumnMapping = Field(default_factory=ColumnMapping)
    quantity_basis: Basis = Field(
        "available", description="What the quantity column means: available to sell, or on hand (minus reserved)."
    )
    duplicates: Duplicates = Field("sum", description="Rows repeating a SKU at one location: add up, or refuse.")
    empty_quantity: EmptyQuantity = Field("error", description="A row with a SKU and no quantity.")
    page_size: int = Field(5000, ge=100, le=50_000, description="Rows handed to the engine at a time.")
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, ge=1024, description="Larger files are refused.")
    timeout_seconds: float = Field(60.0, gt=0, le=600)
    upload_file: str | None = Field(None, description="Set by Fenicia when a file is uploaded.")
    upload_name: str | None = Field(None, description="The uploaded file's own name.")
    upload_sha256: str | None = None
    upload_size: int | None = None
    uploaded_at: datetime | None = None
    files_root: str | None = Field(None, exclude=True, description="Runtime only: where uploads are kept.")

    @field_validator("url")
    @classmethod
    def _normalize_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return normalize_sheet_url(value)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        text = value.strip().lower()
        if text != "auto":
            try:
                codecs.lookup(text)
            except LookupError as exc:
                raise ValueError(f"unknown encoding {value!r} (try utf-8, utf-16 or cp1252)") from exc
        return text

    @field_validator("upload_file")
    @classmethod
    def _safe_upload_path(cls, value: str | None) -> str | None:
        if value is not None and not UPLOAD_FILE_PATTERN.fullmatch(value):
            raise ValueError("is set by Fenicia when a file is uploaded")
        return value

    @model_validator(mode="after")
    def _transport_needs(self) -> SpreadsheetSettings:
        if self.transport == "url" and not self.url:
            raise ValueError("transport 'url' needs 'url', the file's address")
        if self.transport == "sftp" and not (self.sftp_host and self.sftp_username):
            raise ValueError("transport 'sftp' needs 'sftp_host' and 'sftp_username'")
        return self


class SpreadsheetCredentials(BaseModel):
    """Secrets: SFTP password or private key; optional HTTP basic auth or bearer token for URLs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sftp_password: SecretStr | None = None
    sftp_private_key: SecretStr | None = Field(None, description="OpenSSH private key (PEM text).")
    sftp_key_passphrase: SecretStr | None = None
    http_username: str | None = None
    http_password: SecretStr | None = None
    http_bearer_token: SecretStr | None = None
