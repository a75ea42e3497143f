"""/login and /logout."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from fenicia.accounts.services import authenticate_user
from fenicia.accounts.sessions import LoginRateLimiter, create_login_session, end_login_session, purge_expired_sessions
from fenicia.core.clock import utcnow
from fenicia.db.engine import Database
from fenicia.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    FormUser,
    MaybeUser,
    check_login_csrf,
    clear_session_cookie,
    client_ip,
    login_csrf_token,
    login_limiter,
    safe_next,
    set_login_csrf_cookie,
    set_session_cookie,
)
from fenicia.web.deps import DbDep
from fenicia.web.render import format_time, render
from fenicia.web.routing import Refused, WebRoute

router = APIRouter(route_class=WebRoute)

WRONG_LOGIN = "The email or password is not right."
WRONG_LOGIN_FIX = "Check both (is Caps Lock on?) and try again."


def _login_page(request: Request, email: str, next_: str, error: str | None = None, status: int = 200) -> Response:
    token = login_csrf_token(request)
    context = {"csrf_token": token, "email": email, "next": safe_next(next_), "error": error, "fix": WRONG_LOGIN_FIX}
    response = render(request, "login.html", context, status=status)
    set_login_csrf_cookie(response, request, token)
    return response


@router.get("/login")
def login_form(request: Request, user: MaybeUser, next_: Annotated[str, Query(alias="next")] = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next_), status_code=303)
    return _login_page(request, "", next_)


def _refuse_if_limited(limiter: LoginRateLimiter, email: str, ip: str) -> None:
    until = limiter.blocked_until(email, ip)
    if until is None:
        return
    wait_seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    raise Refused(
        f"Too many failed sign-ins for {email.strip() or 'this email'} from your address. "
        f"You can try again at {format_time(until)} (in {_minutes(wait_seconds)}).",
        resolution="Wait until then, and check the email and password before trying again.",
        status=429,
        headers={"Retry-After": str(wait_seconds)},
    )


def _minutes(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@router.post("/login")
def login_submit(
    request: Request,
    db: DbDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Checks the form's CSRF cookie, then the rate limit, then the password (argon2)."""
    check_login_csrf(request, csrf_token)
    limiter, ip = login_limiter(request), client_ip(request)
    _refuse_if_limited(limiter, email, ip)
    raw_token = _sign_in(db, email, password, utcnow())
    if raw_token is None:
        limiter.record_failure(email, ip)
        return _login_page(request, email, next_, error=WRONG_LOGIN, status=401)
    limiter.reset(email, ip)
    response = RedirectResponse(safe_next(next_), status_code=303)
    set_session_cookie(response, request, raw_token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _sign_in(db: Database, email: str, password: str, now: datetime) -> str | None:
    """A new session's cookie token, or None when the email or password is wrong."""
    with db.session() as session:
        user = authenticate_user(session, email, password)
        if user is None:
            return None
        purge_expired_sessions(session, now=now)
        _, raw_token = create_login_session(session, user, now=now)
        return raw_token


@router.post("/logout")
def logout(request: Request, user: FormUser, db: DbDep) -> Response:
    with db.session() as session:
        end_login_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    return response
