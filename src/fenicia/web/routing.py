"""How dashboard routes fail: as HTML pages, never as the API's JSON.

Every dashboard route uses :class:`WebRoute`, which turns the exceptions below, and any
:class:`~fenicia.core.errors.FeniciaError` a service raises, into a page with the message and the
resolution and the error's own 4xx status; anything unexpected is logged and shown as a 500 page that
still says what to do. It also adds the security headers every page needs.
The API's JSON error handlers never see these exceptions, so both live in one app side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from fenicia.core.errors import FeniciaError
from fenicia.web.render import render_error

log = structlog.get_logger(__name__)
UNEXPECTED_MESSAGE = "Fenicia hit an unexpected error and could not finish this page (details are in the server's log)."
UNEXPECTED_FIX = "Reload the page to see what was saved, then try again; if it keeps happening, check the server's log."
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class LoginRequired(Exception):
    """No valid session cookie on a page: send the browser to /login (and back here afterwards)."""


class Refused(FeniciaError):
    """A request the dashboard refuses outright (no session cookie on a POST, bad CSRF token, too many logins)."""

    code = "refused"
    http_status = 403

    def __init__(
        self, message: str, *, resolution: str, status: int = 403, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, resolution=resolution)
        self.http_status = status
        self.headers = headers or {}


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def login_redirect(request: Request) -> Response:
    """To /login, remembering the page; htmx requests get ``HX-Redirect`` so the whole page moves."""
    target = request.url.path
    if request.url.query:
        target += f"?{request.url.query}"
    location = f"/login?next={quote(target, safe='')}"
    if is_htmx(request) or request.url.path.startswith(("/partials/", "/events/")):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def _error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        return login_redirect(request)
    if isinstance(exc, RequestValidationError):  # a malformed id in the path: nothing by that name
        return render_error(request, 404, "There is no such page.", "Check the address, or go back to the list.")
    assert isinstance(exc, FeniciaError)
    response = render_error(request, exc.http_status, exc.message, exc.resolution)
    if isinstance(exc, Refused):
        response.headers.update(exc.headers)
    return response


class WebRoute(APIRoute):
    """An APIRoute whose failures are HTML pages and whose responses carry the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except (LoginRequired, RequestValidationError, FeniciaError) as exc:
                response = _error_page(request, exc)
            except HTTPException:
                raise  # Starlette's own (e.g. a malformed form body): its status and handler stand
            except Exception:
                log.exception("dashboard_unexpected_error", path=request.url.path, method=request.method)
                response = render_error(request, 500, UNEXPECTED_MESSAGE, UNEXPECTED_FIX)
            response.headers.update(SECURITY_HEADERS)
            return response

        return guarded
