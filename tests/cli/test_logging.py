"""Log setup of the commands: JSON lines in production, and no secret ever in a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from fenicia.core.logging import configure_logging, drop_secrets
from fenicia.core.settings import Settings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    loggers = [logging.getLogger(), logging.getLogger("dbos")]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    dbos = logging.getLogger("dbos")  # an engine started by an earlier test may have quietened it
    dbos.handlers, dbos.propagate = [], True
    dbos.setLevel(logging.NOTSET)
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.reset_defaults()


def test_drop_secrets_removes_credential_keys_at_any_depth() -> None:
    event = {
        "event": "connected",
        "access_token": "shpat_x",
        "client_secret": "s",
        "Password": "p",
        "credentials": {"a": 1},
        "shop": {"url": "https://x", "api_key": "k", "inner": {"refresh_token": "r", "ok": True}},
        "count": 3,
    }
    clean = drop_secrets(None, "info", event)
    assert clean == {"event": "connected", "shop": {"url": "https://x", "inner": {"ok": True}}, "count": 3}


def test_production_logs_are_json_lines_without_secrets(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(env="production"))
    structlog.get_logger("fenicia.test").info("order_imported", order="1001", token="fen_abc", nested={"secret": 1})
    logging.getLogger("some.library").warning("plain stdlib record")
    logging.getLogger("dbos").info("dbos record")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]

    assert [line["event"] for line in lines] == ["order_imported", "plain stdlib record", "dbos record"]
    assert lines[0]["order"] == "1001" and lines[0]["nested"] == {} and "token" not in lines[0]
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "fenicia.test" and "timestamp" in lines[0]
    assert "fen_abc" not in json.dumps(lines)


def test_development_logs_are_readable_text(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(env="development", log_level="DEBUG"))
    configure_logging(Settings(env="development", log_level="DEBUG"))  # twice: still one line per record
    structlog.get_logger("fenicia.test").debug("hello", password="hunter2")

    err = capsys.readouterr().err
    assert err.count("hello") == 1
    assert "hunter2" not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])
