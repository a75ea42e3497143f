"""The simulator's clock: wall time (so time-machine can drive it), plus a manual offset."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta, timezone

from fenicia.sandbox.simkit import parse_query_time


class SimClock:
    """Issues timestamps at the shop's precision and renders them the way Shopify REST does."""

    def __init__(self, offset_minutes: int, precision: str) -> None:
        self.skew_s = 0.0
        self.configure(offset_minutes, precision)

    def configure(self, offset_minutes: int, precision: str) -> None:
        if precision not in ("seconds", "milliseconds"):
            raise ValueError("timestamp_precision must be 'seconds' or 'milliseconds'")
        self.tz = timezone(timedelta(minutes=offset_minutes))
        self.precision = precision

    @property
    def resolution_s(self) -> float:
        return 0.001 if self.precision == "milliseconds" else 1.0

    def now(self) -> float:
        """Current time, in epoch seconds, truncated to the shop's precision."""
        return self.truncate(time.time() + self.skew_s)

    def truncate(self, ts: float) -> float:
        if self.precision == "milliseconds":
            return math.floor(ts * 1000) / 1000
        return float(math.floor(ts))

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward (tests of time windows)."""
        self.skew_s += seconds

    def next_after(self, previous: float | None) -> float:
        """A timestamp for a mutation: now, but always strictly later than `previous`."""
        stamp = self.now()
        if previous is not None and stamp <= previous:
            stamp = round(previous + self.resolution_s, 3)
        return stamp

    def iso(self, ts: float) -> str:
        """E.g. 2024-04-02T08:59:11-05:00 (Shopify REST renders the shop's offset)."""
        spec = "milliseconds" if self.precision == "milliseconds" else "seconds"
        return datetime.fromtimestamp(ts, self.tz).isoformat(timespec=spec)

    @staticmethod
    def iso_utc_now() -> str:
        """For X-Shopify-Triggered-At, which Shopify sends in UTC with a Z suffix."""
        return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


parse_timestamp = parse_query_time  # [U] Shopify may read naive times in the shop's zone: read as UTC here
