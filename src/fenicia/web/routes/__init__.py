"""The dashboard's routers, one module per page family, all using :class:`~fenicia.web.routing.WebRoute`."""

from __future__ import annotations

from fastapi import APIRouter

from fenicia.web.routes import auth, channels, home, live, notifications, order_actions, orders, static


def web_router() -> APIRouter:
    """Every dashboard route: pages, partials, forms, the live stream and the static files."""
    router = APIRouter(include_in_schema=False)
    for module in (auth, home, channels, orders, order_actions, notifications, live, static):
        router.include_router(module.router)
    return router
