"""/settings: users (list, add), API tokens (create — shown once —, revoke) and the notification email;
owners and admins change them, staff only see them; every form needs its CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from fenicia.accounts.models import ApiToken, User, Workspace
from fenicia.accounts.services import create_user
from fenicia.db.engine import Database

PASSWORD = "correct horse battery"  # the tenants' password (see conftest)
Login = Callable[..., Response]
TOKEN_START = '<code class="token" id="new-token">'


def _users(db: Database) -> list[User]:
    with db.read_session() as s:
        return list(s.scalars(select(User).order_by(User.id)))


def _new_token(page: str) -> str:
    return page.split(TOKEN_START, 1)[1].split("</code>", 1)[0]


def test_the_page_lists_the_workspaces_users_tokens_and_email(
    client: TestClient, signed_in: str, tenant_a: Any, tenant_b: Any
) -> None:
    page = client.get("/settings").text
    assert tenant_a.email in page and "(you)" in page and tenant_b.email not in page
    assert "tests" in page and "Active" in page  # the factory's API token, by name
    assert "Now: <strong" in page and "@shop.test" in page
    assert 'action="/settings/users"' in page and "<fieldset disabled>" not in page


def test_an_owner_adds_a_user_who_can_then_sign_in(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, login: Login
) -> None:
    form = {"email": "Packer@Shop.test", "password": "packing-tape", "role": "staff", "csrf_token": signed_in}
    response = client.post("/settings/users", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/settings?done=user"
    added = _users(db)[-1]
    assert (added.email, added.role, added.workspace_id) == ("packer@shop.test", "staff", tenant_a.id)
    assert "User added." in client.get("/settings?done=user").text
    client.post("/logout", data={"csrf_token": signed_in})
    assert login(client, "packer@shop.test", "packing-tape").status_code == 303


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"email": "alpha@shop.test", "password": "long-enough"}, 409, "already exists"),
        ({"email": "new@shop.test", "password": "short"}, 422, "at least 8 characters"),
        ({"email": "not-an-email", "password": "long-enough"}, 422, "is not an email address"),
        ({"email": "boss@shop.test", "password": "long-enough", "role": "owner"}, 422, "not a role you can give"),
    ],
)
def test_a_refused_user_is_shown_beside_the_form_with_what_to_do(
    client: TestClient, signed_in: str, db: Database, form: dict[str, str], status: int, words: str
) -> None:
    before = len(_users(db))
    response = client.post("/settings/users", data={"role": "staff", **form, "csrf_token": signed_in})
    assert response.status_code == status and words in response.text and "What to do:" in response.text
    assert form["password"] not in response.text  # a password never comes back in the page
    assert len(_users(db)) == before


def test_an_api_token_is_shown_once_authenticates_and_is_refused_after_revoking(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database
) -> None:
    created = client.post("/settings/tokens", data={"name": "warehouse script", "csrf_token": signed_in})
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    token = _new_token(created.text)
    assert token.startswith("fen_") and "shown only this once" in created.text
    assert token not in client.get("/settings").text
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/orders", headers=bearer).status_code == 200
    with db.read_session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.name == "warehouse script")).one()
    assert row.workspace_id == tenant_a.id and row.prefix == token[:8]
    revoked = client.post(f"/settings/tokens/{row.id}/revoke", data={"csrf_token": signed_in}, follow_redirects=False)
    assert revoked.status_code == 303 and revoked.headers["location"] == "/settings?done=revoked"
    assert client.get("/api/v1/orders", headers=bearer).status_code == 401
    assert "Revoked" in client.get("/settings").text


def test_a_token_needs_a_name(client: TestClient, signed_in: str) -> None:
    response = client.post("/settings/tokens", data={"name": "  ", "csrf_token": signed_in})
    assert response.status_code == 422 and "needs a name" in response.text and TOKEN_START not in response.text


def test_another_workspaces_token_cannot_be_revoked(
    client: TestClient, signed_in: str, tenant_b: Any, db: Database
) -> None:
    with db.read_session() as s:
        theirs = s.scalars(select(ApiToken.id).where(ApiToken.workspace_id == tenant_b.id)).first()
    response = client.post(f"/settings/tokens/{theirs}/revoke", data={"csrf_token": signed_in})
    assert response.status_code == 404 and "What to do:" in response.text
    with db.read_session() as s:
        assert s.get(ApiToken, theirs).revoked_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize(("typed", "stored"), [("ops@alpha.test", "ops@alpha.test"), ("", None)])
def test_the_notification_email_is_changed_or_turned_off(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, typed: str, stored: str | None
) -> None:
    response = client.post("/settings/notification-email", data={"email": typed, "csrf_token": signed_in})
    assert response.status_code == 200 and "Notification email saved." in response.text
    with db.read_session() as s:
        assert s.get(Workspace, tenant_a.id).notification_email == stored  # type: ignore[union-attr]


def test_a_wrong_notification_email_is_refused_inline(client: TestClient, signed_in: str) -> None:
    response = client.post("/settings/notification-email", data={"email": "ops at shop", "csrf_token": signed_in})
    assert response.status_code == 422 and "is not an email address" in response.text and "ops at shop" in response.text


@pytest.fixture
def staff_client(client: TestClient, tenant_a: Any, db: Database, login: Login, csrf_of: Any) -> tuple[TestClient, str]:
    with db.session() as s:
        create_user(s, tenant_a.id, "staff@alpha.test", PASSWORD, role="staff")
    assert login(client, "staff@alpha.test").status_code == 303
    return client, csrf_of(client.get("/settings").text)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/settings/users", {"email": "x@alpha.test", "password": "long-enough"}),
        ("/settings/tokens", {"name": "sneaky"}),
        ("/settings/notification-email", {"email": "me@alpha.test"}),
    ],
)
def test_staff_see_the_forms_disabled_and_are_refused(
    staff_client: tuple[TestClient, str], db: Database, path: str, form: dict[str, str]
) -> None:
    client, csrf = staff_client
    page = client.get("/settings").text
    assert page.count("<fieldset disabled>") == 3 and "Only an owner or admin" in page
    response = client.post(path, data={**form, "csrf_token": csrf})
    assert response.status_code == 403 and "Only an owner or admin" in response.text and "What to do:" in response.text
    assert [u.email for u in _users(db)].count("x@alpha.test") == 0


@pytest.mark.parametrize("path", ["/settings/users", "/settings/tokens", "/settings/notification-email"])
def test_every_settings_form_needs_its_csrf_token(client: TestClient, signed_in: str, path: str) -> None:
    response = client.post(path, data={"email": "x@alpha.test", "password": "long-enough", "name": "n"})
    assert response.status_code == 403 and "security token" in response.text
