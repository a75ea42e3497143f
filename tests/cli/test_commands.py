"""The `fenicia` commands, run in-process with Typer's CliRunner against real databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from typer.testing import CliRunner

from fenicia.accounts.models import User, Workspace
from fenicia.accounts.services import authenticate_token, authenticate_user
from fenicia.cli.main import app
from fenicia.core.errors import ConfigError
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.runtime import check_migrated

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, db: Database) -> Database:
    """The commands see the test's migrated database (SQLite copy, or PostgreSQL) through FENICIA_*."""
    monkeypatch.setenv("FENICIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FENICIA_DATABASE_URL", settings.app_database_url())
    monkeypatch.setenv("FENICIA_SECRET_KEY", str(settings.secret_key))
    return db


@pytest.fixture
def empty_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A data directory and no FENICIA_DATABASE_URL: the default SQLite file, not created yet."""
    data_dir = tmp_path / "fresh"
    monkeypatch.delenv("FENICIA_DATABASE_URL", raising=False)
    monkeypatch.setenv("FENICIA_DATA_DIR", str(data_dir))
    return data_dir


def test_keygen_prints_a_valid_fernet_key() -> None:
    result = runner.invoke(app, ["keygen"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    assert runner.invoke(app, ["keygen"]).stdout.strip() != key


def test_migrate_creates_the_default_sqlite_database(empty_data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="no Fenicia tables") as raised:
        check_migrated(Settings())
    assert raised.value.resolution == "Run `fenicia migrate` first."

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert (empty_data_dir / "fenicia.db").exists()
    check_migrated(Settings())  # no error now
    assert runner.invoke(app, ["migrate"]).exit_code == 0  # idempotent


def test_commands_on_an_unmigrated_database_say_to_migrate(empty_data_dir: Path) -> None:
    for args in (["serve", "--port", "1"], ["create-workspace", "Acme", "--email", "ops@acme.test"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "Run `fenicia migrate` first." in result.stderr
        assert "Traceback" not in result.output


def test_create_workspace_user_and_token(cli_env: Database) -> None:
    created = runner.invoke(app, ["create-workspace", "Acme Outdoor", "--email", "ops@acme.test"])
    assert created.exit_code == 0, created.output
    assert "slug acme-outdoor" in created.stdout

    user = runner.invoke(app, ["create-user", "acme-outdoor", "Owner@Acme.test", "--password", "s3cret-pass"])
    assert user.exit_code == 0, user.output

    token = runner.invoke(app, ["create-token", "acme-outdoor", "erp"])
    assert token.exit_code == 0, token.output
    raw = token.stdout.strip()
    assert raw.startswith("fen_")
    assert "shown only once" in token.stderr

    with cli_env.session() as session:
        workspace = session.scalar(select(Workspace).where(Workspace.slug == "acme-outdoor"))
        assert workspace is not None and workspace.notification_email == "ops@acme.test"
        row = authenticate_token(session, raw)
        assert row is not None and row.workspace_id == workspace.id and row.name == "erp"
        found = authenticate_user(session, "owner@acme.test", "s3cret-pass")
        assert found is not None and found.workspace_id == workspace.id and found.role == "owner"


def test_errors_print_message_and_resolution_and_exit_2(cli_env: Database) -> None:
    assert runner.invoke(app, ["create-workspace", "Acme", "--email", "ops@acme.test"]).exit_code == 0

    duplicate = runner.invoke(app, ["create-workspace", "Acme", "--email", "ops@acme.test"])
    unknown = runner.invoke(app, ["create-token", "no-such-shop", "erp"])
    short = runner.invoke(app, ["create-user", "acme", "a@acme.test", "--password", "short"])

    for result, text in ((duplicate, "already exists"), (unknown, "no-such-shop"), (short, "at least 8")):
        assert result.exit_code == 2, result.output
        assert text in result.stderr
        assert "Traceback" not in result.output
    assert "Pick another slug." in duplicate.stderr
    with cli_env.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Workspace)) == 1
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_create_user_rejects_an_unknown_role(cli_env: Database) -> None:
    assert runner.invoke(app, ["create-workspace", "Acme", "--email", "ops@acme.test"]).exit_code == 0
    result = runner.invoke(app, ["create-user", "acme", "a@acme.test", "--password", "long-enough", "--role", "god"])
    assert result.exit_code == 2
    assert "god" in result.output


def test_invalid_settings_are_reported_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENICIA_PORT", "not-a-port")
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 2
    assert "FENICIA_PORT" in result.stderr
    assert "Traceback" not in result.output
