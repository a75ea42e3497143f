"""/settings: the workspace's users (list, add), API tokens (list, create — shown once —, revoke) and the
notification email.

Owners and admins change users and tokens; staff see the lists with the forms disabled and the reason.
A new API token is shown in the page that answers the form, once: it is never stored, only its hash.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from fenicia.accounts.services import (
    ROLES,
    can_manage,
    create_api_token,
    create_user,
    get_user,
    get_workspace,
    list_api_tokens,
    list_users,
    revoke_api_token,
    set_notification_email,
)
from fenicia.accounts.sessions import SignedIn
from fenicia.core.errors import FeniciaError
from fenicia.db.engine import Database
from fenicia.web.auth import FormUser, PageUser
from fenicia.web.deps import DbDep
from fenicia.web.forms import FormError
from fenicia.web.render import page_context, render
from fenicia.web.routing import Refused, WebRoute

router = APIRouter(route_class=WebRoute)

TextField = Annotated[str, Form()]
NEW_USER_ROLES = tuple(r for r in ROLES if r != "owner")
MAX_TOKEN_NAME = 200
MANAGERS_ONLY = "Only an owner or admin of the workspace can do this."
MANAGERS_ONLY_FIX = "Ask an owner or admin of your workspace to do it for you."
FIXES = {  # when a service's error has no resolution of its own
    "user": "Use another email address, or ask that person to sign in with theirs.",
}


def settings_page(
    request: Request,
    user: SignedIn,
    db: Database,
    *,
    error: FormError | None = None,
    values: dict[str, Any] | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> Response:
    """The page; after a form, with its error and what was typed (never a password), or the new token."""
    with db.read_session() as session:
        me = get_user(session, user.workspace_id, user.user_id)
        context = page_context(
            session,
            user,
            request,
            workspace=get_workspace(session, user.workspace_id),
            users=list_users(session, user.workspace_id),
            tokens=list_api_tokens(session, user.workspace_id),
            manager=can_manage(me),
            managers_only=MANAGERS_ONLY,
            roles=NEW_USER_ROLES,
            error=error,
            values=values or {},
            new_token=new_token,
        )
    response = render(request, "settings.html", context, status=status)
    return response


def _require_manager(db: Database, user: SignedIn) -> None:
    with db.read_session() as session:
        if not can_manage(get_user(session, user.workspace_id, user.user_id)):
            raise Refused(MANAGERS_ONLY, resolution=MANAGERS_ONLY_FIX)


def _failed(request: Request, user: SignedIn, db: Database, form: str, exc: FeniciaError, **values: Any) -> Response:
    error = FormError(form, exc.message, exc.resolution or FIXES.get(form, "Correct the form and submit it again."))
    return settings_page(request, user, db, error=error, values=values, status=exc.http_status)


@router.get("/settings")
def settings(request: Request, user: PageUser, db: DbDep) -> Response:
    return settings_page(request, user, db)


@router.post("/settings/users")
def add_user(
    request: Request,
    user: FormUser,
    db: DbDep,
    email: TextField = "",
    password: TextField = "",
    role: TextField = "staff",
) -> Response:
    _require_manager(db, user)
    try:
        if role not in NEW_USER_ROLES:
            raise Refused(f"'{role}' is not a role you can give.", resolution="Pick admin or staff.", status=422)
        with db.session() as session:
            create_user(session, user.workspace_id, email, password, role=role)
    except FeniciaError as exc:
        return _failed(request, user, db, "user", exc, email=email, role=role)
    return RedirectResponse("/settings?done=user", status_code=303)


@router.post("/settings/tokens")
def new_token(request: Request, user: FormUser, db: DbDep, name: TextField = "") -> Response:
    """Creates a token and answers with the page showing it, once (the page is never cached)."""
    _require_manager(db, user)
    label = name.strip()
    if not label or len(label) > MAX_TOKEN_NAME:
        error = FormError(
            "token",
            f"The token needs a name of 1 to {MAX_TOKEN_NAME} characters.",
            "Name it after what will use it, e.g. 'warehouse script'.",
        )
        return settings_page(request, user, db, error=error, values={"name": name}, status=422)
    with db.session() as session:
        _, raw = create_api_token(session, user.workspace_id, label, user_id=user.user_id)
    return settings_page(request, user, db, new_token=raw, status=201)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(token_id: int, user: FormUser, db: DbDep) -> Response:
    _require_manager(db, user)
    with db.session() as session:
        revoke_api_token(session, user.workspace_id, token_id)
    return RedirectResponse("/settings?done=revoked", status_code=303)


@router.post("/settings/notification-email")
def notification_email(request: Request, user: FormUser, db: DbDep, email: TextField = "") -> Response:
    """A blank address turns notification emails off (the in-app list keeps every notification)."""
    _require_manager(db, user)
    try:
        with db.session() as session:
            set_notification_email(session, user.workspace_id, email.strip() or None)
    except FeniciaError as exc:
        return _failed(request, user, db, "email", exc, notification_email=email)
    return RedirectResponse("/settings?done=email", status_code=303)
