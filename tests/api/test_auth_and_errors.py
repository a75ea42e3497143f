"""Bearer tokens, the one error shape, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fenicia.accounts.services import authenticate_token, revoke_api_token
from fenicia.db.engine import Database


def _assert_401(response: Any) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert "Authorization: Bearer" in error["resolution"]
    assert "API token" in error["resolution"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer fen_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_missing_or_invalid_token_is_401(client: TestClient, tenant_a: Any, headers: dict[str, str]) -> None:
    for path in ("/api/v1/connections", "/api/v1/orders", "/api/v1/notifications", "/api/v1/workspace"):
        _assert_401(client.get(path, headers=headers))


def test_revoked_token_is_401(client: TestClient, db: Database, tenant_a: Any) -> None:
    assert client.get("/api/v1/workspace", headers=tenant_a.headers).status_code == 200
    with db.session() as s:
        row = authenticate_token(s, tenant_a.token)
        assert row is not None
        revoke_api_token(s, tenant_a.id, row.id)
    _assert_401(client.get("/api/v1/workspace", headers=tenant_a.headers))


def test_write_without_token_changes_nothing(client: TestClient, tenant_a: Any) -> None:
    body = {"channel": "shopify", "name": "x", "settings": {"shop_url": "a.myshopify.com"}}
    _assert_401(client.post("/api/v1/connections", json=body))
    assert client.get("/api/v1/connections", headers=tenant_a.headers).json() == []


def test_schema_errors_list_each_field_and_say_nothing_changed(client: TestClient, tenant_a: Any) -> None:
    response = client.post("/api/v1/connections", json={"channel": "shopify", "name": ""}, headers=tenant_a.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "name (body)" in error["message"]
    assert "Nothing was changed" in error["message"]
    assert error["fields"][0]["field"] == "name (body)"
    bad_query = client.get("/api/v1/orders?limit=0&offset=-1", headers=tenant_a.headers)
    assert bad_query.status_code == 422
    assert {f["field"] for f in bad_query.json()["error"]["fields"]} == {"limit (query)", "offset (query)"}


def test_schema_error_never_echoes_the_values_sent(client: TestClient, tenant_a: Any) -> None:
    body = {"channel": "shopify", "name": "x", "credentials": "shpat_SUPERSECRET"}
    response = client.post("/api/v1/connections", json=body, headers=tenant_a.headers)
    assert response.status_code == 422
    assert "SUPERSECRET" not in response.text


def test_unknown_path_uses_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unexpected_exception_is_a_generic_500(app: FastAPI, tenant_a: Any) -> None:
    def boom() -> None:
        raise RuntimeError("database password is hunter2")

    app.add_api_route("/api/v1/_boom", boom)
    with TestClient(app) as client:
        response = client.get("/api/v1/_boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text


def test_openapi_and_swagger_ui(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    for path in (
        "/api/v1/connections",
        "/api/v1/connections/{connection_id}/sync",
        "/api/v1/runs/{run_id}",
        "/api/v1/orders/{order_id}/ship",
        "/api/v1/actions/{action_id}/retry",
        "/api/v1/notifications/read-all",
        "/api/v1/workspace",
        "/webhooks/{channel}/{connection_id}",
        "/healthz",
    ):
        assert path in spec["paths"], path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
