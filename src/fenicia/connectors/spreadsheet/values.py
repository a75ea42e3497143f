"""Cell values → a SKU (always text) and a quantity (a whole number), with the reasons when they are not.

SKUs are never converted to numbers: "00123" stays "00123". An XLSX cell holding a number is written
back without a decimal point or exponent (123456789012.0 → "123456789012"), padded with the zeros of a
"00000" number format. A CSV text like "1.23E+12" is kept but flagged: Excel already shortened it.

Quantities accept thousands separators and a decimal comma. With ``decimal_separator="auto"`` the last
of '.' and ',' is the decimal one when both appear; a lone separator followed by exactly three digits is
a thousands separator ("1,234" and "1.234" are 1234), otherwise decimal ("12,5" is 12.5). Fractions
are rounded down (whole units only) with a warning.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_QUANTITY = 2_147_483_647
SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'\u2019")  # spaces and apostrophes group thousands
SCIENTIFIC = re.compile(r"^\d+([.,]\d+)?[eE][+-]?\d+$")
ZERO_FORMAT = re.compile(r"^0+$")
EXCEL_TEXT_FORMULA = re.compile(r'^="(.*)"$')
LONE_THOUSANDS = re.compile(r"^\d{1,3}[.,]\d{3}$")
TOTAL_WORDS = frozenset({"total", "totals", "sum", "grand total", "subtotal", "gesamt", "summe", "totaal", "totale"})


class BadQuantity(Exception):
    """A quantity cell that is not a number; the caller names the row and column."""

    def __init__(self, text: str, why: str = "is not a number") -> None:
        super().__init__(text)
        self.text = text
        self.why = why


@dataclass(frozen=True)
class Quantity:
    value: int
    rounded: bool = False  # had a fraction, rounded down


def sku_text(value: Any, number_format: str | None = None) -> str:
    """The code as text, exactly as the merchant sees it; '' for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip().strip("\ufeff")
        formula = EXCEL_TEXT_FORMULA.match(text)
        return formula.group(1).strip() if formula else text
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int):
        return _pad(str(value), number_format)
    if isinstance(value, float | Decimal):
        return _number_text(value, number_format)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _number_text(value: float | Decimal, number_format: str | None) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value == int(value):
        return _pad(str(int(value)), number_format)
    return format(value, "f").rstrip("0") if isinstance(value, Decimal) else repr(value)


def _pad(text: str, number_format: str | None) -> str:
    if number_format and ZERO_FORMAT.match(number_format):
        return text.zfill(len(number_format))
    return text


def looks_shortened(code: str) -> bool:
    """True for "1.23457E+12": a long number Excel displayed in scientific notation and saved so."""
    return bool(SCIENTIFIC.match(code))


def is_total_label(code: str) -> bool:
    return code.strip().lower() in TOTAL_WORDS


def parse_quantity(value: Any, decimal_separator: str = "auto") -> Quantity | None:
    """A whole number, None for an empty cell; BadQuantity when the cell is not a number."""
    if value is None:
        return None
    if isinstance(value, bool | datetime | date | time):
        raise BadQuantity(str(value))
    if isinstance(value, int):
        return _checked(Decimal(value), str(value))
    if isinstance(value, float | Decimal):
        return _from_number(value)
    text = str(value).strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return _checked(Decimal(int(text)), text)
    return _checked(_decimal_of(text, decimal_separator), text)


def _from_number(value: float | Decimal) -> Quantity:
    if isinstance(value, float) and not math.isfinite(value):
        raise BadQuantity(str(value))
    return _checked(Decimal(str(value)) if isinstance(value, float) else value, str(value))


def _checked(number: Decimal, text: str) -> Quantity:
    whole = int(number.to_integral_value(rounding="ROUND_FLOOR"))
    if abs(whole) > MAX_QUANTITY:
        raise BadQuantity(text, "is too large for a stock quantity")
    return Quantity(whole, rounded=number != whole)


def _decimal_of(text: str, decimal_separator: str) -> Decimal:
    cleaned = text.translate(SPACES)
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative, cleaned = True, cleaned[1:-1]
    elif cleaned.endswith("-") and not cleaned.startswith("-"):
        negative, cleaned = True, cleaned[:-1]  # "5-": trailing minus (SAP exports)
    cleaned = _plain_decimal(cleaned, decimal_separator)
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:
        raise BadQuantity(text) from exc
    if not number.is_finite() or "e" in cleaned.lower():
        raise BadQuantity(text)
    return -number if negative else number


def _plain_decimal(text: str, decimal_separator: str) -> str:
    """'1.234,5' → '1234.5' according to the separator rule of the module docstring."""
    separator = decimal_separator if decimal_separator != "auto" else _guess_decimal(text)
    thousands = "," if separator == "." else "."
    return text.replace(thousands, "").replace(separator, ".")


def _guess_decimal(text: str) -> str:
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "." if last_dot > last_comma else ","
    mark = "." if last_dot >= 0 else ","
    digits = text.lstrip("+-")
    if digits.count(mark) > 1 or LONE_THOUSANDS.match(digits):
        return "," if mark == "." else "."  # the mark separates thousands
    return mark
