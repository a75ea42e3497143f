"""How the inventory pages word a source: its type, next attempt, frequency, freshness and uploaded file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fenicia.inventory.levels import freshness
from fenicia.inventory.models import InventorySource
from fenicia.inventory.views import in_setup
from fenicia.web.render import format_time
from fenicia.web.sources_form import choice_of, frequency_words


def age_words(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} days"


@dataclass(frozen=True)
class SourceLine:
    """One source as lists and the panel's facts show it."""

    source: InventorySource
    type_name: str
    next_attempt: str
    frequency: str
    freshness: str
    stale: bool
    setup: bool


def next_attempt_words(source: InventorySource) -> str:
    """A retry's time when one waits, else the next scheduled sync; "Paused" or "Manual only" otherwise."""
    if source.next_attempt_at is not None:
        return format_time(source.next_attempt_at)
    if source.disabled:
        return "Paused"
    if source.frequency_seconds is None:
        return "Manual only"
    return format_time(source.next_sync_at, "At the next scheduler tick")


def source_line(source: InventorySource, now: datetime) -> SourceLine:
    fresh = freshness(source, now)
    if fresh.age_seconds is None:
        words = "No stock read yet"
    else:
        words = f"Numbers from {age_words(fresh.age_seconds)} ago"
        if fresh.stale:
            words += " (stale: older than two sync periods, or a day for manual sources)"
    return SourceLine(
        source,
        choice_of(source).name,
        next_attempt_words(source),
        frequency_words(source.frequency_seconds),
        words,
        fresh.stale and fresh.age_seconds is not None,
        in_setup(source),
    )


def upload_words(source: InventorySource) -> str:
    """ "stock.csv (1,234 bytes), uploaded 2026-11-20 08:00 UTC" for an upload source with a file."""
    settings = source.settings or {}
    name, size, when = settings.get("upload_name"), settings.get("upload_size"), settings.get("uploaded_at")
    if not name:
        return ""
    words = f"{name} ({size:,} bytes)" if isinstance(size, int) else str(name)
    if isinstance(when, str):
        words += f", uploaded {format_time(datetime.fromisoformat(when))}"
    return words
