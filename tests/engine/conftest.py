"""Engines on the test's real databases, with fast polling set through settings and constructor args.

The DBOS system database is a SQLite file in tmp_path, or, when FENICIA_TEST_POSTGRES_URL is set, a
fresh schema ``dbos_test_<random>`` in that PostgreSQL database, dropped after the test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from fenicia.channels.context import SyncContext
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.engine import Engine
from fenicia.engine.handlers import Handlers

POSTGRES_URL = os.environ.get("FENICIA_TEST_POSTGRES_URL")
QUEUE_POLLING_SECONDS = 0.05
NEVER_SECONDS = 3600.0  # loops that must not fire on their own during a test


@dataclass
class EngineTarget:
    """Where engines of one test keep their DBOS state, shared by every engine (and subprocess)."""

    settings: Settings
    schema: str


@pytest.fixture
def engine_target(settings: Settings) -> Iterator[EngineTarget]:
    update: dict[str, Any] = {
        "worker_heartbeat_seconds": NEVER_SECONDS,
        "scheduler_tick_seconds": NEVER_SECONDS,
        "reconcile_interval_seconds": NEVER_SECONDS,
        "log_level": "WARNING",
    }
    schema = "dbos"
    if POSTGRES_URL:
        schema = f"dbos_test_{secrets.token_hex(4)}"
        update["engine_database_url"] = POSTGRES_URL
    yield EngineTarget(settings.model_copy(update=update), schema)
    if POSTGRES_URL:
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


EngineFactory = Callable[..., Engine]


@pytest.fixture
def make_engine(db: Database, engine_target: EngineTarget) -> Iterator[EngineFactory]:
    """Builds and starts engines; stops them all (newest first) after the test."""
    engines: list[Engine] = []

    def make(
        *,
        run_workers: bool = True,
        handlers: Handlers | None = None,  # None: the real domain functions
        executor_id: str | None = None,
        settings: Settings | None = None,
    ) -> Engine:
        used = settings or engine_target.settings
        assert used.secret_key is not None
        ctx = SyncContext(db=db, box=SecretBox(used.secret_key.encode()), settings=used, worker_id="unset")
        engine = Engine(
            ctx,
            run_workers=run_workers,
            executor_id=executor_id,
            handlers=handlers,
            system_schema=engine_target.schema,
            queue_polling_seconds=QUEUE_POLLING_SECONDS,
            shutdown_grace_seconds=0,
        )
        engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in reversed(engines):
        engine.stop()
