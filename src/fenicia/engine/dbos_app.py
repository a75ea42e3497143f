"""DBOS lifecycle: the system database, the client, the queues, launch, recovery and shutdown.

Facts relied on (DBOS Transact 3.4 source, ``dbos/``):

* ``DBOS`` is a process singleton (``_dbos.py`` ``__new__``); ``DBOS.destroy()`` discards it and keeps the
  workflow registry, so a later ``DBOS(config=...)`` in the same process finds our workflows again.
* ``DBOS.migrate()`` creates/migrates the system database without launching (``_dbos.py``); a
  ``DBOSClient`` never migrates (``_client.py``), so every process migrates first.
* Any PostgreSQL URL is accepted: DBOS rewrites the driver to ``postgresql+psycopg``
  (``_sys_db_postgres.py`` ``_create_engine``). SQLite ignores the schema (``_sys_db.py``).
* The SQLite system database is opened without WAL (``_sys_db_sqlite.py``); WAL is a property of the
  file, so we set it once here to let the web process and the workers read while one writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dbos import DBOS, DBOSClient, DBOSConfig
from sqlalchemy import make_url

from fenicia.engine.dispatch import APP_NAME, QUEUES


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _enable_wal(url: str) -> None:
    path = make_url(url).database
    if not path or path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def prepare_system_database(url: str, schema: str) -> None:
    """Creates or migrates the DBOS system tables; safe to run from several processes at once."""
    if is_sqlite(url):
        _enable_wal(url)
    DBOS.migrate(url, schema=schema)


def make_client(url: str, schema: str) -> DBOSClient:
    return DBOSClient(system_database_url=url, dbos_system_schema=schema, application_name=APP_NAME)


def register_queues(client: DBOSClient, polling_interval_seconds: float) -> None:
    """One partition per connection, one workflow per partition at a time, across all processes.

    No ``partition_limiter``: it would apply one limit to every channel and count workflow starts, not
    API calls; the connectors honour each channel's own limits (Retry-After)."""
    for name in QUEUES:
        client.register_queue(
            name,
            partition_concurrency=1,
            polling_interval_sec=polling_interval_seconds,
            on_conflict="always_update",
        )


def launch(
    url: str, schema: str, *, app_version: str, executor_id: str, log_level: str, polling_interval_seconds: float
) -> None:
    """Starts the singleton: queue threads, and recovery of this executor id's PENDING workflows.

    The notification listener only queries while someone waits on a DBOS event (we never do), but it
    sleeps a full interval between checks and ``DBOS.destroy`` joins it: a short interval is a fast stop."""
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": url,
        "dbos_system_schema": schema,
        "application_version": app_version,
        "executor_id": executor_id,
        "log_level": log_level.upper(),
        "notification_listener_polling_interval_sec": min(1.0, polling_interval_seconds),
    }
    DBOS(config=config)
    try:
        DBOS.launch()
    except BaseException:
        DBOS.destroy()
        raise


def recover(executor_ids: list[str]) -> list[str]:
    """Puts the dead executors' PENDING workflows of our version back on their own queue and partition.

    ``_recovery.py``: recovery re-enqueues (``reenqueue_for_recovery`` keeps ``queue_name`` and the
    partition key) guarded on ``status = PENDING AND executor_id IN (...)``, so a duplicate recovery is a
    no-op and exactly one live worker dequeues each workflow. Only the current application version is
    recovered (``get_pending_workflows``)."""
    if not executor_ids:
        return []
    handles = DBOS._recover_pending_workflows(executor_ids)
    return [handle.get_workflow_id() for handle in handles]


def shutdown(grace_seconds: int) -> None:
    """Stops DBOS's threads, waiting up to ``grace_seconds`` for running workflows to finish."""
    DBOS.destroy(workflow_completion_timeout_sec=grace_seconds)
