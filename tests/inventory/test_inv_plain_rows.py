"""The spreadsheet reader's fast path for plain rows (``RowReader.plain``): it must read a row exactly as the
full rules (``RowReader.checked``) do, or hand it over; a bad row among plain ones still fails the whole
read, naming that row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fenicia.connectors.base import LevelsCursor
from fenicia.connectors.spreadsheet import SpreadsheetConnector, SpreadsheetCredentials, SpreadsheetSettings
from fenicia.connectors.spreadsheet.columns import resolve_columns
from fenicia.connectors.spreadsheet.stock import RowReader, Warnings
from fenicia.core.errors import ValidationFailed

LAYOUTS: dict[str, tuple[list[str], list[str], dict[str, Any]]] = {  # header, a plain row, settings
    "sku, name, quantity": (["SKU", "Name", "Qty"], ["S-1", "One", "3"], {}),
    "location, on hand and reserved beside the quantity": (
        ["SKU", "Warehouse", "Qty", "On hand", "Reserved"],
        ["S-1", "W1", "3", "4", "1"],
        {},
    ),
    "quantity on hand, minus reserved": (
        ["SKU", "Warehouse", "Qty", "Reserved"],
        ["S-1", "W1", "3", "1"],
        {"quantity_basis": "on_hand"},
    ),
    "no quantity column: on hand": (["SKU", "On hand", "Reserved"], ["S-1", "3", "5"], {}),
    "duplicates refused": (["SKU", "Warehouse", "Qty"], ["S-1", "W1", "3"], {"duplicates": "error"}),
}
CELLS: list[Any] = [
    "A-1", " A-2 ", "00123", '="000777"', "\ufeffB-1", "Total", "sum", " Summe ", "Stock-1", "1.23E+12", "12e3",
    "7", "007", "0", "", " 5", "5 ", "1,000", "+5", "-5", "\uff11\uff12", "999999999", "1000000000", "3000000000",
    "12x", "W1", " W2 ", "x" * 600, None, 4, 7.0, 2.5,
]  # fmt: skip


def _reader(header: list[str], **settings: Any) -> RowReader:
    model = SpreadsheetSettings(**settings)
    return RowReader(resolve_columns(header, model.columns, 1), model, Warnings())


def _rows(plain: list[str]) -> list[list[Any]]:
    """Every cell value in every position of a plain row; and the row cut short."""
    rows = [[*plain[:position], cell, *plain[position + 1 :]] for position in range(len(plain)) for cell in CELLS]
    return [plain, *rows, *(plain[:cut] for cut in range(len(plain)))]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_plain_row_reads_as_the_full_rules_read_it(layout: str) -> None:
    header, plain, settings = LAYOUTS[layout]
    taken = 0
    for number, cells in enumerate(_rows(plain), start=2):
        fast, full = _reader(header, **settings), _reader(header, **settings)
        level = fast.plain(number, cells)
        if level is None:
            assert fast.rows == 0 and not fast.warnings.items, cells  # nothing recorded for a row handed over
            continue
        taken += 1
        assert level == full.checked(number, cells), cells
        assert not fast.warnings.items and not full.warnings.items, cells
        assert fast.rows == full.rows == 1
    assert taken >= len(plain) * 5  # the fast path is actually used


def read(tmp_path: Path, content: str, **settings: Any) -> list[Any]:
    (tmp_path / "1" / "1").mkdir(parents=True, exist_ok=True)
    (tmp_path / "1" / "1" / "f.csv").write_text(content)
    model = SpreadsheetSettings(upload_file="1/1/f.csv", files_root=str(tmp_path), **settings)
    connector = SpreadsheetConnector(model, SpreadsheetCredentials())

    async def consume() -> list[Any]:
        return [level async for page in connector.fetch_levels(LevelsCursor()) for level in page.levels]

    return asyncio.run(consume())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("12x", "Row 502, column 'Qty': '12x' is not a number."),
        ("3000000000", "Row 502, column 'Qty': '3000000000' is too large for a stock quantity."),
        ("", "Row 502, column 'Qty': the quantity is empty."),
    ],
)
def test_one_bad_row_among_plain_ones_fails_the_read_naming_it(tmp_path: Path, bad: str, message: str) -> None:
    lines = [f"S-{i},Product {i},{i % 50}" for i in range(1000)]
    lines[500] = f"S-500,Product 500,{bad}"
    with pytest.raises(ValidationFailed) as caught:
        read(tmp_path, "SKU,Name,Qty\n" + "\n".join(lines) + "\n", page_size=100)
    assert caught.value.message == message
    assert caught.value.details["row"] == 502


def test_plain_and_other_rows_mixed_keep_order_warnings_and_row_numbers(tmp_path: Path) -> None:
    content = "SKU,Name,Qty\nA,a,1\n B ,b,2\n,,\nTotal,,3\nC,c,1.5\nD,d,-2\n00E,e,007\n"
    levels = read(tmp_path, content)
    assert [(lv.code, lv.available, lv.name, lv.row) for lv in levels] == [
        ("A", 1, "a", 2),
        ("B", 2, "b", 3),
        ("C", 1, "c", 6),
        ("D", 0, "d", 7),
        ("00E", 7, "e", 8),
    ]


def test_a_repeat_across_pages_is_refused_naming_its_row(tmp_path: Path) -> None:
    lines = [f"S-{i},Product {i},{i % 50}" for i in range(300)]
    lines[250] = "S-10,Again,4"  # first seen on the first page (rows 2-101), repeated on the third
    with pytest.raises(ValidationFailed) as caught:
        read(tmp_path, "SKU,Name,Qty\n" + "\n".join(lines) + "\n", page_size=100, duplicates="error")
    assert caught.value.details["row"] == 252
    assert "S-10" in caught.value.message
