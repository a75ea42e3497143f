"""A worker process for the crash tests: its sync run starts, then hangs until the process is ended.

Usage: python crash_worker.py '<json config>'. It writes ``<marker_dir>/started`` when the run begins;
on SIGTERM it stops its Engine cleanly (writing ``<marker_dir>/stopped``) and exits with the run
still unfinished.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from types import FrameType

from fenicia.channels.context import SyncContext
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.engine import Engine
from fenicia.engine.handlers import Handlers, WorkItemLike


def build_handlers(marker_dir: Path) -> Handlers:
    async def execute_run(ctx: SyncContext, run_id: int) -> None:
        (marker_dir / "started").write_text(str(run_id))
        while True:
            await asyncio.sleep(3600)

    async def nothing(ctx: SyncContext, connection_id: int) -> int:
        return 0

    def plan_nothing(ctx: SyncContext, now: datetime) -> list[WorkItemLike]:
        return []

    def reconcile_nothing(ctx: SyncContext, now: datetime, dead_workers: list[str]) -> list[WorkItemLike]:
        return []

    return Handlers(execute_run, nothing, nothing, plan_nothing, reconcile_nothing)


def main(raw: str) -> None:
    config = json.loads(raw)
    marker_dir = Path(config["marker_dir"])
    settings = Settings.model_validate(config["settings"])
    assert settings.secret_key is not None
    ctx = SyncContext(
        db=Database(settings.app_database_url()),
        box=SecretBox(settings.secret_key.encode()),
        settings=settings,
        worker_id="unset",
    )
    engine = Engine(
        ctx,
        executor_id=config["executor_id"],
        handlers=build_handlers(marker_dir),
        system_schema=config["schema"],
        queue_polling_seconds=config["queue_polling_seconds"],
        shutdown_grace_seconds=0,
    )

    def on_term(signum: int, frame: FrameType | None) -> None:
        engine.stop()
        (marker_dir / "stopped").write_text("ok")
        os._exit(0)  # the hung run's thread would otherwise keep the process alive

    signal.signal(signal.SIGTERM, on_term)
    engine.start()
    (marker_dir / "ready").write_text("ok")
    while True:
        time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1])
