"""The Odoo simulator's ``/_sandbox/...`` control API: seed and change stock, plus the shared routes
(faults, request log, config, state) of ``fenicia.sandbox.simkit.SandboxControl``.

No authentication (sandbox only). Bodies and answers are JSON; a bad body answers 400 ``{"error": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from fenicia.sandbox.simkit import SandboxControl, bulk_count, control_route, read_body

if TYPE_CHECKING:
    from fenicia.connectors.odoo.simulator import OdooSimulator


class ControlApi:
    """The Odoo-specific routes of the control API, bound to one simulator."""

    def __init__(self, sim: OdooSimulator) -> None:
        self.sim = sim
        self.store = sim.store

    async def add_product(self, request: Request) -> Any:
        body = await read_body(request)
        return self.store.add_product(body.get("default_code"), str(body.get("name") or body.get("default_code")))["id"]

    async def bulk_products(self, request: Request) -> Any:
        """``{count, prefix?, width?, location?, quantity?, reserved?}``: products PREFIX00001... with one quant."""
        body = await read_body(request)
        count = bulk_count(body)
        location = self.store.find_location(body.get("location", "WH/Stock"))["id"]
        prefix, width = str(body.get("prefix", "SKU")), int(body.get("width", 5))
        for number in range(1, count + 1):
            product = self.store.add_product(f"{prefix}{number:0{width}d}", f"Bulk product {number}")
            self.store.set_quant(
                product["id"], location, float(body.get("quantity", 1)), float(body.get("reserved", 0))
            )
        return {"created": count}

    async def set_quant(self, request: Request) -> Any:
        """``{product: id|code, location: id|full name, quantity, reserved_quantity?, lot?}``."""
        body = await read_body(request)
        product = self.store.find_product(body["product"])["id"]
        location = self.store.find_location(body["location"])["id"]
        quant = self.store.set_quant(
            product, location, float(body["quantity"]), float(body.get("reserved_quantity", 0)), int(body.get("lot", 0))
        )
        return self.store.render("stock.quant", quant, None, None)

    async def delete_quant(self, request: Request) -> Any:
        return {"deleted": self.store.unlink_quant(int(request.path_params["quant_id"]))}

    async def list_quants(self, request: Request) -> Any:
        return [self.store.render("stock.quant", q, None, None) for q in self.store.records["stock.quant"].values()]

    async def add_location(self, request: Request) -> Any:
        body = await read_body(request)
        parent = self.store.find_location(body["parent"])["id"] if body.get("parent") is not None else None
        location = self.store.add_location(str(body["name"]), parent, str(body.get("usage", "internal")))
        return {"id": location["id"], "complete_name": self.store.complete_name(location)}

    async def add_warehouse(self, request: Request) -> Any:
        body = await read_body(request)
        return self.store.add_warehouse(str(body["name"]), str(body["code"]))["id"]

    def routes(self) -> list[BaseRoute]:
        r = control_route
        shared = SandboxControl(self.sim.faults, self.sim.requests, self.sim.config, self.sim.state)
        return [
            r("/products", self.add_product, "POST"),
            r("/products/bulk", self.bulk_products, "POST"),
            r("/quants", self.list_quants),
            r("/quants", self.set_quant, "POST"),
            r("/quants/{quant_id:int}", self.delete_quant, "DELETE"),
            r("/locations", self.add_location, "POST"),
            r("/warehouses", self.add_warehouse, "POST"),
            *shared.routes(),
        ]


def control_routes(sim: OdooSimulator) -> list[BaseRoute]:
    return ControlApi(sim).routes()
