"""What dashboard routes take from the app: database, dispatcher, settings; and the hand-over to the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import structlog
from fastapi import Depends, Request

from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher

log = structlog.get_logger(__name__)


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


DbDep = Annotated[Database, Depends(get_db)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


def dispatch(call: Callable[..., None], *args: int) -> None:
    """Hands committed work to the engine. A failure is logged, not shown: the work is already in our
    tables, and the engine's reconciler enqueues whatever was not handed over."""
    try:
        call(*args)
    except Exception:
        log.exception("dashboard_dispatch_failed", call=getattr(call, "__name__", repr(call)), args=args)
