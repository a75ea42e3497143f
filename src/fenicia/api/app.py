"""The FastAPI application: REST API under /api/v1, webhooks, health and metrics.

``create_app`` wires everything from explicit arguments (no globals), so the server, the tests and the
end-to-end harness build the same app. The dashboard and the sandbox are added by their own packages
with ``app.include_router(...)`` and ``app.mount(...)`` on the returned app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from fenicia.api.errors import CatchAllMiddleware, install_error_handlers
from fenicia.api.intake import WebhookIntake
from fenicia.api.metrics import MetricsMiddleware
from fenicia.api.routes import connections, health, inventory, notifications, orders, products, stock, webhooks
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher

API_DESCRIPTION = """\
Fenicia keeps orders and stock in sync across marketplaces.

Authenticate with `Authorization: Bearer <API token>`; every call sees only the token's workspace.
Errors always look like `{"error": {"code", "message", "resolution"}}`, and a 4xx changed nothing.
"""


def create_app(
    *,
    settings: Settings,
    db: Database,
    box: SecretBox,
    dispatcher: Dispatcher,
    engine_state: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Fenicia",
        version=settings.app_version,
        description=API_DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.box = box
    app.state.dispatcher = dispatcher
    app.state.engine_state = engine_state
    app.state.webhook_intake = WebhookIntake(db, box)
    install_error_handlers(app)
    for module in (connections, orders, notifications, webhooks, health, products, stock, inventory):
        app.include_router(module.router)
    _install_middleware(app, settings)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # Added innermost first: the metrics middleware is outermost so it also times our 500 answers.
    app.add_middleware(CatchAllMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["X-Total-Count"],
        )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(webhooks.WebhookFastPath)  # outermost: webhooks skip the layers above
