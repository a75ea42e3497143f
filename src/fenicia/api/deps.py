"""What routes receive: the app's database, secret box, settings and dispatcher, and the caller's workspace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fenicia.accounts.services import authenticate_token
from fenicia.api.errors import NotAuthenticated
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False, description="An API token of your workspace.")


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


def current_workspace_id(
    db: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """The workspace of the bearer token; 401 when it is missing, unknown or revoked."""
    if credentials is None or not credentials.credentials.strip():
        raise NotAuthenticated("This endpoint needs an API token.")
    with db.read_session() as session:
        token = authenticate_token(session, credentials.credentials.strip())
        if token is None:
            raise NotAuthenticated("The API token is unknown or has been revoked.")
        return token.workspace_id


DbDep = Annotated[Database, Depends(get_db)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
WorkspaceId = Annotated[int, Depends(current_workspace_id)]


def after_commit(call: Callable[..., None], *args: Any) -> None:
    """Hands committed work to the engine. A failed hand-over is logged, not raised: the work is
    already in our tables, and the engine's reconciler picks up anything that was not enqueued."""
    try:
        call(*args)
    except Exception:
        log.exception("dispatch_failed", call=getattr(call, "__name__", repr(call)), args=args)
