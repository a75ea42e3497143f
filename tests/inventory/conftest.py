"""Fixtures of the inventory-source tests: merchants, the API with a recording engine, local servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from doubles import RecordingDispatcher
from fenicia.api.app import create_app
from fenicia.channels.context import SyncContext
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from inventory.inv_world import FileServer, InvWorld, SftpServer, new_world, running_file_server, running_sftp


@pytest.fixture
def world(ctx: SyncContext) -> InvWorld:
    return new_world(ctx)


@pytest.fixture
def other_world(ctx: SyncContext) -> InvWorld:
    """A second merchant, for tenant isolation."""
    return new_world(ctx, "Other")


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def api(settings: Settings, db: Database, box: SecretBox, dispatcher: RecordingDispatcher) -> Iterator[TestClient]:
    """The real API app on the test database; the engine is a recording stand-in."""
    app = create_app(settings=settings, db=db, box=box, dispatcher=dispatcher)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    with running_file_server() as server:
        yield server


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpServer]:
    with running_sftp(tmp_path / "sftp-root") as server:
        yield server
