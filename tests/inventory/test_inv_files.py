"""The spreadsheet connector's reading rules: encodings, delimiters, SKUs as text, numbers, odd rows,
XLSX, and bad files refused with the row and column at fault."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fenicia.connectors.base import LevelsCursor, StockLevel
from fenicia.connectors.spreadsheet import SpreadsheetConnector, SpreadsheetCredentials, SpreadsheetSettings
from fenicia.connectors.spreadsheet.google import normalize_sheet_url
from fenicia.core.errors import ValidationFailed


def read(tmp_path: Path, content: bytes, name: str = "f.csv", **settings: Any) -> SpreadsheetConnector:
    folder = tmp_path / "1" / "1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    model = SpreadsheetSettings(upload_file=f"1/1/{name}", files_root=str(tmp_path), **settings)
    connector = SpreadsheetConnector(model, SpreadsheetCredentials())

    async def consume() -> list[StockLevel]:
        return [level async for page in connector.fetch_levels(LevelsCursor()) for level in page.levels]

    connector.levels = asyncio.run(consume())  # type: ignore[attr-defined]
    return connector


def rows(connector: SpreadsheetConnector) -> list[tuple[str, int, str | None]]:
    return [(lv.code, lv.available, lv.location) for lv in connector.levels]  # type: ignore[attr-defined]


def refused(tmp_path: Path, content: bytes, **settings: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        read(tmp_path, content, **settings)
    return caught.value


TEXT = "SKU;Name;Stock\n00123;Café crème;7\nB-2;Thé;0\n"


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("utf-8", TEXT.encode("utf-8")),
        ("utf-8 with BOM", TEXT.encode("utf-8-sig")),
        ("utf-16 with BOM", TEXT.encode("utf-16")),
        ("utf-16-le without BOM", TEXT.encode("utf-16-le")),
        ("windows-1252", TEXT.encode("cp1252")),
    ],
)
def test_encodings_are_detected_and_names_survive(tmp_path: Path, label: str, data: bytes) -> None:
    connector = read(tmp_path, data)
    assert rows(connector) == [("00123", 7, None), ("B-2", 0, None)], label
    assert [lv.name for lv in connector.levels] == ["Café crème", "Thé"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    content = delimiter.join(["Item code", "Warehouse", "Qty"]) + "\n" + delimiter.join(["A-1", "WH1", "4"]) + "\n"
    content += delimiter.join(['"B, 2"', "WH2", "5"]) + "\n"
    assert rows(read(tmp_path, content.encode())) == [("A-1", 4, "WH1"), ("B, 2", 5, "WH2")]


def test_skus_stay_text_and_shortened_numbers_are_flagged(tmp_path: Path) -> None:
    content = 'sku,qty\n00123,1\n="000777",2\n1.23457E+12,3\n 0042 ,4\n'
    connector = read(tmp_path, content.encode())
    assert [code for code, _, _ in rows(connector)] == ["00123", "000777", "1.23457E+12", "0042"]
    assert any("1.23457E+12" in w and "Excel" in w for w in connector.warnings)


def test_numbers_decimal_comma_thousands_and_negatives(tmp_path: Path) -> None:
    content = "SKU;Qty\nA;1.234\nB;12,0\nC;12,7\nD;-3\nE;1 200\nF;2.500,00\nG;(4)\n"
    connector = read(tmp_path, content.encode())
    assert [q for _, q, _ in rows(connector)] == [1234, 12, 12, 0, 1200, 2500, 0]
    assert any("Row 4" in w and "rounded down" in w for w in connector.warnings)
    assert any("Row 5" in w and "read as 0" in w for w in connector.warnings)


def test_blank_total_and_note_rows_are_ignored(tmp_path: Path) -> None:
    content = "SKU,Qty\nA,1\n,,\n\nTotal,1\n,99\nB,2\n"
    connector = read(tmp_path, content.encode())
    assert rows(connector) == [("A", 1, None), ("B", 2, None)]
    assert any("Row 5" in w for w in connector.warnings) and any("Row 6" in w for w in connector.warnings)


def test_on_hand_minus_reserved_and_explicit_columns(tmp_path: Path) -> None:
    content = "Article;Physical;Allocated;Free\nA;10;3;99\nB;2;5;99\n"
    connector = read(
        tmp_path,
        content.encode(),
        columns={"sku": "Article", "quantity": "Physical", "reserved": "Allocated"},
        quantity_basis="on_hand",
    )
    levels = connector.levels  # type: ignore[attr-defined]
    assert [(lv.available, lv.on_hand, lv.reserved) for lv in levels] == [(7, 10, 3), (0, 2, 5)]


def test_header_row_below_a_title(tmp_path: Path) -> None:
    content = "Stock export 2026-11-20\n\nSKU,Qty\nA,5\n"
    assert rows(read(tmp_path, content.encode(), header_row=3)) == [("A", 5, None)]


def test_duplicates_are_refused_naming_the_row_when_asked(tmp_path: Path) -> None:
    content = "SKU,Warehouse,Qty\nA,W1,1\nA,W2,2\nA,W1,3\n"
    error = refused(tmp_path, content.encode(), duplicates="error")
    assert "Row 4" in error.message and "'A'" in error.message and "W1" in error.message
    assert len(rows(read(tmp_path, content.encode(), name="g.csv"))) == 3  # "sum": every row goes to the engine


def test_empty_quantity_policies(tmp_path: Path) -> None:
    content = b"SKU,Qty\nA,\nB,2\n"
    error = refused(tmp_path, content)
    assert "Row 2" in error.message and "'Qty'" in error.message
    assert rows(read(tmp_path, content, name="z.csv", empty_quantity="zero")) == [("A", 0, None), ("B", 2, None)]
    assert rows(read(tmp_path, content, name="s.csv", empty_quantity="skip")) == [("B", 2, None)]


def test_non_numeric_quantity_names_row_and_column(tmp_path: Path) -> None:
    content = "SKU,Name,Qty\n" + "".join(f"S{i},n,{i}\n" for i in range(1, 40)) + "S40,n,ten\n"
    error = refused(tmp_path, content.encode(), page_size=100)
    assert error.message == "Row 41, column 'Qty': 'ten' is not a number."
    assert error.details == {"row": 41, "column": "Qty"}
    assert "nothing was applied" in error.resolution.lower()


def test_missing_columns_say_what_the_file_has(tmp_path: Path) -> None:
    error = refused(tmp_path, b"Code,Description\nA,x\n")
    assert "No quantity column" in error.message and "'Code', 'Description'" in error.message
    named = refused(tmp_path, b"SKU,Qty\nA,1\n", columns={"quantity": "Stock"})
    assert "no column 'Stock'" in named.message


def test_wrong_encoding_names_the_row(tmp_path: Path) -> None:
    content = "SKU,Qty\nA,1\nÉ-2,2\n".encode("cp1252")
    error = refused(tmp_path, content, encoding="utf-8")
    assert error.message.startswith("Row 3 is not valid UTF-8")
    garbage = b"SKU,Qty\nA,1\nB,2\n\x81\x8d,3\n"  # bytes that are neither UTF-8 nor Windows-1252
    assert refused(tmp_path, garbage).message.startswith("Row 4 is neither UTF-8 nor Windows-1252")


def test_old_xls_and_web_pages_are_refused(tmp_path: Path) -> None:
    assert ".xls" in refused(tmp_path, b"\xd0\xcf\x11\xe0" + b"\0" * 600).message
    assert "web page" in refused(tmp_path, b"<!DOCTYPE html><html></html>").message


def test_xlsx_numbers_as_skus_formats_and_sheets(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Notes"
    first.append(["nothing here"])
    sheet = book.create_sheet("Stock")
    sheet.append(["EAN", "Warehouse", "Quantity"])
    sheet.append([4006381333931, "W1", 5])
    sheet.append([123, "W1", 7.0])
    sheet["A3"].number_format = "000000"
    sheet.append([None, None, None])
    sheet.append(["X-1", "W2", 2.5])
    path = tmp_path / "book.xlsx"
    book.save(path)
    connector = read(tmp_path, path.read_bytes(), name="book.xlsx", sheet="Stock")
    assert rows(connector) == [("4006381333931", 5, "W1"), ("000123", 7, "W1"), ("X-1", 2, "W2")]
    assert refused(tmp_path, path.read_bytes(), sheet="Inventory").message.startswith("The workbook has no sheet")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/edit#gid=123",
            "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/export?format=csv&gid=123",
        ),
        (
            "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/edit?usp=sharing",
            "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/export?format=csv",
        ),
        (
            "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/export?format=xlsx&gid=9",
            "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/export?format=xlsx&gid=9",
        ),
        (
            "https://docs.google.com/spreadsheets/d/e/2PACX-1vQxyz123456/pubhtml?gid=5",
            "https://docs.google.com/spreadsheets/d/e/2PACX-1vQxyz123456/pub?gid=5&single=true&output=csv",
        ),
        ("https://files.example.com/stock.csv?x=1", "https://files.example.com/stock.csv?x=1"),
    ],
)
def test_google_sheets_links_become_their_csv_export(given: str, expected: str) -> None:
    assert normalize_sheet_url(given) == expected


def test_a_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        normalize_sheet_url("ftp://example.com/stock.csv")
