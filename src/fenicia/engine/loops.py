"""A background thread that calls one function every N seconds until stopped.

Each concern (heartbeat, scheduler tick, reconciler) gets its own thread, so a slow reconcile never
delays a heartbeat and makes this worker look dead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

STOP_JOIN_TIMEOUT_SECONDS = 30.0


class PeriodicTask:
    def __init__(self, name: str, interval_seconds: float, fn: Callable[[], object]) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"{name}: interval must be positive, got {interval_seconds}")
        self.name = name
        self._interval = interval_seconds
        self._fn = fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"fenicia-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=STOP_JOIN_TIMEOUT_SECONDS)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._fn()
            except Exception:
                # Logged and retried on the next tick: our tables still hold the work.
                log.exception("engine_loop_failed", loop=self.name)
