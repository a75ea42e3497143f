"""Coalescing of drain kicks: a webhook flood becomes a few enqueues, not one per delivery.

A kick for a connection schedules one real kick ``delay`` seconds later, unless one is already
scheduled. That is safe: the caller committed its row before kicking, and the scheduled kick fires
after that, so the drain it starts (or the one still waiting) reads the row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

KICK_COALESCE_SECONDS = 0.05


class KickCoalescer:
    def __init__(self, kick: Callable[[str, int], object], delay: float = KICK_COALESCE_SECONDS) -> None:
        self._kick = kick
        self._delay = delay
        self._pending: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def request(self, kind: str, connection_id: int) -> None:
        key = (kind, connection_id)
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
        timer = threading.Timer(self._delay, self._fire, args=(key,))
        timer.daemon = True
        timer.start()

    def _fire(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._pending.discard(key)
        try:
            self._kick(*key)
        except Exception:  # the row is safe in our tables; the reconciler offers it again
            log.exception("drain_kick_failed", kind=key[0], connection_id=key[1])
