"""The dashboard: server-rendered Jinja2 pages, htmx partials, a Server-Sent Events stream, static files.

A thin adapter: every route calls services (``accounts``, ``channels``, ``orders``, ``notifications``)
and builds no queries. Mount it on the app built by :func:`fenicia.api.app.create_app`::

    app = create_app(settings=..., db=..., box=..., dispatcher=...)
    mount_web(app)

It reads ``app.state.db`` and ``app.state.dispatcher``, and keeps its in-memory login rate limiter on
``app.state.web_login_limiter``.
"""

from __future__ import annotations

from fastapi import FastAPI

from fenicia.web.routes import web_router


def mount_web(app: FastAPI) -> None:
    """Adds the dashboard's routes to ``app`` (same as ``app.include_router(web_router())``)."""
    app.include_router(web_router())


__all__ = ["mount_web", "web_router"]
