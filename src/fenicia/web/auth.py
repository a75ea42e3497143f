"""Who is signed in: the session cookie, CSRF checks on every form, and the login form's own CSRF cookie.

Cookies are HttpOnly, SameSite=Lax, and Secure when the request came over https. A POST without a
session cookie, or whose CSRF token doesn't match the session's, is refused with 403 and changes nothing.
"""

from __future__ import annotations

import secrets
import threading
from typing import Annotated

from fastapi import Depends, Form, Request, Response

from fenicia.accounts.sessions import SESSION_LIFETIME, LoginRateLimiter, SignedIn, csrf_matches, find_login_session
from fenicia.web.deps import DbDep
from fenicia.web.pulse import remember_page_pulse
from fenicia.web.routing import LoginRequired, Refused

SESSION_COOKIE = "fenicia_session"
LOGIN_CSRF_COOKIE = "fenicia_login_csrf"
LOGIN_CSRF_MAX_AGE_SECONDS = 3600
CSRF_HEADER = "X-CSRF-Token"
NO_COOKIE_MESSAGE = "Your browser sent this form without Fenicia's session cookie, so it was refused; nothing changed."
SESSION_ENDED_MESSAGE = "Your session has ended (signed out or expired), so this form was refused; nothing changed."
BAD_CSRF_MESSAGE = "This form's security token does not match your session, so it was refused; nothing changed."
_limiter_lock = threading.Lock()


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(value: str | None) -> str:
    """Only paths on this site: never ``//evil.example`` or an absolute URL."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def signed_in(request: Request, db: DbDep) -> SignedIn | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    with db.read_session() as session:
        return find_login_session(session, raw)


def page_user(request: Request, db: DbDep, user: Annotated[SignedIn | None, Depends(signed_in)]) -> SignedIn:
    """The signed-in user of a page or partial; otherwise the browser goes to /login. A full page's live
    fingerprints are read here, before the page reads its data (see :mod:`fenicia.web.pulse`)."""
    if user is None:
        raise LoginRequired()
    remember_page_pulse(request, db, user.workspace_id)
    return user


def form_user(
    request: Request,
    user: Annotated[SignedIn | None, Depends(signed_in)],
    csrf_token: Annotated[str, Form()] = "",
) -> SignedIn:
    """The signed-in user of a POST, after checking its CSRF token (form field or ``X-CSRF-Token``)."""
    if not request.cookies.get(SESSION_COOKIE):
        raise Refused(NO_COOKIE_MESSAGE, resolution="Allow cookies for this site, sign in, and repeat the action.")
    if user is None:
        raise Refused(SESSION_ENDED_MESSAGE, resolution="Sign in again, then repeat the action.")
    if not csrf_matches(user.csrf_token, csrf_token or request.headers.get(CSRF_HEADER)):
        raise Refused(BAD_CSRF_MESSAGE, resolution="Reload the page and submit the form again.")
    return user


PageUser = Annotated[SignedIn, Depends(page_user)]
FormUser = Annotated[SignedIn, Depends(form_user)]
MaybeUser = Annotated[SignedIn | None, Depends(signed_in)]


def set_session_cookie(response: Response, request: Request, raw_token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw_token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


# --- the login form: a double-submit cookie, since there is no session yet -----------------------------


def login_csrf_token(request: Request) -> str:
    """The login form's token: the one already in the browser's cookie, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=LOGIN_CSRF_MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/login",
    )


def check_login_csrf(request: Request, submitted: str) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie:
        raise Refused(
            "Your browser sent the sign-in form without its cookie, so it was refused.",
            resolution="Allow cookies for this site, reload the sign-in page and try again.",
        )
    if not csrf_matches(cookie, submitted):
        raise Refused(
            "The sign-in form has expired, so it was refused.", resolution="Reload the sign-in page and try again."
        )


def login_limiter(request: Request) -> LoginRateLimiter:
    """The app's in-memory login limiter (see :mod:`fenicia.accounts.sessions`), made on first use."""
    state = request.app.state
    with _limiter_lock:
        limiter: LoginRateLimiter | None = getattr(state, "web_login_limiter", None)
        if limiter is None:
            limiter = LoginRateLimiter()
            state.web_login_limiter = limiter
    return limiter
