"""Reading numbers out of a channel's payload: one wording for a bad value, whatever the channel."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fenicia.core.errors import InvalidRecord


def amount(value: Any, label: str, channel: str) -> Decimal | None:
    """A money amount as Decimal; None when absent or empty; InvalidRecord (naming the field) otherwise."""
    if value is None or value == "":
        return None
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        parsed = None
    if isinstance(value, bool) or parsed is None or not parsed.is_finite():
        raise InvalidRecord(f"{channel} order field '{label}' is not an amount: {value!r}", field=label)
    return parsed
