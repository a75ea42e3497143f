"""What dashboard routes take from the app: database, secret box, settings, dispatcher; and the hand-over to
the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import structlog
from fastapi import Depends, Request

from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher

log = structlog.get_logger(__name__)


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


DbDep = Annotated[Database, Depends(get_db)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


def dispatch(call: Callable[..., None], *args: int) -> None:
    """Hands committed work to the engine. A failure is logged, not shown: the work is already in our
    tables, and the engine's reconciler enqueues whatever was not handed over."""
    try:
        call(*args)
    except Exception:
        log.exception("dashboard_dispatch_failed", call=getattr(call, "__name__", repr(call)), args=args)
