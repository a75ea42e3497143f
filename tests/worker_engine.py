"""A real worker Engine for domain tests: quiet loops (no heartbeat, tick or reconcile), fast queue polling."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fenicia.channels.context import SyncContext
from fenicia.core.settings import Settings
from fenicia.engine import Engine

NEVER_SECONDS = 3600.0
WAIT_LIMIT_SECONDS = 30.0


@contextmanager
def worker_factory(ctx: SyncContext, settings: Settings, executor_id: str) -> Iterator[Callable[[], Engine]]:
    """Yields a function that starts one more worker; every worker started is stopped afterwards."""
    engines: list[Engine] = []
    quiet = settings.model_copy(
        update={
            "worker_heartbeat_seconds": NEVER_SECONDS,
            "scheduler_tick_seconds": NEVER_SECONDS,
            "reconcile_interval_seconds": NEVER_SECONDS,
            "log_level": "WARNING",
        }
    )

    def make() -> Engine:
        engine_ctx = SyncContext(db=ctx.db, box=ctx.box, settings=quiet, worker_id="unset")
        engine = Engine(engine_ctx, executor_id=executor_id, queue_polling_seconds=0.05, shutdown_grace_seconds=0)
        engine.start()
        engines.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in reversed(engines):
            engine.stop()


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
