"""Handlers of the simulated SP-API operations (Orders v0, Listings Items 2021-08-01, Feeds 2021-06-30)
and of the presigned document storage. Paths, parameters and bodies follow the official models.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from fenicia.connectors.amazon.sim_api import json_response
from fenicia.connectors.amazon.sim_models import (
    ApiError,
    SimOrder,
    invalid_input,
    iso,
    not_found,
    render_feed,
    render_item,
    render_listing,
    render_order,
)
from fenicia.connectors.amazon.sim_query import (
    check_token_alone,
    decode_items_token,
    decode_token,
    encode_items_token,
    encode_token,
    page_of,
    parse_filter,
)

if TYPE_CHECKING:
    from fenicia.connectors.amazon.simulator import AmazonSimulator

Handler = Callable[[Request], Awaitable[Response]]
ORDERS = "/orders/v0/orders"
LISTINGS = "/listings/2021-08-01/items/{sellerId}"
FEEDS = "/feeds/2021-06-30"
SEARCH_PAGE_SIZE_MAX = 20  # [C]
S3_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    "<Message>Request has expired or the signature does not match</Message></Error>"
)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid_input("The request body is not valid JSON.") from None


class OrdersApi:
    def __init__(self, sim: AmazonSimulator) -> None:
        self.sim = sim

    def _order(self, request: Request) -> SimOrder:
        return self.sim.store.get(request.path_params["orderId"])

    async def get_orders(self, request: Request) -> Response:
        params, config = dict(request.query_params), self.sim.config
        if "NextToken" in params:
            check_token_alone(params, config)
            flt, after_key = decode_token(params["NextToken"], config)
        else:
            flt, after_key = parse_filter(params, config, self.sim.clock.now()), None
        page = page_of(list(self.sim.store.orders.values()), flt, after_key)
        more, page = len(page) > flt.limit, page[: flt.limit]
        payload: dict[str, Any] = {
            "Orders": [render_order(order, config.include_pii) for order in page],
            flt.before_field(): iso(flt.before),
        }
        if more:
            payload["NextToken"] = encode_token(flt, flt.key(page[-1]))
        return json_response({"payload": payload})

    async def get_order(self, request: Request) -> Response:
        return json_response({"payload": render_order(self._order(request), self.sim.config.include_pii)})

    async def get_order_items(self, request: Request) -> Response:
        order, size = self._order(request), self.sim.config.items_page_size
        token = request.query_params.get("NextToken")
        offset = decode_items_token(token, order.order_id) if token else 0
        items = order.items[offset : offset + size]
        payload: dict[str, Any] = {
            "AmazonOrderId": order.order_id,
            "OrderItems": [render_item(item, order) for item in items],
        }
        if offset + size < len(order.items):
            payload["NextToken"] = encode_items_token(order.order_id, offset + size)
        return json_response({"payload": payload})

    async def get_order_address(self, request: Request) -> Response:
        order = self._order(request)
        address = render_order(order, self.sim.config.include_pii)["ShippingAddress"]
        return json_response({"payload": {"AmazonOrderId": order.order_id, "ShippingAddress": address}})

    async def get_order_buyer_info(self, request: Request) -> Response:
        order = self._order(request)
        payload: dict[str, Any] = {"AmazonOrderId": order.order_id}
        if self.sim.config.include_pii:
            payload |= {"BuyerEmail": order.buyer_email, "BuyerName": order.buyer_name}
        return json_response({"payload": payload})

    async def confirm_shipment(self, request: Request) -> Response:
        self.sim.store.confirm_shipment(request.path_params["orderId"], await read_json(request))
        return Response(status_code=204)


class ListingsApi:
    def __init__(self, sim: AmazonSimulator) -> None:
        self.sim = sim

    def _seller(self, request: Request) -> None:
        if request.path_params["sellerId"] != self.sim.config.seller_id:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.", "Unknown sellerId.")

    def _marketplace(self, request: Request) -> str:
        marketplaces = [m for m in request.query_params.get("marketplaceIds", "").split(",") if m]
        if not marketplaces:
            raise invalid_input("marketplaceIds is required.")
        if any(m not in self.sim.config.marketplace_ids for m in marketplaces):
            raise invalid_input("The seller does not sell in one of the marketplaceIds.")
        return marketplaces[0]

    def _included(self, request: Request) -> set[str]:
        return set(request.query_params.get("includedData", "summaries").split(","))

    async def search(self, request: Request) -> Response:
        self._seller(request)
        marketplace, included = self._marketplace(request), self._included(request)
        size, offset = _page_size(request), _page_token(request.query_params.get("pageToken"))
        listings = sorted(self.sim.store.listings.values(), key=lambda listing: listing.sku)
        page = listings[offset : offset + size]
        body: dict[str, Any] = {
            "numberOfResults": len(listings),
            "items": [render_listing(listing, marketplace, included) for listing in page],
        }
        if offset + size < len(listings):
            body["pagination"] = {"nextToken": base64.urlsafe_b64encode(str(offset + size).encode()).decode()}
        return json_response(body)

    async def get(self, request: Request) -> Response:
        self._seller(request)
        marketplace = self._marketplace(request)
        listing = self.sim.store.listings.get(request.path_params["sku"])
        if listing is None:
            raise not_found(f"SKU {request.path_params['sku']} was not found.")
        return json_response(render_listing(listing, marketplace, self._included(request)))

    async def patch(self, request: Request) -> Response:
        self._seller(request)
        self._marketplace(request)
        return json_response(self.sim.listings.patch(request.path_params["sku"], await read_json(request)))


def _page_size(request: Request) -> int:
    try:
        size = int(request.query_params.get("pageSize", "10"))
    except ValueError:
        raise invalid_input("pageSize must be a number.") from None
    if not 1 <= size <= SEARCH_PAGE_SIZE_MAX:
        raise invalid_input(f"pageSize must be between 1 and {SEARCH_PAGE_SIZE_MAX}.")
    return size


def _page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return max(int(base64.urlsafe_b64decode(token.encode()).decode()), 0)
    except (ValueError, binascii.Error):
        raise invalid_input("Invalid pageToken.") from None


class FeedsApi:
    def __init__(self, sim: AmazonSimulator) -> None:
        self.sim = sim

    async def create_document(self, request: Request) -> Response:
        body = self.sim.listings.create_document(await read_json(request), str(request.base_url))
        return json_response(body, 201)

    async def get_document(self, request: Request) -> Response:
        body = self.sim.listings.document_url(request.path_params["documentId"], str(request.base_url))
        return json_response(body)

    async def create_feed(self, request: Request) -> Response:
        return json_response(self.sim.listings.create_feed(await read_json(request)), 202)

    async def get_feed(self, request: Request) -> Response:
        return json_response(render_feed(self.sim.listings.feed(request.path_params["feedId"])))

    async def upload(self, request: Request) -> Response:
        document = self._presigned(request)
        if document is None:
            return Response(S3_DENIED, 403, media_type="application/xml")
        document.content = await request.body()
        return Response(status_code=200)

    async def download(self, request: Request) -> Response:
        document = self._presigned(request)
        if document is None or document.content is None:
            return Response(S3_DENIED, 403, media_type="application/xml")
        return Response(document.content, media_type=document.content_type)

    def _presigned(self, request: Request) -> Any:
        params = request.query_params
        try:
            return self.sim.listings.check_url(
                request.path_params["documentId"], params.get("X-Amz-Expires"), params.get("X-Amz-Signature")
            )
        except PermissionError:
            return None


def operation_routes(sim: AmazonSimulator) -> list[tuple[str, str, str | None, Handler]]:
    """(method, path, operation, handler) of every simulated operation; operation None: no SP-API auth."""
    orders, listings, feeds = OrdersApi(sim), ListingsApi(sim), FeedsApi(sim)
    one = ORDERS + "/{orderId}"
    return [
        ("GET", ORDERS, "getOrders", orders.get_orders),
        ("GET", one, "getOrder", orders.get_order),
        ("GET", one + "/orderItems", "getOrderItems", orders.get_order_items),
        ("GET", one + "/address", "getOrderAddress", orders.get_order_address),
        ("GET", one + "/buyerInfo", "getOrderBuyerInfo", orders.get_order_buyer_info),
        ("POST", one + "/shipmentConfirmation", "confirmShipment", orders.confirm_shipment),
        ("GET", LISTINGS, "searchListingsItems", listings.search),
        ("GET", LISTINGS + "/{sku:path}", "getListingsItem", listings.get),
        ("PATCH", LISTINGS + "/{sku:path}", "patchListingsItem", listings.patch),
        ("POST", FEEDS + "/documents", "createFeedDocument", feeds.create_document),
        ("GET", FEEDS + "/documents/{documentId}", "getFeedDocument", feeds.get_document),
        ("POST", FEEDS + "/feeds", "createFeed", feeds.create_feed),
        ("GET", FEEDS + "/feeds/{feedId}", "getFeed", feeds.get_feed),
        ("PUT", "/_s3/feed-documents/{documentId}", None, feeds.upload),
        ("GET", "/_s3/feed-documents/{documentId}", None, feeds.download),
    ]
