"""A faithful fake of a WooCommerce shop's REST API v3, for sandbox mode and connector tests.

Serves ``GET /wp-json/`` (the REST index, no auth), ``GET /wp-json/wc/v3/products`` and
``GET /wp-json/wc/v3/products/{id}/variations`` with ``X-WP-Total``, ``X-WP-TotalPages`` and a
``Link`` header (``rel="next"/"prev"``). Keys are checked as WooCommerce does over HTTPS: HTTP Basic or
``consumer_key``/``consumer_secret`` in the query; a wrong key or secret is 401
``woocommerce_rest_authentication_error``; no usable credentials is 401 ``woocommerce_rest_cannot_view``.
``is_ssl = false`` plays a plain-HTTP site (keys ignored: OAuth 1.0a only) and ``strip_authorization``
a server that drops the header. Control API under ``/_sandbox/...``.

Run standalone: ``python -m fenicia.connectors.woocommerce.simulator --port 8091``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fenicia.connectors.woocommerce.sim_control import control_routes
from fenicia.connectors.woocommerce.sim_store import RestError, WooStore
from fenicia.sandbox.simkit import FaultSet, RequestGuard, RequestLog, SandboxLimits, request_faults, run_standalone

JSON = dict[str, Any]
WOO_FAULTS = request_faults("revoke_key")
SECRET_PARAMS = frozenset({"consumer_key", "consumer_secret"})  # never logged
CANNOT_VIEW = RestError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")


@dataclass
class WooSimConfig(SandboxLimits):
    """The simulated shop; fields can be changed at runtime through ``POST /_sandbox/config``."""

    site_name: str = "Sandbox Store"
    consumer_key: str = "ck_sandbox0000000000000000000000000000000"
    consumer_secret: str = "cs_sandbox0000000000000000000000000000000"
    key_permission: str = "read"  # read | write | read_write
    is_ssl: bool = True  # as if behind TLS: Basic and query-string keys are accepted
    strip_authorization: bool = False  # a server (CGI/FastCGI) that drops the Authorization header
    woocommerce_active: bool = True
    utc_offset_hours: float = 2.0
    stock_change_touches_modified: bool = True  # [U]
    seed_demo: bool = True


def rest_error(error: RestError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


class WooSimulator:
    """One WordPress site with WooCommerce."""

    def __init__(self, config: WooSimConfig | None = None) -> None:
        self.config = config or WooSimConfig()
        self.store = WooStore(utc_offset_hours=self.config.utc_offset_hours)
        self.faults = FaultSet(WOO_FAULTS)
        self.requests = RequestLog()
        self.guard = RequestGuard(
            self.faults,
            self.requests,
            self._fault_answer,
            api_version="wc/v3",
            authorize=self._refusal,
            admit=self.config.limiter(),
            hidden_params=SECRET_PARAMS,
        )
        if self.config.seed_demo:
            seed_demo(self.store)
        routes = [
            Route("/wp-json/", self.index, methods=["GET"]),
            Route("/wp-json/wc/v3/products", self.products, methods=["GET"]),
            Route("/wp-json/wc/v3/products/{product_id:int}/variations", self.variations, methods=["GET"]),
            Route("/wp-json/{rest:path}", self.no_route, methods=["GET", "POST"]),
            *control_routes(self),
        ]
        self.app = Starlette(routes=routes)

    # -- routes ----------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        namespaces = ["oembed/1.0", "wp/v2"] + (["wc/v3", "wc/store/v1"] if self.config.woocommerce_active else [])
        body = {
            "name": self.config.site_name,
            "description": "Just another WordPress site",
            "url": str(request.base_url),
        }
        return JSONResponse(body | {"namespaces": namespaces, "routes": {}})

    async def no_route(self, request: Request) -> Response:
        return rest_error(RestError(404, "rest_no_route", "No route was found matching the URL and request method."))

    async def products(self, request: Request) -> Response:
        return await self.guard.run(request, self._products)

    async def _products(self, request: Request, fault: str | None) -> Response:
        return self._listing(request, list(self.store.products.values()))

    async def variations(self, request: Request) -> Response:
        return await self.guard.run(request, self._variations)

    async def _variations(self, request: Request, fault: str | None) -> Response:
        product = self.store.products.get(request.path_params["product_id"])
        if product is None:
            return rest_error(RestError(404, "woocommerce_rest_product_invalid_id", "Invalid ID."))
        return self._listing(request, [self.store.variations[v] for v in product["variations"]])

    def _listing(self, request: Request, items: list[JSON]) -> Response:
        params = {k: v for k, v in request.query_params.items() if k not in SECRET_PARAMS}
        try:
            chosen, total, pages = self.store.list(items, params)
        except RestError as exc:
            return rest_error(exc)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = self._links(request, params, pages)
        if links:
            headers["Link"] = links
        return JSONResponse(chosen, headers=headers)

    def _links(self, request: Request, params: dict[str, str], pages: int) -> str:
        page = int(params.get("page", "1"))
        base = str(request.url.replace(query=""))
        parts = []
        if page > 1:
            parts.append(f'<{base}?{urlencode(params | {"page": page - 1})}>; rel="prev"')
        if page < pages:
            parts.append(f'<{base}?{urlencode(params | {"page": page + 1})}>; rel="next"')
        return ", ".join(parts)

    # -- auth, faults, limits, log ---------------------------------------------------------------

    def auth_problem(self, request: Request, fault: str | None) -> RestError | None:
        if not self.config.woocommerce_active:
            return RestError(404, "rest_no_route", "No route was found matching the URL and request method.")
        key, secret = self._presented_keys(request)
        if key is None:
            return CANNOT_VIEW
        if key != self.config.consumer_key or fault == "revoke_key":
            return RestError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if secret != self.config.consumer_secret:
            return RestError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        if "read" not in self.config.key_permission:
            message = "The API key provided does not have read permissions."
            return RestError(401, "woocommerce_rest_authentication_error", message)
        return None

    def _presented_keys(self, request: Request) -> tuple[str | None, str | None]:
        if not self.config.is_ssl:
            return None, None  # WooCommerce then expects OAuth 1.0a, which this simulator does not do
        header = "" if self.config.strip_authorization else request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                key, _, secret = base64.b64decode(token).decode().partition(":")
                return key, secret
            except (binascii.Error, UnicodeDecodeError):
                return None, None
        query = request.query_params
        if "consumer_key" in query:
            return query["consumer_key"], query.get("consumer_secret")
        return None, None

    def _refusal(self, request: Request, fault: str | None) -> Response | None:
        problem = self.auth_problem(request, fault)
        return None if problem is None else rest_error(problem)

    def _fault_answer(self, kind: str) -> Response:
        if kind == "http_429":
            error = RestError(
                429, "woocommerce_rest_too_many_requests", "Too many requests. Please wait and try again."
            )
            return rest_error(error, {"Retry-After": f"{self.config.retry_after_s:g}"})
        if kind == "timeout":
            return Response("<h1>504 Gateway Time-out</h1>", status_code=504, media_type="text/html")
        status = int(kind[-3:])
        return rest_error(
            RestError(status, "internal_server_error", "There has been a critical error on this website.")
        )

    def state(self) -> JSON:
        counts = {"products": len(self.store.products), "variations": len(self.store.variations)}
        return {"config": self.config.public(), **counts, "faults": len(self.faults.rules)}


def seed_demo(store: WooStore) -> None:
    """A simple product, one with leading zeros, an unmanaged one, and a variable product whose
    variations manage their own stock (one shares the parent's)."""
    store.add_product("Hoodie", "WOO-HOODIE", manage_stock=True, stock_quantity=12)
    store.add_product("Pin (leading zeros)", "007", manage_stock=True, stock_quantity=5)
    store.add_product("Gift card", "GIFT", manage_stock=False)
    store.add_product("Oversold poster", "POSTER", manage_stock=True, stock_quantity=-2, backorders="notify")
    shirt = store.add_product("Shirt", "WOO-SHIRT", "variable", manage_stock=True, stock_quantity=30)
    store.add_variation(shirt["id"], "WOO-SHIRT-S", ["Small"], manage_stock=True, stock_quantity=4)
    store.add_variation(shirt["id"], "WOO-SHIRT-L", ["Large"], manage_stock=True, stock_quantity=0)
    store.add_variation(shirt["id"], "WOO-SHIRT-XL", ["XL"])  # manage_stock "parent"


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = WooSimulator()
        return sim.app, f"consumer_key {sim.config.consumer_key}  consumer_secret {sim.config.consumer_secret}"

    run_standalone(argv, description="WooCommerce REST API v3 simulator", port=8091, build=build)


if __name__ == "__main__":
    main()

__all__ = ["WOO_FAULTS", "WooSimConfig", "WooSimulator", "main"]
