"""Fixtures of the process-level tests: a fresh database per test (SQLite file, or a new PostgreSQL
database on the server of FENICIA_TEST_POSTGRES_URL), a data directory, a secret key, and a process
list that is always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from e2e.support import POSTGRES_URL, Procs, Stage, fresh_postgres_database

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.skipif(not POSTGRES_URL, reason="FENICIA_TEST_POSTGRES_URL is not set")),
]


def _stage(backend: str, tmp_path: Path, prefix: str) -> Iterator[Stage]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    key = Fernet.generate_key().decode()
    procs = Procs(logs)
    if backend == "sqlite":
        url = f"sqlite:///{data_dir / 'fenicia.db'}"
        try:
            yield Stage(backend, data_dir, url, key, procs)
        finally:
            procs.stop_all()
        return
    with fresh_postgres_database(prefix) as url:
        try:
            yield Stage(backend, data_dir, url, key, procs)
        finally:
            procs.stop_all()  # before the database is dropped


@pytest.fixture(params=BACKENDS)
def stage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stage]:
    yield from _stage(request.param, tmp_path, "fenicia_crash")


@pytest.fixture
def postgres_stage(tmp_path: Path) -> Iterator[Stage]:
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set FENICIA_TEST_POSTGRES_URL (CI does) to run the multi-worker scale test")
    yield from _stage("postgres", tmp_path, "fenicia_scale")
