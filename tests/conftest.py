"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when FENICIA_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

import factories
from fenicia.channels.context import SyncContext
from fenicia.core.crypto import SecretBox, load_or_create_key
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade
from fenicia.db.models import Base
from shopify_sim import FAST_CONNECTOR, SimHandle, running_shop

POSTGRES_URL = os.environ.get("FENICIA_TEST_POSTGRES_URL")


def pytest_report_header() -> str:
    return f"fenicia database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test: migrations run once, tests start clean."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str | None:
    if not POSTGRES_URL:
        return None
    db = Database(POSTGRES_URL)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.dispose()
    upgrade(POSTGRES_URL)
    return POSTGRES_URL


def _truncate_all(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path, postgres_migrated: str | None) -> str:
    if postgres_migrated:
        return postgres_migrated
    target = tmp_path / "fenicia.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    if not database.is_sqlite:
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        engine_database_url=f"sqlite:///{tmp_path / 'engine.db'}",
        secret_key=Fernet.generate_key().decode(),
        smtp_host=None,
        allow_private_source_urls=True,  # every test server listens on loopback
    )


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return SecretBox(load_or_create_key(settings))


# --- a real Shopify simulator on loopback and a connection of ours pointing at it -------------------


@pytest.fixture
def shop() -> Iterator[SimHandle]:
    with running_shop() as handle:
        yield handle


@pytest.fixture
def ctx(db: Database, box: SecretBox, settings: Settings) -> SyncContext:
    return SyncContext(db=db, box=box, settings=settings, worker_id="test-worker")


@pytest.fixture
def conn_id(db: Database, box: SecretBox, shop: SimHandle) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        return factories.shopify_connection(s, box, ws, shop_url=shop.url, settings=FAST_CONNECTOR).id
