"""The ShipHero simulator's ``/_sandbox/...`` control API: stock, tokens and credits, plus the shared
routes (faults, request log, config, state) of ``fenicia.sandbox.simkit.SandboxControl``.

No authentication (sandbox only). A bad body answers 400 ``{"error": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from fenicia.sandbox.simkit import SandboxControl, bulk_count, control_route, read_body

if TYPE_CHECKING:
    from fenicia.connectors.shiphero.simulator import ShipheroSimulator

QUANTITIES = ("name", "on_hand", "allocated", "reserve_inventory", "non_sellable_quantity", "sell_ahead", "active")


class ControlApi:
    """The ShipHero-specific routes of the control API, bound to one simulator."""

    def __init__(self, sim: ShipheroSimulator) -> None:
        self.sim = sim
        self.store = sim.store

    async def set_product(self, request: Request) -> Any:
        """``{sku, warehouse: id|identifier|legacy id, name?, on_hand?, allocated?, ..., account_id?}``."""
        body = await read_body(request)
        values = {k: body[k] for k in QUANTITIES if k in body}
        product = self.store.set_product(str(body["sku"]), body["warehouse"], body.get("account_id"), **values)
        return product.public(self.store.names)

    async def bulk_products(self, request: Request) -> Any:
        """``{count, prefix?, width?, warehouse?, on_hand?}``: SKUs PREFIX00001... in one warehouse."""
        body = await read_body(request)
        count = bulk_count(body)
        prefix, width = str(body.get("prefix", "SKU")), int(body.get("width", 5))
        warehouse = body.get("warehouse", "Primary")
        for number in range(1, count + 1):
            self.store.set_product(f"{prefix}{number:0{width}d}", warehouse, on_hand=int(body.get("on_hand", 1)))
        return {"created": count}

    async def list_products(self, request: Request) -> Any:
        return [p.public(self.store.names) for p in self.store.products.values()]

    async def add_warehouse(self, request: Request) -> Any:
        body = await read_body(request)
        return self.store.add_warehouse(int(body["legacy_id"]), str(body["identifier"]))

    async def expire_tokens(self, request: Request) -> Any:
        self.store.expire_tokens()
        return {"expired": len(self.store.access_tokens)}

    async def set_credits(self, request: Request) -> Any:
        body = await read_body(request)
        self.store.credits.refill()
        self.store.credits.remaining = float(body["remaining"])
        return {"remaining": self.store.credits.remaining}

    def _apply_config(self, changed: list[str]) -> None:
        self.store.credits.maximum = self.sim.config.credits_max
        self.store.credits.restore_per_s = self.sim.config.credits_restore_per_s

    def routes(self) -> list[BaseRoute]:
        r = control_route
        sim = self.sim
        shared = SandboxControl(sim.faults, sim.requests, sim.config, sim.state, on_config=self._apply_config)
        return [
            r("/products", self.list_products),
            r("/products", self.set_product, "POST"),
            r("/products/bulk", self.bulk_products, "POST"),
            r("/warehouses", self.add_warehouse, "POST"),
            r("/tokens/expire", self.expire_tokens, "POST"),
            r("/credits", self.set_credits, "POST"),
            *shared.routes(),
        ]


def control_routes(sim: ShipheroSimulator) -> list[BaseRoute]:
    return ControlApi(sim).routes()
