"""The WooCommerce simulator's ``/_sandbox/...`` control API: catalogue and stock, plus the shared routes
(faults, request log, config, state) of ``fenicia.sandbox.simkit.SandboxControl``.

No authentication (sandbox only). A bad body answers 400 ``{"error": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from fenicia.sandbox.simkit import SandboxControl, bulk_count, control_route, read_body

if TYPE_CHECKING:
    from fenicia.connectors.woocommerce.simulator import WooSimulator

ITEM_FIELDS = ("manage_stock", "stock_quantity", "backorders", "status")


class ControlApi:
    """The WooCommerce-specific routes of the control API, bound to one simulator."""

    def __init__(self, sim: WooSimulator) -> None:
        self.sim = sim
        self.store = sim.store

    async def add_product(self, request: Request) -> Any:
        """``{name, sku, type?: simple|variable, manage_stock?, stock_quantity?, backorders?}``."""
        body = await read_body(request)
        values = {k: body[k] for k in ITEM_FIELDS if k in body}
        product = self.store.add_product(str(body["name"]), str(body["sku"]), str(body.get("type", "simple")), **values)
        return self.store.render(product)

    async def add_variation(self, request: Request) -> Any:
        """``{sku, options: [..], manage_stock?: true|false|"parent", stock_quantity?}``."""
        body = await read_body(request)
        values = {k: body[k] for k in ITEM_FIELDS if k in body}
        options = [str(o) for o in body.get("options") or []]
        variation = self.store.add_variation(request.path_params["product_id"], str(body["sku"]), options, **values)
        return self.store.render(variation)

    async def set_stock(self, request: Request) -> Any:
        """``{sku, stock_quantity}``: what a stock edit or an order does."""
        body = await read_body(request)
        quantity = body.get("stock_quantity")
        item = self.store.set_stock(
            str(body["sku"]), None if quantity is None else int(quantity), self.sim.config.stock_change_touches_modified
        )
        return self.store.render(item)

    async def bulk_products(self, request: Request) -> Any:
        """``{count, prefix?, width?, stock_quantity?}``: simple products PREFIX00001... managing stock."""
        body = await read_body(request)
        count = bulk_count(body)
        prefix, width = str(body.get("prefix", "SKU")), int(body.get("width", 5))
        for number in range(1, count + 1):
            quantity = int(body.get("stock_quantity", 1))
            self.store.add_product(
                f"Bulk {number}", f"{prefix}{number:0{width}d}", manage_stock=True, stock_quantity=quantity
            )
        return {"created": count}

    def _apply_config(self, changed: list[str]) -> None:
        self.store.utc_offset_hours = self.sim.config.utc_offset_hours

    def routes(self) -> list[BaseRoute]:
        r = control_route
        sim = self.sim
        shared = SandboxControl(sim.faults, sim.requests, sim.config, sim.state, on_config=self._apply_config)
        return [
            r("/products", self.add_product, "POST"),
            r("/products/bulk", self.bulk_products, "POST"),
            r("/products/{product_id:int}/variations", self.add_variation, "POST"),
            r("/stock", self.set_stock, "POST"),
            *shared.routes(),
        ]


def control_routes(sim: WooSimulator) -> list[BaseRoute]:
    return ControlApi(sim).routes()
