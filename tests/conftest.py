"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when FENICIA_TEST_POSTGRES_URL is set).

Under pytest-xdist (``make test`` runs ``pytest -n``) every worker process has a PostgreSQL database of its
own on that server, ``<database>_<worker>`` (``fenicia_ci_123_gw0``), created when the worker starts and
dropped when it ends: FENICIA_TEST_POSTGRES_URL is rewritten to it before any test module reads it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg import sql
from sqlalchemy import make_url, text

import factories
from fenicia.channels.context import SyncContext
from fenicia.core.crypto import SecretBox, load_or_create_key
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade
from fenicia.db.models import Base
from shopify_sim import FAST_CONNECTOR, SimHandle, running_shop

SERVER_POSTGRES_URL = os.environ.get("FENICIA_TEST_POSTGRES_URL")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... in a pytest-xdist worker, else unset


def _worker_url(url: str | None, worker: str | None) -> str | None:
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_url(SERVER_POSTGRES_URL, XDIST_WORKER)


def _admin(url: str, statement: str, database: str) -> None:
    """One statement on ``database`` (an identifier), run from the server's ``postgres`` database."""
    admin = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(database)))


def pytest_configure(config: pytest.Config) -> None:
    """In an xdist worker: creates the worker's own database and points FENICIA_TEST_POSTGRES_URL at it.

    This conftest is loaded before collection, so every conftest and test module below, and every process
    a test starts, sees the worker's database. A leftover of a killed run with the same name is replaced.
    """
    url = POSTGRES_URL
    if not url or url == SERVER_POSTGRES_URL:
        return
    name = make_url(url).database
    assert name
    _admin(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    _admin(url, "CREATE DATABASE {}", name)
    os.environ["FENICIA_TEST_POSTGRES_URL"] = url
    config.add_cleanup(lambda: _admin(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name))


BROWSER_TESTS = Path(__file__).parent / "browser"  # marked slow by their own conftest, after this hook runs
SLOW_GROUP = "slow"
UNGROUPED = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)  # around pytest-xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    """Under pytest-xdist (``--dist loadgroup``) the ``slow`` tests form one group that one worker runs in
    order, as a plain ``pytest`` would: at most one of these process-level tests (real ``fenicia serve``
    processes, the browser's demo server and Chromium, crash and scale runs) runs at a time, while the
    other workers share the in-process tests. Each of them may hold tens of PostgreSQL connections.

    pytest-xdist groups by renaming the tests (``...::test_x@slow``); where that silently stops working
    (it did with pytest 9.2, pytest-dev/pytest-xdist#1386) these tests fail and say why."""
    grouped = [item for item in items if item.get_closest_marker("slow") or BROWSER_TESTS in item.path.parents]
    for item in grouped:
        item.add_marker(pytest.mark.xdist_group(SLOW_GROUP))
    yield
    if getattr(config.option, "loadgroup", False) and any(not i.nodeid.endswith(f"@{SLOW_GROUP}") for i in grouped):
        config.stash[UNGROUPED] = (
            f"pytest-xdist did not keep the slow tests in one worker (--dist loadgroup, pytest "
            f"{pytest.__version__}): see pytest-dev/pytest-xdist#1386 and the pytest pin in pyproject.toml"
        )


def pytest_runtest_setup(item: pytest.Item) -> None:
    problem = item.config.stash.get(UNGROUPED, None)
    if problem and item.get_closest_marker("xdist_group"):
        pytest.fail(problem, pytrace=False)


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
