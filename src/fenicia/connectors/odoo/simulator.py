"""A faithful fake of an Odoo server's external APIs, for sandbox mode and connector tests.

Serves the JSON-2 API of Odoo 19 (``POST /json/2/<model>/<method>``, ``Authorization: bearer <key>``,
optional ``X-Odoo-Database``; errors as 4xx/5xx with ``{name, message, arguments, context, debug}``), the
legacy ``POST /jsonrpc`` (``common.version/login/authenticate``, ``object.execute_kw``; errors as HTTP 200
with an ``error`` object whose ``data.name`` is the exception class), and ``GET /web/version``. A server
older than 19 (``server_version``) has no ``/json/2`` route. A database named in ``X-Odoo-Database`` that
does not exist, or none named while several exist, leaves the request without a database: 404 [U].
Control API under ``/_sandbox/...``; faults through ``fenicia.sandbox.simkit``.

Run standalone: ``python -m fenicia.connectors.odoo.simulator --port 8069``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fenicia.connectors.odoo.sim_control import control_routes
from fenicia.connectors.odoo.sim_store import MODEL_LABELS, STOCK_MODELS, OdooStore, OrmError
from fenicia.sandbox.simkit import FaultSet, RequestGuard, RequestLog, SandboxLimits, request_faults, run_standalone

JSON = dict[str, Any]
# Beyond the common faults: the API key stops working (401 / AccessDenied), the user loses stock rights.
ODOO_FAULTS = request_faults("revoke_key", "access_error")
NOT_FOUND_HTML = "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>"
ORM_METHODS = frozenset({"search_read", "search_count", "search", "read"})


@dataclass
class OdooSimConfig(SandboxLimits):
    """The simulated server; fields can be changed at runtime through ``POST /_sandbox/config``.

    Odoo documents no rate limit: the limiter and ``retry_after_s`` play a proxy in front of it [U]."""

    server_version: str = "19.0"
    databases: tuple[str, ...] = ("odoo",)
    login: str = "admin@example.com"
    api_key: str = "odoo-sandbox-key"
    stock_access: bool = True  # False: the user lacks Inventory rights (AccessError on stock models)
    jsonrpc_enabled: bool = True
    seed_demo: bool = True

    @property
    def major(self) -> int:
        digits = "".join(ch for ch in self.server_version.split(".")[0] if ch.isdigit())
        return int(digits or 0)


def json2_error(status: int, name: str, message: str) -> Response:
    body = {"name": name, "message": message, "arguments": [message, status], "context": {}, "debug": ""}
    return JSONResponse(body, status_code=status)


def rpc_error(request_id: Any, name: str, message: str) -> Response:
    data = {"name": name, "debug": f"Traceback (most recent call last):\n{name}: {message}\n", "message": message}
    error = {"code": 200, "message": "Odoo Server Error", "data": {**data, "arguments": [message], "context": {}}}
    return JSONResponse({"jsonrpc": "2.0", "id": request_id, "error": error})


class OdooSimulator:
    """One Odoo server with its databases (one shared stock, whatever the database name)."""

    def __init__(self, config: OdooSimConfig | None = None) -> None:
        self.config = config or OdooSimConfig()
        self.store = OdooStore()
        self.faults = FaultSet(ODOO_FAULTS)
        self.requests = RequestLog()
        self.guard = RequestGuard(self.faults, self.requests, self._fault_answer, admit=self.config.limiter())
        self.uid = 2
        if self.config.seed_demo:
            seed_demo(self.store)
        routes = [
            Route("/json/2/{model}/{method}", self.json2, methods=["POST"]),
            Route("/jsonrpc", self.jsonrpc, methods=["POST"]),
            Route("/web/version", self.web_version, methods=["GET"]),
            *control_routes(self),
        ]
        self.app = Starlette(routes=routes)

    # -- the ORM call shared by both transports --------------------------------------------------

    def execute(self, model: str, method: str, params: JSON) -> Any:
        if method not in ORM_METHODS:
            raise OrmError("builtins.AttributeError", f"The method '{method}' does not exist on the model '{model}'")
        if model in STOCK_MODELS and not self.config.stock_access:
            raise access_error(model)
        context = params.get("context") or {}
        if method == "read":
            rows = [self.store.records[model][i] for i in params.get("ids") or [] if i in self.store.records[model]]
            return [self.store.render(model, r, params.get("fields"), context) for r in rows]
        rows = self.store.search(model, params.get("domain") or [], context)
        if method == "search_count":
            return len(rows)
        rows = sort_rows(rows, str(params.get("order") or "id"))
        offset, limit = int(params.get("offset") or 0), params.get("limit")
        rows = rows[offset : offset + int(limit)] if limit else rows[offset:]
        if method == "search":
            return [r["id"] for r in rows]
        return [self.store.render(model, r, params.get("fields"), context) for r in rows]

    # -- JSON-2 ----------------------------------------------------------------------------------

    async def json2(self, request: Request) -> Response:
        return await self.guard.run(request, self._json2, api_version="json2")

    async def _json2(self, request: Request, fault: str | None) -> Response:
        if self.config.major < 19 or not self._json2_database(request):
            return PlainTextResponse(NOT_FOUND_HTML, status_code=404, media_type="text/html")
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key != self.config.api_key or fault == "revoke_key":
            return json2_error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey")
        model, method = request.path_params["model"], request.path_params["method"]
        try:
            params = json.loads(await request.body() or b"{}")
            if fault == "access_error":
                raise access_error(model)
            return JSONResponse(self.execute(model, method, params if isinstance(params, dict) else {}))
        except ValueError as exc:
            return json2_error(400, "werkzeug.exceptions.BadRequest", f"Invalid JSON body: {exc}")
        except OrmError as exc:
            status = 403 if exc.name.endswith("AccessError") else 404 if exc.name.endswith("KeyError") else 422
            return json2_error(status, exc.name, exc.message)

    def _json2_database(self, request: Request) -> bool:
        name = request.headers.get("x-odoo-database")
        return name in self.config.databases if name else len(self.config.databases) == 1

    # -- JSON-RPC --------------------------------------------------------------------------------

    async def jsonrpc(self, request: Request) -> Response:
        return await self.guard.run(request, self._jsonrpc, api_version="jsonrpc")

    async def _jsonrpc(self, request: Request, fault: str | None) -> Response:
        if not self.config.jsonrpc_enabled:
            return PlainTextResponse(NOT_FOUND_HTML, status_code=404, media_type="text/html")
        try:
            body = json.loads(await request.body())
            params = body["params"]
            service, method, args = params["service"], params["method"], list(params.get("args") or [])
        except (ValueError, KeyError, TypeError):
            return rpc_error(None, "werkzeug.exceptions.BadRequest", "Invalid JSON-RPC request")
        try:
            result = self._rpc(service, method, args, fault)
        except OrmError as exc:
            return rpc_error(body.get("id"), exc.name, exc.message)
        return JSONResponse({"jsonrpc": "2.0", "id": body.get("id"), "result": result})

    def _rpc(self, service: str, method: str, args: list[Any], fault: str | None) -> Any:
        if service == "common" and method == "version":
            return version_info(self.config.server_version)
        if service == "common" and method in ("login", "authenticate"):
            self._check_database(args[0] if args else None)
            ok = len(args) >= 3 and args[1] == self.config.login and args[2] == self.config.api_key
            return self.uid if ok and fault != "revoke_key" else False
        if service == "object" and method == "execute_kw" and len(args) >= 6:
            self._check_database(args[0])
            if args[1] != self.uid or args[2] != self.config.api_key or fault == "revoke_key":
                raise OrmError("odoo.exceptions.AccessDenied", "Access Denied")
            if fault == "access_error":
                raise access_error(args[3])
            kwargs = args[6] if len(args) > 6 and isinstance(args[6], dict) else {}
            positional = dict(zip(("domain", "fields"), args[5] or [], strict=False))
            return self.execute(str(args[3]), str(args[4]), {**positional, **kwargs})
        raise OrmError("builtins.NameError", f"Unknown service or method {service}.{method}")

    def _check_database(self, name: Any) -> None:
        if name not in self.config.databases:
            raise OrmError(
                "psycopg2.OperationalError",
                f'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
                f'FATAL:  database "{name}" does not exist\n',
            )

    async def web_version(self, request: Request) -> Response:
        return JSONResponse(version_info(self.config.server_version) | {"version": self.config.server_version})

    # -- faults, rate limit, log -----------------------------------------------------------------

    def _fault_answer(self, kind: str) -> Response:
        if kind == "http_429":
            headers = {"Retry-After": f"{self.config.retry_after_s:g}"}
            return PlainTextResponse("Too Many Requests", status_code=429, headers=headers)
        if kind == "timeout":
            return PlainTextResponse("Gateway Timeout", status_code=504)
        status = int(kind[-3:])
        name = "werkzeug.exceptions.InternalServerError" if status == 500 else "werkzeug.exceptions.ServiceUnavailable"
        return json2_error(status, name, "The server encountered an internal error")

    def state(self) -> JSON:
        counts = {model: len(rows) for model, rows in self.store.records.items()}
        return {"config": self.config.public(), "records": counts, "faults": len(self.faults.rules)}


def access_error(model: str) -> OrmError:
    label = MODEL_LABELS.get(model, model)
    return OrmError(
        "odoo.exceptions.AccessError",
        f"You are not allowed to access '{label}' ({model}) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Inventory/User\n\n"
        "Contact your administrator to request access if necessary.",
    )


def version_info(version: str) -> JSON:
    major = "".join(ch for ch in version.split(".")[0] if ch.isdigit()) or "0"
    info = [int(major), 0, 0, "final", 0, ""]
    return {"server_version": version, "server_version_info": info, "server_serie": version, "protocol_version": 1}


def sort_rows(rows: list[JSON], order: str) -> list[JSON]:
    """``order`` like ``"id"`` or ``"default_code desc, id"``; many2one fields sort by id."""
    result = sorted(rows, key=lambda r: r["id"])
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        name, _, direction = part.partition(" ")
        result.sort(key=lambda r: (r.get(name) is False, r.get(name) or 0), reverse=direction.lower() == "desc")
    return result


def seed_demo(store: OdooStore) -> None:
    """Two warehouses, a sub-location, a few products (one with a leading-zero code) and their quants."""
    main = store.add_warehouse("Main Warehouse", "WH")
    second = store.add_warehouse("East Warehouse", "EAST")
    shelf = store.add_location("Shelf 1", main["lot_stock_id"])
    store.add_location("Customers", None, usage="customer")
    desk = store.add_product("FURN_0001", "Office Desk")
    chair = store.add_product("00123", "Chair (leading zeros)")
    lamp = store.add_product("LAMP-1", "Desk Lamp")
    store.add_product(None, "Service without code")
    store.set_quant(desk["id"], main["lot_stock_id"], 10, 2)
    store.set_quant(desk["id"], shelf["id"], 5, 0)
    store.set_quant(chair["id"], main["lot_stock_id"], 7, 7)
    store.set_quant(chair["id"], second["lot_stock_id"], 3, 0)
    store.set_quant(lamp["id"], second["lot_stock_id"], 1.5, 0.5)


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = OdooSimulator(OdooSimConfig(server_version=args.server_version))
        return sim.app, f"database odoo  api_key {sim.config.api_key}"

    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--server-version", default="19.0")

    run_standalone(
        argv, description="Odoo external API simulator (JSON-2 and JSON-RPC)", port=8069, build=build, options=options
    )


if __name__ == "__main__":
    main()

__all__ = ["ODOO_FAULTS", "OdooSimConfig", "OdooSimulator", "main"]
