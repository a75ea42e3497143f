"""Migrations go up and down on the test database, and the models match the migrated schema exactly."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from fenicia.db.base import Base
from fenicia.db.migrate import downgrade, upgrade
from fenicia.db.models import __all__ as _models  # noqa: F401  (every table registered)


def _fresh_sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'migrations.db'}"


def test_every_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    url = _fresh_sqlite(tmp_path)
    upgrade(url)
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {"inventory_sources", "stock_levels", "stock_pushes", "unmapped_skus", "orders"} <= tables
    downgrade(url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()


def test_the_models_match_the_migrated_schema(database_url: str) -> None:
    """A model change without its migration (or the reverse) fails here, on SQLite and PostgreSQL."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []
