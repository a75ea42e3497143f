"""The ERPNext simulator's ``/_sandbox/...`` control API: items and Bins, plus the shared routes
(faults, request log, config, state) of ``fenicia.sandbox.simkit.SandboxControl``.

No authentication (sandbox only). A bad body answers 400 ``{"error": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from fenicia.connectors.erpnext.sim_store import BIN_QUANTITIES, render
from fenicia.sandbox.simkit import JSON, SandboxControl, bulk_count, control_route, read_body

if TYPE_CHECKING:
    from fenicia.connectors.erpnext.simulator import ErpnextSimulator


class ControlApi:
    """The ERPNext-specific routes of the control API, bound to one simulator."""

    def __init__(self, sim: ErpnextSimulator) -> None:
        self.sim = sim
        self.store = sim.store

    def quantities(self, body: JSON) -> dict[str, float]:
        return {name: float(body[name]) for name in BIN_QUANTITIES if name in body}

    async def add_item(self, request: Request) -> Any:
        body = await read_body(request)
        return {k: render(v) for k, v in self.store.add_item(str(body["item_code"]), body.get("item_name")).items()}

    async def set_bin(self, request: Request) -> Any:
        """``{item_code, warehouse, actual_qty?, reserved_qty?, ...}``: creates the item if new."""
        body = await read_body(request)
        code = str(body["item_code"])
        if code not in self.store.docs["Item"]:
            self.store.add_item(code, body.get("item_name"))
        doc = self.store.set_bin(code, str(body["warehouse"]), **self.quantities(body))
        return {k: render(v) for k, v in doc.items()}

    async def bulk_bins(self, request: Request) -> Any:
        """``{count, prefix?, width?, warehouse?, actual_qty?}``: items PREFIX00001... with one Bin each."""
        body = await read_body(request)
        count = bulk_count(body)
        prefix, width = str(body.get("prefix", "ITEM")), int(body.get("width", 5))
        warehouse = str(body.get("warehouse", "Stores - WP"))
        for number in range(1, count + 1):
            code = f"{prefix}{number:0{width}d}"
            self.store.add_item(code, f"Bulk item {number}")
            self.store.set_bin(code, warehouse, actual_qty=float(body.get("actual_qty", 1)))
        return {"created": count}

    async def list_bins(self, request: Request) -> Any:
        return [{k: render(v) for k, v in doc.items()} for doc in self.store.docs["Bin"].values()]

    async def add_warehouse(self, request: Request) -> Any:
        body = await read_body(request)
        return self.store.add_warehouse(str(body["name"]), body.get("parent"), bool(body.get("is_group")))["name"]

    def _apply_config(self, changed: list[str]) -> None:
        self.store.time_zone = self.sim.config.time_zone

    def routes(self) -> list[BaseRoute]:
        r = control_route
        sim = self.sim
        shared = SandboxControl(sim.faults, sim.requests, sim.config, sim.state, on_config=self._apply_config)
        return [
            r("/items", self.add_item, "POST"),
            r("/bins", self.list_bins),
            r("/bins", self.set_bin, "POST"),
            r("/bins/bulk", self.bulk_bins, "POST"),
            r("/warehouses", self.add_warehouse, "POST"),
            *shared.routes(),
        ]


def control_routes(sim: ErpnextSimulator) -> list[BaseRoute]:
    return ControlApi(sim).routes()
