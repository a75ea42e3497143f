"""The dashboard's routers, one module per page family, all using :class:`~fenicia.web.routing.WebRoute`."""

from __future__ import annotations

from fastapi import APIRouter

from fenicia.web.routes import (
    auth,
    channel_setup,
    channels,
    home,
    inventory,
    inventory_mapping,
    inventory_setup,
    inventory_unmapped,
    live,
    notifications,
    order_actions,
    orders,
    products,
    settings,
    static,
)


def web_router() -> APIRouter:
    """Every dashboard route: pages, partials, forms, the live stream and the static files."""
    router = APIRouter(include_in_schema=False)
    # channel_setup before channels: "/channels/new" must not be read as "/channels/{connection_id}"
    # the same for the inventory sources' fixed paths ("/new", "/unmapped") before "/{source_id}"
    sources = (inventory_setup, inventory_mapping, inventory_unmapped, inventory)
    pages = (auth, home, channel_setup, channels, orders, order_actions, notifications, settings, *sources, products)
    for module in (*pages, live, static):
        router.include_router(module.router)
    return router
