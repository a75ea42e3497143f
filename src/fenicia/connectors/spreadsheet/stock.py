"""Rows of a stock file → pages of levels (``LevelRow`` tuples): the rules every row goes through.

- Blank rows are skipped; a row without a SKU (a total or a note) is skipped with a warning, and so is
  a row whose SKU cell says "Total".
- The quantity column means what ``quantity_basis`` says: available to sell, or on hand (then
  available = on hand - reserved). Without a quantity column, an on-hand column is used that way.
- Negative numbers become 0 with a warning. Fractions are rounded down with a warning.
- A non-numeric quantity (or an empty one, unless ``empty_quantity`` says otherwise) stops the read with
  an error naming the row and the column: the engine applies nothing of a read that fails.
- A SKU repeated at the same location: ``duplicates="error"`` stops the read naming the row; ``"sum"``
  hands every row to the engine, which adds up rows that land on the same product and location.

Rows are produced one page at a time (``page_size``), so a million-row file is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fenicia.connectors.base import LevelRow
from fenicia.connectors.spreadsheet.columns import ColumnIndex, resolve_columns
from fenicia.connectors.spreadsheet.settings import SpreadsheetSettings
from fenicia.connectors.spreadsheet.table import Table
from fenicia.connectors.spreadsheet.values import (
    TOTAL_WORDS,
    BadQuantity,
    Quantity,
    is_total_label,
    looks_shortened,
    parse_quantity,
    sku_text,
)
from fenicia.core.errors import ValidationFailed

MAX_WARNINGS = 100
TOTAL_INITIALS = frozenset(w[0] for w in TOTAL_WORDS) | frozenset(w[0].upper() for w in TOTAL_WORDS)
NAME_MAX_CHARS = 500
FIX_AND_RESEND = "Fix the file and send it again; nothing was applied."
PLAIN_DIGITS = 9  # a plain quantity has at most this many digits: always under MAX_QUANTITY (10 digits)
NOT_PLAIN = -1  # ``_plain_count`` of a cell that needs the full rules (plain numbers are never negative)


class Warnings:
    """The first ``limit`` warnings of a read, and how many more there were."""

    def __init__(self, limit: int = MAX_WARNINGS) -> None:
        self.limit = limit
        self.items: list[str] = []
        self.more = 0

    def add(self, text: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(text)
        else:
            self.more += 1

    def as_list(self) -> list[str]:
        return self.items + ([f"... and {self.more} more warnings."] if self.more else [])


def level_pages(table: Table, settings: SpreadsheetSettings, warnings: Warnings) -> Iterator[list[LevelRow]]:
    reader = RowReader(resolve_columns(table.header, settings.columns, table.header_row), settings, warnings)
    page: list[LevelRow] = []
    plain, checked = reader.plain, reader.checked
    for number, cells in table.rows:
        level = plain(number, cells)
        if level is None and (level := checked(number, cells)) is None:
            continue
        page.append(level)
        if len(page) >= settings.page_size:
            yield page
            page = []
    if page:
        yield page


class RowReader:
    """Turns one row into a level (or None for a row to skip), applying the module's rules: ``plain``
    for the common row, ``checked`` for any row."""

    def __init__(self, columns: ColumnIndex, settings: SpreadsheetSettings, warnings: Warnings) -> None:
        self.columns = columns
        self.settings = settings
        self.warnings = warnings
        self.quantity_column = columns.quantity if columns.quantity is not None else columns.on_hand
        self.quantity_is_on_hand = columns.quantity is None or settings.quantity_basis == "on_hand"
        self.seen: set[int] | None = set() if settings.duplicates == "error" else None
        self.rows = 0
        assert self.quantity_column is not None  # resolve_columns requires a quantity or an on-hand column
        # for ``plain``: the positions it reads, and how many cells a row needs for all of them
        self.sku_at, self.quantity_at = columns.sku, self.quantity_column
        self.location_at, self.name_at = columns.location, columns.name
        used = (columns.sku, self.quantity_column, columns.on_hand, columns.reserved, columns.location, columns.name)
        self.plain_width = max(p for p in used if p is not None) + 1
        self.plain_counts = columns.on_hand is not None or columns.reserved is not None

    def plain(self, number: int, cells: Sequence[Any]) -> LevelRow | None:
        """A plain row (text cells, whole numbers), read directly; None for any other row (then ``checked``).

        Almost every row of a real file is plain, and reading it through every rule (``checked``) costs a
        dozen calls per row. This is safe because it accepts only rows for which ``checked`` returns the same
        level and records no warning: every column used is in the row and holds text; the SKU does not start
        with '=' or a BOM, is not empty once trimmed, is not a total label and is not a digit-led code with an
        exponent; the quantity is ASCII digits, at most ``PLAIN_DIGITS`` of them (so never over
        ``MAX_QUANTITY``), and so are the on-hand and reserved cells unless empty. It records nothing before it
        accepts the row (the duplicate check, which may refuse the file, is the same as in ``checked``), so a
        row it passes on is read from scratch by ``checked``, with the same warnings and errors as ever."""
        if len(cells) < self.plain_width:
            return None
        raw, quantity = cells[self.sku_at], cells[self.quantity_at]
        if type(raw) is not str or type(quantity) is not str or raw.startswith(("=", "\ufeff")):
            return None
        if not (quantity.isdigit() and quantity.isascii() and len(quantity) <= PLAIN_DIGITS):
            return None
        code = raw.strip()
        if not code or (code[0] in TOTAL_INITIALS and code.lower() in TOTAL_WORDS):  # trimmed: is_total_label
            return None
        if code[0].isdigit() and ("E" in code or "e" in code):
            return None
        location = cells[self.location_at] if self.location_at is not None else ""
        name = cells[self.name_at] if self.name_at is not None else ""
        if type(location) is not str or type(name) is not str:
            return None
        available, on_hand, reserved = int(quantity), None, None
        if self.plain_counts:
            counts = self._plain_counts(cells, available)
            if counts is None:
                return None
            available, on_hand, reserved = counts
        location = location.strip() or None
        if self.seen is not None:
            self._check_duplicate(number, code, location)
        self.rows += 1
        return code, available, location, on_hand, reserved, name.strip()[:NAME_MAX_CHARS] or None, number

    def _plain_counts(self, cells: Sequence[Any], quantity: int) -> tuple[int, int | None, int | None] | None:
        """(available, on hand, reserved) from plain on-hand and reserved cells; None when one is not plain."""
        on_hand, reserved = _plain_count(cells, self.columns.on_hand), _plain_count(cells, self.columns.reserved)
        if on_hand == NOT_PLAIN or reserved == NOT_PLAIN:
            return None
        if self.quantity_is_on_hand:
            return max(quantity - (reserved or 0), 0), quantity, reserved
        return quantity, on_hand, reserved

    def checked(self, number: int, cells: Sequence[Any]) -> LevelRow | None:
        """Any row, by every rule of the module docstring."""
        code = self._code(number, cells)
        if code is None:
            return None
        quantity = self._quantity(number, cells, self.quantity_column)
        if quantity is None:
            return None
        on_hand = self._optional(number, cells, self.columns.on_hand)
        reserved = self._optional(number, cells, self.columns.reserved)
        if self.quantity_is_on_hand:
            on_hand = quantity
            available = max(quantity - (reserved or 0), 0)
        else:
            available = quantity
        location = self._text(cells, self.columns.location) or None if self.columns.location is not None else None
        if self.seen is not None:
            self._check_duplicate(number, code, location)
        self.rows += 1
        name = self._text(cells, self.columns.name)[:NAME_MAX_CHARS] or None if self.columns.name is not None else None
        return code, available, location, on_hand, reserved, name, number

    def _code(self, number: int, cells: Sequence[Any]) -> str | None:
        position = self.columns.sku
        raw = cells[position] if position < len(cells) else None
        code = raw.strip() if type(raw) is str and not raw.startswith(("=", "\ufeff")) else sku_text(raw)
        if not code:
            if any(_filled(c) for c in cells):
                self.warnings.add(f"Row {number} has no SKU and was ignored (a total or a note?).")
            return None
        if code[0] in TOTAL_INITIALS and is_total_label(code):
            self.warnings.add(f"Row {number} ('{code}') looks like a total row and was ignored.")
            return None
        if code[0].isdigit() and ("E" in code or "e" in code) and looks_shortened(code):
            self.warnings.add(
                f"Row {number}: SKU '{code}' looks like a number Excel shortened; it cannot match a product. "
                "Format the SKU column as Text before exporting."
            )
        return code

    def _quantity(self, number: int, cells: Sequence[Any], position: int | None) -> int | None:
        assert position is not None
        raw = cells[position] if position < len(cells) else None
        parsed = self._parse(number, raw, position)
        if parsed is not None:
            return parsed
        policy = self.settings.empty_quantity
        if policy == "zero":
            return 0
        if policy == "skip":
            self.warnings.add(f"Row {number} has no quantity and was skipped.")
            return None
        raise ValidationFailed(
            f"Row {number}, column '{self.columns.header(position)}': the quantity is empty.",
            resolution="Fill it in (0 for none), or set 'empty_quantity' to 'zero' or 'skip'. Nothing was applied.",
            row=number,
            column=self.columns.header(position),
        )

    def _optional(self, number: int, cells: Sequence[Any], position: int | None) -> int | None:
        if position is None or position >= len(cells):
            return None
        return self._parse(number, cells[position], position)

    def _parse(self, number: int, raw: Any, position: int) -> int | None:
        try:
            parsed: Quantity | None = parse_quantity(raw, self.settings.decimal_separator)
        except BadQuantity as exc:
            header = self.columns.header(position)
            raise ValidationFailed(
                f"Row {number}, column '{header}': '{exc.text}' {exc.why}.",
                resolution="Quantities must be whole numbers like 12 (12,0 and 1.234 are read too). " + FIX_AND_RESEND,
                row=number,
                column=header,
            ) from exc
        if parsed is None:
            return None
        value = parsed.value
        if parsed.rounded:
            self.warnings.add(f"Row {number}, column '{self.columns.header(position)}': {raw} rounded down.")
        if value < 0:
            self.warnings.add(f"Row {number}, column '{self.columns.header(position)}': {value} read as 0.")
            return 0
        return value

    @staticmethod
    def _text(cells: Sequence[Any], position: int | None) -> str:
        if position is None or position >= len(cells):
            return ""
        raw = cells[position]
        return raw.strip() if type(raw) is str else sku_text(raw)

    def _check_duplicate(self, number: int, code: str, location: str | None) -> None:
        if self.seen is None:
            return
        key = hash((code, location))
        if key in self.seen:
            where = f" at location '{location}'" if location else ""
            raise ValidationFailed(
                f"Row {number}: SKU '{code}'{where} appears more than once in the file.",
                resolution="Remove the repeated rows, or set 'duplicates' to 'sum' to add them up. "
                "Nothing was applied.",
                row=number,
                column=self.columns.header(self.columns.sku),
            )
        self.seen.add(key)


def _plain_count(cells: Sequence[Any], position: int | None) -> int | None:
    """A plain optional number cell (see ``RowReader.plain``): ASCII digits → their value, an empty cell or no
    column → None, anything else → ``NOT_PLAIN``."""
    if position is None:
        return None
    cell = cells[position]
    if type(cell) is not str:
        return NOT_PLAIN
    if cell.isdigit() and cell.isascii() and len(cell) <= PLAIN_DIGITS:
        return int(cell)
    return None if not cell else NOT_PLAIN


def _filled(cell: Any) -> bool:
    return cell is not None and (not isinstance(cell, str) or bool(cell.strip()))
