"""The DBOS queue polling interval is an operator setting (FENICIA_QUEUE_POLLING_SECONDS) that reaches the
Engine the web process and the workers build; a constructor argument still wins (tests, benchmarks)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from fenicia.channels.context import SyncContext
from fenicia.core.settings import Settings
from fenicia.engine import Engine
from fenicia.runtime import build_web_app


def test_the_setting_comes_from_the_environment_with_a_half_second_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FENICIA_QUEUE_POLLING_SECONDS", raising=False)
    assert Settings().queue_polling_seconds == 0.5
    monkeypatch.setenv("FENICIA_QUEUE_POLLING_SECONDS", "0.2")
    assert Settings().queue_polling_seconds == 0.2
    monkeypatch.setenv("FENICIA_QUEUE_POLLING_SECONDS", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_an_engine_polls_at_the_settings_interval_unless_told_otherwise(ctx: SyncContext, settings: Settings) -> None:
    tuned = SyncContext(ctx.db, ctx.box, settings.model_copy(update={"queue_polling_seconds": 0.2}), "unset")
    assert Engine(tuned, run_workers=False).state()["queue_polling_seconds"] == 0.2
    assert Engine(tuned, run_workers=False, queue_polling_seconds=0.05).state()["queue_polling_seconds"] == 0.05


def test_the_web_process_engine_uses_the_setting(settings: Settings) -> None:
    app = build_web_app(settings.model_copy(update={"queue_polling_seconds": 0.3}), with_worker=False, demo=False)
    with TestClient(app) as client:
        health = client.get("/healthz").json()
    assert health["engine"]["queue_polling_seconds"] == 0.3 and health["engine"]["mode"] == "enqueue-only"
