"""Structured logs: JSON lines in production, a readable console everywhere else.

Every record (ours through structlog, and the standard library's: uvicorn, alembic, dbos) goes through
the same processors, including :func:`drop_secrets`, so a token or password never reaches a log line
even when someone passes it by mistake.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from fenicia.core.settings import Settings

# Key names that may carry a credential: dropped from every log record, at any nesting depth.
SECRET_KEY_PATTERN = re.compile(r"token|secret|passw|credential|authorization|api[_-]?key|cookie", re.IGNORECASE)
# Library loggers that are too chatty at INFO for an operator's console.
QUIET_LOGGERS = ("httpx", "httpcore", "alembic.runtime.migration")
# Libraries that add their own console handler unless their logger already has one: give them ours.
SELF_HANDLED_LOGGERS = ("dbos",)
DBOS_CONSOLE_HANDLER = "__dbos_console_log_handler__"


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and SECRET_KEY_PATTERN.search(key) is not None


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items() if not is_secret_key(k)}
    return value


def drop_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: removes keys named like token/secret/password/credentials."""
    return {k: _scrub(v) for k, v in event_dict.items() if k == "event" or not is_secret_key(k)}


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_secrets,
    ]


def _renderer(production: bool) -> list[Processor]:
    if production:
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when the handler was made:
    test runners and CLI runners swap (and close) it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # handle() holds our lock; no flush of a stream that may be closed
        super().emit(record)


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library through one handler on stderr. Safe to call twice:
    it replaces the handler it installed before and leaves other handlers (pytest's) alone."""
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    shared = shared_processors()
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(settings.env == "production"),
        ],
    )
    handler = StderrHandler(sys.stderr)
    handler.setFormatter(formatter)
    _replace_handler(logging.getLogger(), handler)
    logging.getLogger().setLevel(level)
    for name in SELF_HANDLED_LOGGERS:
        _replace_handler(logging.getLogger(name), handler)
        logging.getLogger(name).propagate = False
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def _replace_handler(logger: logging.Logger, handler: logging.Handler) -> None:
    for old in [h for h in logger.handlers if isinstance(h, StderrHandler) or h.name == DBOS_CONSOLE_HANDLER]:
        logger.removeHandler(old)
    logger.addHandler(handler)
