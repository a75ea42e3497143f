"""Engine and sessions: SQLite tuned for durability and one writer, or PostgreSQL via psycopg 3.

Writes on SQLite start with ``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock;
read-only sessions use a deferred begin so they never wait for a writer (WAL lets them read).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from fenicia.core import jsonfast

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite connections are cheap to keep and dear to open (WAL set-up, pragmas): keep enough for the
# request thread pool and the engine's workers, so none is opened and closed per request.
SQLITE_POOL_SIZE = 20
SQLITE_POOL_OVERFLOW = 40


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if _is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
            json_serializer=jsonfast.dumps,
            json_deserializer=jsonfast.loads,
            **kwargs,
        )
        _install_sqlite_pragmas(engine)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        json_serializer=jsonfast.dumps,
        json_deserializer=jsonfast.loads,
        **kwargs,
    )


class Database:
    """Holds the engine and hands out sessions; one per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = _is_sqlite(url)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        reader_bind = self.engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else self.engine
        self._reader = sessionmaker(reader_bind, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back on any exception."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
