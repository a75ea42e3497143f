"""How errors leave the API: one JSON shape, ``{"error": {"code", "message", "resolution"}}``, always.

- :class:`~fenicia.core.errors.FeniciaError` → its own ``http_status``;
- a request that doesn't match the schema → 422 listing every field problem (never the values sent,
  which may be credentials);
- Starlette's own HTTP errors (unknown path, wrong method) → the same shape;
- anything else → 500 with a generic message, logged with its traceback by :class:`CatchAllMiddleware`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fenicia.core.errors import FeniciaError

log = structlog.get_logger(__name__)

TOKEN_HELP = (
    "Send the header 'Authorization: Bearer <token>'. Create an API token in the dashboard "
    "(Settings → API tokens) or with the fenicia command line; it is shown once."
)
NOTHING_CHANGED = "Correct the request and send it again; nothing was changed."
INTERNAL_MESSAGE = "Something went wrong on our side; the request was not completed."
INTERNAL_RESOLUTION = "Try again in a moment. If it keeps failing, check the server logs."
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 401: "unauthenticated"}


class NotAuthenticated(FeniciaError):
    """No API token, or one that is unknown or revoked (401 with ``WWW-Authenticate: Bearer``)."""

    code = "unauthenticated"
    http_status = 401
    default_resolution = TOKEN_HELP


def error_response(
    status: int,
    code: str,
    message: str,
    resolution: str = "",
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "resolution": resolution, **extra}}
    return JSONResponse(body, status_code=status, headers=headers)


async def fenicia_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FeniciaError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return error_response(exc.http_status, exc.code, exc.message, exc.resolution, headers)


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return f"{'.'.join(rest)} ({where})" if rest else where
    return ".".join(parts)


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [{"field": _field_name(e.get("loc", ())), "problem": str(e.get("msg", ""))} for e in exc.errors()]
    listed = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
    message = f"The request is not valid: {listed}. Nothing was changed."
    return error_response(422, "invalid_input", message, NOTHING_CHANGED, fields=fields)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FeniciaError, fenicia_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)


class CatchAllMiddleware:
    """Turns an unexpected exception into a logged 500 in our JSON shape (no traceback to the client)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled_error", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            response = error_response(500, "internal_error", INTERNAL_MESSAGE, INTERNAL_RESOLUTION)
            await response(scope, receive, send)
