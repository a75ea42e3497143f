"""A faithful fake of a Frappe/ERPNext site's REST API (v1), for sandbox mode and connector tests.

Serves ``GET /api/resource/{Bin,Item,Warehouse}`` (Frappe's list query: ``fields``, ``filters``,
``limit_start``, ``limit_page_length`` default 20, ``order_by``), ``GET /api/method/frappe.auth.get_logged_user``,
``frappe.client.get_count`` and ``frappe.client.get_time_zone``. Auth: ``Authorization: token key:secret``
(or ``Basic`` of ``key:secret``); without it the request runs as Guest. Errors carry Frappe's body
``{exc_type, exception, _server_messages}``: 401 bad keys, 403 missing permission, 404 unknown doctype or
method, 417 bad query, 429 (``Retry-After`` and ``X-RateLimit-Reset`` [U]) when the optional limiter is on.
Control API under ``/_sandbox/...``; faults through ``fenicia.sandbox.simkit``.

Run standalone: ``python -m fenicia.connectors.erpnext.simulator --port 8000``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from fenicia.connectors.erpnext.sim_control import control_routes
from fenicia.connectors.erpnext.sim_store import FrappeStore, QueryError
from fenicia.sandbox.simkit import FaultSet, RequestGuard, RequestLog, SandboxLimits, request_faults, run_standalone

JSON = dict[str, Any]
ERPNEXT_FAULTS = request_faults("revoke_keys", "permission_error")
GUEST_METHODS = frozenset({"frappe.client.get_time_zone"})
STOCK_DOCTYPES = frozenset({"Bin", "Item", "Warehouse"})


@dataclass
class ErpnextSimConfig(SandboxLimits):
    """The simulated site; fields can be changed at runtime through ``POST /_sandbox/config``."""

    user: str = "stock@example.com"
    api_key: str = "erpnext-sandbox-key"
    api_secret: str = "erpnext-sandbox-secret"
    stock_read: bool = True  # False: the user's roles may not read Bin/Item/Warehouse (403)
    time_zone: str = "Europe/Berlin"
    seed_demo: bool = True


def frappe_error(status: int, exc_type: str, message: str | None = None) -> Response:
    body: JSON = {
        "exc_type": exc_type,
        "exception": f"frappe.exceptions.{exc_type}" + (f": {message}" if message else ""),
    }
    if message:
        body["_server_messages"] = json.dumps(
            [json.dumps({"message": message, "title": "Message", "indicator": "red"})]
        )
    return JSONResponse(body, status_code=status)


def not_permitted(user: str, doctype: str) -> Response:
    text = (
        f"User <strong>{user}</strong> does not have doctype access via role permission "
        f"for document <strong>{doctype}</strong>"
    )
    return frappe_error(403, "PermissionError", text)


class ErpnextSimulator:
    """One Frappe site with ERPNext's stock doctypes."""

    def __init__(self, config: ErpnextSimConfig | None = None) -> None:
        self.config = config or ErpnextSimConfig()
        self.store = FrappeStore(time_zone=self.config.time_zone)
        self.faults = FaultSet(ERPNEXT_FAULTS)
        self.requests = RequestLog()
        self.guard = RequestGuard(
            self.faults, self.requests, self._fault_answer, api_version="v1", admit=self.config.limiter()
        )
        if self.config.seed_demo:
            seed_demo(self.store)
        routes = [
            Route("/api/resource/{doctype}", self.resource, methods=["GET"]),
            Route("/api/method/{dotted}", self.method, methods=["GET", "POST"]),
            *control_routes(self),
        ]
        self.app = Starlette(routes=routes)

    def user_of(self, request: Request) -> str | None:
        """The user the keys belong to, "Guest" without keys, None for wrong keys."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not token:
            return "Guest"
        if scheme.lower() == "basic":
            try:
                token = base64.b64decode(token).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
        elif scheme.lower() != "token":
            return None
        key, _, secret = token.partition(":")
        return self.config.user if (key, secret) == (self.config.api_key, self.config.api_secret) else None

    async def resource(self, request: Request) -> Response:
        return await self.guard.run(request, self._resource)

    async def _resource(self, request: Request, fault: str | None) -> Response:
        user = self.user_of(request)
        if user is None or fault == "revoke_keys":
            return frappe_error(401, "AuthenticationError")
        doctype = request.path_params["doctype"]
        if doctype in STOCK_DOCTYPES and (user == "Guest" or not self.config.stock_read or fault == "permission_error"):
            return not_permitted(user, doctype)
        try:
            params = {k: json.loads(v) if k in ("fields", "filters") else v for k, v in request.query_params.items()}
            return JSONResponse({"data": self.store.query(doctype, params)})
        except ValueError:
            return frappe_error(417, "ValidationError", "fields and filters must be JSON")
        except QueryError as exc:
            return frappe_error(exc.status, exc.exc_type, exc.message)

    async def method(self, request: Request) -> Response:
        return await self.guard.run(request, self._method)

    async def _method(self, request: Request, fault: str | None) -> Response:
        dotted, user = request.path_params["dotted"], self.user_of(request)
        if user is None or fault == "revoke_keys":
            return frappe_error(401, "AuthenticationError")
        if user == "Guest" and dotted not in GUEST_METHODS:
            return frappe_error(403, "PermissionError", "Not permitted")
        if dotted == "frappe.auth.get_logged_user":
            return JSONResponse({"message": user})
        if dotted == "frappe.client.get_time_zone":
            return JSONResponse({"message": {"time_zone": self.config.time_zone}})
        if dotted == "frappe.client.get_count":
            doctype = request.query_params.get("doctype", "")
            if doctype in STOCK_DOCTYPES and (not self.config.stock_read or fault == "permission_error"):
                return not_permitted(user, doctype)
            try:
                filters = json.loads(request.query_params.get("filters") or "null")
                return JSONResponse(
                    {"message": len(self.store.query(doctype, {"filters": filters, "limit_page_length": 0}))}
                )
            except QueryError as exc:
                return frappe_error(exc.status, exc.exc_type, exc.message)
        return frappe_error(404, "DoesNotExistError", f"Failed to get method for command {dotted}")

    # -- faults, rate limit, log -----------------------------------------------------------------

    def _fault_answer(self, kind: str) -> Response:
        if kind == "http_429":
            response = frappe_error(429, "TooManyRequestsError", "You hit the rate limit because of too many requests.")
            response.headers["Retry-After"] = f"{self.config.retry_after_s:g}"
            response.headers["X-RateLimit-Reset"] = f"{self.config.retry_after_s:g}"
            return response
        if kind == "timeout":
            return HTMLResponse("<h1>504 Gateway Time-out</h1>", status_code=504)
        status = int(kind[-3:])
        return frappe_error(status, "InternalServerError" if status == 500 else "ServiceUnavailable")

    def state(self) -> JSON:
        counts = {doctype: len(docs) for doctype, docs in self.store.docs.items()}
        return {"config": self.config.public(), "docs": counts, "faults": len(self.faults.rules)}


def seed_demo(store: FrappeStore) -> None:
    """A warehouse tree, items (one code with leading zeros) and their Bins."""
    store.add_warehouse("All Warehouses", is_group=True)
    for name in ("Stores", "Finished Goods", "Work In Progress"):
        store.add_warehouse(name, parent="All Warehouses - WP")
    store.add_item("SKU001", "T-shirt")
    store.add_item("000789", "Mug (leading zeros)")
    store.add_item("BOLT-M4", "Bolt M4")
    store.set_bin("SKU001", "Stores - WP", actual_qty=20, reserved_qty=5, ordered_qty=100)
    store.set_bin("SKU001", "Finished Goods - WP", actual_qty=4)
    store.set_bin("000789", "Stores - WP", actual_qty=3, reserved_qty=5)
    store.set_bin(
        "BOLT-M4", "Work In Progress - WP", actual_qty=500, reserved_qty_for_production=200, reserved_stock=50
    )


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = ErpnextSimulator()
        return sim.app, f"api_key {sim.config.api_key}  api_secret {sim.config.api_secret}"

    run_standalone(argv, description="ERPNext (Frappe REST API) simulator", port=8000, build=build)


if __name__ == "__main__":
    main()

__all__ = ["ERPNEXT_FAULTS", "ErpnextSimConfig", "ErpnextSimulator", "main"]
