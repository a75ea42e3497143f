"""Mount a simulated shop on Fenicia's own web app, so the demo needs one port and one process.

The connector reaches it over real HTTP at ``{base_url}/_sim/shopify/{slug}/admin/api/...``, exactly
as it reaches a real store; the simulator's ``/_sandbox/...`` control API sits beside it.
"""

from __future__ import annotations

from fastapi import FastAPI

from fenicia.connectors.shopify.simulator import ShopifySimulator
from fenicia.sandbox.records import DEMO_SLUG, SIM_MOUNT_PREFIX


def shopify_mount_path(slug: str = DEMO_SLUG) -> str:
    return f"{SIM_MOUNT_PREFIX}/{slug}"


def mount_shopify_simulator(app: FastAPI, simulator: ShopifySimulator, slug: str = DEMO_SLUG) -> str:
    """Serves ``simulator`` under ``/_sim/shopify/{slug}``; returns that path.

    A mounted app's lifespan is not run by Starlette: the owner starts and stops the simulator.
    """
    path = shopify_mount_path(slug)
    app.mount(path, simulator.app, name=f"sim-shopify-{slug}")
    return path
