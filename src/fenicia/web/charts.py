"""Small bar charts drawn by the server as inline SVG: no JavaScript library, readable without scripts.

A chart is one series of bars on a shared 0..max scale (max rounded up to 1, 2 or 5 times a power of
ten), in a fixed ``viewBox`` that the page stretches to its width. Each bar carries a ``<title>`` (shown
on hover, read by screen readers); the template adds the axis labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fenicia.core.clock import as_utc
from fenicia.inventory.models import SourceRun

WIDTH = 600
HEIGHT = 150
LEFT = 44  # room for the scale's labels
RIGHT = 8
TOP = 10
BOTTOM = 24  # room for the first and last run's times
GAP_RATIO = 0.25
MAX_BARS = 30
MAX_SLOT = 40  # a few runs make narrow bars on the left, not a few wide blocks


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    failed: bool


@dataclass(frozen=True)
class BarChart:
    """One chart, in the coordinates of ``viewBox="0 0 {width} {height}"``."""

    title: str
    bars: list[Bar]
    top_label: str  # the value at the top of the scale
    first_label: str
    last_label: str
    last_x: float  # where the last run's label ends: under its bar
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom_y: int = HEIGHT - BOTTOM


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= value)


def duration_seconds(run: SourceRun) -> float | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return max((as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds(), 0.0)


def duration_words(seconds: float | None) -> str:
    """``40 ms``, ``12.3 s``, ``3 min 4 s``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _short_time(value: datetime | None) -> str:
    return as_utc(value).strftime("%m-%d %H:%M") if value is not None else ""


def bar_chart(title: str, values: Sequence[tuple[SourceRun, float, str]]) -> BarChart:
    """Bars for ``(run, value, value words)`` in the order given (oldest first)."""
    scale = nice_ceiling(max((v for _, v, _ in values), default=0.0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = min(plot_width / max(len(values), 1), MAX_SLOT)
    bar_width = max(slot * (1 - GAP_RATIO), 1.0)
    bars = []
    for index, (run, value, words) in enumerate(values):
        height = plot_height * value / scale
        failed = run.status == "failed"
        when = as_utc(run.started_at).strftime("%Y-%m-%d %H:%M UTC") if run.started_at else "not started"
        outcome = "failed" if failed else run.status
        bars.append(
            Bar(
                x=round(LEFT + index * slot + (slot - bar_width) / 2, 2),
                y=round(TOP + plot_height - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                title=f"Run #{run.id} ({run.trigger}, {outcome}) at {when}: {words}",
                failed=failed,
            )
        )
    first = _short_time(values[0][0].started_at) if values else ""
    last = _short_time(values[-1][0].started_at) if len(values) > 1 else ""
    last_x = bars[-1].x + bars[-1].width if bars else float(LEFT)
    return BarChart(title, bars, f"{scale:g}", first, last, round(max(last_x, LEFT + 150), 2))


def run_charts(runs: Sequence[SourceRun]) -> list[BarChart]:
    """Durations and changed rows of the finished syncs among ``runs`` (newest first), oldest first."""
    finished = [r for r in runs if not r.preview and duration_seconds(r) is not None][:MAX_BARS]
    finished.reverse()
    if not finished:
        return []
    durations = []
    for run in finished:
        seconds = duration_seconds(run) or 0.0
        durations.append((run, seconds, duration_words(seconds)))
    changed = [(run, float(run.rows_changed), f"{run.rows_changed:,} rows changed") for run in finished]
    return [bar_chart("Duration (seconds)", durations), bar_chart("Rows changed", changed)]
