"""/login, /logout, the session cookie, the login rate limit and CSRF on the login form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from fenicia.accounts.models import LoginSession
from fenicia.core.clock import utcnow
from fenicia.db.engine import Database

PASSWORD = "correct horse battery"  # the tenants' password (see conftest)
Login = Callable[..., Response]
CsrfOf = Callable[[str], str]


def _sessions(db: Database) -> int:
    with db.read_session() as s:
        return int(s.scalar(select(func.count(LoginSession.id))) or 0)


def _session_cookie(response: Response) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith("fenicia_session="))


def test_login_sets_an_httponly_lax_session_cookie_and_goes_to_next(
    client: TestClient, tenant_a: Any, db: Database, login: Login
) -> None:
    response = login(client, tenant_a.email, next="/orders?status=pending")
    assert response.status_code == 303
    assert response.headers["location"] == "/orders?status=pending"
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert _sessions(db) == 1
    assert client.get("/").status_code == 200


def test_session_cookie_is_secure_over_https(app: FastAPI, tenant_a: Any, login: Login) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        response = login(client, tenant_a.email)
    assert "Secure" in _session_cookie(response)


def test_next_never_leaves_the_site(client: TestClient, tenant_a: Any, login: Login) -> None:
    assert login(client, tenant_a.email, next="//evil.example/x").headers["location"] == "/"


def test_wrong_password_shows_the_error_and_sets_no_session(
    client: TestClient, tenant_a: Any, db: Database, login: Login
) -> None:
    response = login(client, tenant_a.email, "wrong password")
    assert response.status_code == 401
    assert "The email or password is not right." in response.text and "What to do:" in response.text
    assert "fenicia_session" not in response.headers.get("set-cookie", "")
    assert _sessions(db) == 0
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sixth_attempt_in_15_minutes_is_refused_with_429_until_the_window_passes(
    client: TestClient, tenant_a: Any, login: Login
) -> None:
    with time_machine.travel(utcnow(), tick=False) as clock:
        for _ in range(5):
            assert login(client, tenant_a.email, "nope-nope").status_code == 401
        blocked = login(client, tenant_a.email, PASSWORD)  # even the right password waits
        assert blocked.status_code == 429
        assert "Too many failed sign-ins" in blocked.text and "try again at" in blocked.text
        assert "What to do:" in blocked.text
        assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
        assert login(client, "someone-else@shop.test", "nope-nope").status_code == 401  # its own count
        clock.shift(timedelta(minutes=15, seconds=1))
        assert login(client, tenant_a.email, PASSWORD).status_code == 303


def test_login_post_without_its_cookie_is_refused(app: FastAPI, tenant_a: Any, db: Database, csrf_of: CsrfOf) -> None:
    with TestClient(app) as first:
        token = csrf_of(first.get("/login").text)
    with TestClient(app) as cookieless:
        response = cookieless.post("/login", data={"email": tenant_a.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 403
    assert "without its cookie" in response.text and "Allow cookies" in response.text
    assert _sessions(db) == 0


def test_login_post_with_a_forged_token_is_refused(client: TestClient, tenant_a: Any) -> None:
    client.get("/login")
    response = client.post("/login", data={"email": tenant_a.email, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403 and "expired" in response.text


def test_logout_ends_the_session(client: TestClient, db: Database, signed_in: str) -> None:
    response = client.post("/logout", data={"csrf_token": signed_in}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert _sessions(db) == 0
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_logout_without_csrf_token_is_refused(client: TestClient, db: Database, signed_in: str) -> None:
    response = client.post("/logout", data={}, follow_redirects=False)
    assert response.status_code == 403 and "security token" in response.text
    assert _sessions(db) == 1


def test_signed_in_user_visiting_login_goes_home(client: TestClient, signed_in: str) -> None:
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
