"""A CSV or XLSX file → its header and a stream of (row number, cells), one row at a time.

Row numbers are the ones a spreadsheet shows: records, counted from 1 (a quoted CSV cell spanning two
lines is still one row). XLSX is read with openpyxl's read-only mode, which streams the sheet's XML
instead of building the whole workbook in memory; a number cell with a "00000" format is returned as
the zero-padded text the merchant sees.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from openpyxl import load_workbook
from openpyxl.cell.read_only import EmptyCell
from openpyxl.utils.exceptions import InvalidFileException

from fenicia.connectors.spreadsheet.encoding import SNIFF_LINES, detect_encoding, sniff_delimiter
from fenicia.connectors.spreadsheet.settings import SpreadsheetSettings
from fenicia.connectors.spreadsheet.values import ZERO_FORMAT
from fenicia.core.errors import ValidationFailed

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (Excel 97-2003)
HTML_STARTS = (b"<!doctype html", b"<html")
NOTHING_APPLIED = "Nothing was applied."

RawRow = tuple[int, Sequence[Any]]


@dataclass
class Table:
    kind: str  # "csv" | "xlsx"
    header: list[str]
    header_row: int
    rows: Iterator[RawRow]  # data rows after the header
    encoding: str | None = None
    delimiter: str | None = None


def detect_format(path: Path, declared: str) -> str:
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(OLE_MAGIC):
        raise ValidationFailed(
            "This is an old Excel 97-2003 (.xls) file, which Fenicia does not read.",
            resolution=f"Save it as .xlsx or CSV and send it again. {NOTHING_APPLIED}",
        )
    if declared != "auto":
        return declared
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.lstrip().lower().startswith(HTML_STARTS):
        raise ValidationFailed(
            "The file is a web page, not a spreadsheet.",
            resolution="Use the address of the file itself (for Google Sheets: share the sheet with "
            f"'Anyone with the link'). {NOTHING_APPLIED}",
        )
    return "csv"


@contextmanager
def open_table(path: Path, settings: SpreadsheetSettings) -> Iterator[Table]:
    kind = detect_format(path, settings.file_format)
    if kind == "xlsx":
        with _xlsx_table(path, settings) as table:
            yield table
    else:
        with _csv_table(path, settings) as table:
            yield table


# --- CSV ---------------------------------------------------------------------------------------------


@contextmanager
def _csv_table(path: Path, settings: SpreadsheetSettings) -> Iterator[Table]:
    encoding = detect_encoding(path, settings.encoding)
    with path.open("r", encoding=encoding, newline="") as handle:
        delimiter: str = settings.delimiter
        if delimiter == "auto":
            delimiter = sniff_delimiter(_head_lines(handle, settings.header_row))
            handle.seek(0)
        records = _records(csv.reader(handle, delimiter=delimiter, quotechar='"', strict=False))
        header = _header(records, settings.header_row)
        yield Table("csv", header, settings.header_row, records, encoding, delimiter)


def _head_lines(handle: TextIO, header_row: int) -> list[str]:
    lines: list[str] = []
    for number, line in enumerate(handle, start=1):
        if number >= header_row:
            lines.append(line)
        if len(lines) >= SNIFF_LINES:
            break
    return lines


def _records(reader: Iterator[list[str]]) -> Iterator[RawRow]:
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as exc:
        raise ValidationFailed(
            f"Row {number + 1} cannot be read as CSV ({exc}).",
            resolution=f"Fix the row (a stray quote or a NUL byte?) and send the file again. {NOTHING_APPLIED}",
            row=number + 1,
        ) from exc


def _header(records: Iterator[RawRow], header_row: int) -> list[str]:
    for number, cells in records:
        if number == header_row:
            return [str(c) if c is not None else "" for c in cells]
    raise ValidationFailed(
        f"The file ends before row {header_row}, where the header should be.",
        resolution=f"Send the complete file, or set the header row number. {NOTHING_APPLIED}",
        row=header_row,
    )


# --- XLSX --------------------------------------------------------------------------------------------


@contextmanager
def _xlsx_table(path: Path, settings: SpreadsheetSettings) -> Iterator[Table]:
    # A file object, not the path: openpyxl refuses paths whose extension is not .xlsx, and a download
    # or an upload named .csv may well be a workbook.
    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise ValidationFailed(
                f"The file is not a readable XLSX workbook ({type(exc).__name__}).",
                resolution="Open it in Excel or LibreOffice, save it as .xlsx or CSV, and send it again. "
                + NOTHING_APPLIED,
            ) from exc
        try:
            sheet = _sheet(workbook, settings.sheet)
            records = _xlsx_records(sheet.iter_rows())
            header = _header(records, settings.header_row)
            yield Table("xlsx", header, settings.header_row, records)
        finally:
            workbook.close()


def _sheet(workbook: Any, name: str | None) -> Any:
    if name is None:
        return workbook.worksheets[0]
    if name in workbook.sheetnames:
        return workbook[name]
    listed = ", ".join(f"'{n}'" for n in workbook.sheetnames)
    raise ValidationFailed(
        f"The workbook has no sheet '{name}'; it has {listed}.",
        resolution=f"Set 'sheet' to one of them. {NOTHING_APPLIED}",
    )


def _xlsx_records(rows: Iterator[tuple[Any, ...]]) -> Iterator[RawRow]:
    for number, cells in enumerate(rows, start=1):
        yield number, [_cell_value(cell) for cell in cells]


def _cell_value(cell: Any) -> Any:
    if isinstance(cell, EmptyCell):
        return None
    value = cell.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number_format = getattr(cell, "number_format", None)
        if number_format and ZERO_FORMAT.match(number_format) and value == int(value):
            return str(int(value)).zfill(len(number_format))
    return value
