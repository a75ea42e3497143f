"""GraphQL calls through the Shopify channel's ``ShopifyClient``, and the mapping of GraphQL errors.

The transport (auth header, pacing, in-call retries, HTTP status → error table) is the channel's
``ShopifyClient``, on the address guard of every source (:class:`GuardedShopifyClient`): the store's
address is typed by a merchant. A GraphQL answer that fails arrives as HTTP 200 with an ``errors`` list;
its ``extensions.code`` is mapped to our errors here, in :func:`graphql_error`.
"""

from __future__ import annotations

from typing import Any

from fenicia.connectors.httpkit import AllowPrivate, graphql_data
from fenicia.connectors.shopify.client import ShopifyClient
from fenicia.connectors.shopify.settings import ShopifyCredentials, ShopifySettings
from fenicia.core import netguard
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
)

JSON = dict[str, Any]
RECONNECT = "Update the source's access token (a custom app with read_products, read_locations, read_inventory)."
THROTTLED_WAIT_S = 2.0  # [U] Shopify restores 50 query points a second (standard plan); a page costs < 1,000
NEW_API_VERSION = "Set the source's api_version to 2023-01 or later (inventory quantities by state)."


class GuardedShopifyClient(ShopifyClient):
    """The channel's client on the address guard: non-public addresses are refused unless
    ``allow_private()`` (asked on every request; see ``httpkit.guarded_client``)."""

    def __init__(self, settings: ShopifySettings, credentials: ShopifyCredentials, allow_private: AllowPrivate) -> None:
        super().__init__(settings, credentials, transport=netguard.GuardedTransport(allow=allow_private))


def graphql_error(errors: list[Any]) -> FeniciaError:
    """The first GraphQL error of an HTTP 200 answer as one of our errors."""
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = str(first.get("message") or "unknown GraphQL error")
    extensions = first.get("extensions")
    code = str(extensions.get("code") or "") if isinstance(extensions, dict) else ""
    if code in ("THROTTLED", "MAX_COST_EXCEEDED"):
        return RateLimitedError(f"Shopify throttled the inventory query: {message}", retry_after=THROTTLED_WAIT_S)
    if code == "ACCESS_DENIED":
        return AuthError(f"Shopify refused the inventory query: {message}", resolution=RECONNECT)
    if code == "undefinedField":
        return ConfigError(
            f"Shopify's Admin API does not know the inventory query: {message}", resolution=NEW_API_VERSION
        )
    if code == "INTERNAL_SERVER_ERROR":
        return TransientError(f"Shopify failed to answer the inventory query: {message}")
    return ConnectorError(
        f"Shopify refused the inventory query: {message} ({code or 'no code'})", resolution=NEW_API_VERSION
    )


async def graphql(client: ShopifyClient, document: str, variables: JSON) -> JSON:
    """The ``data`` of one GraphQL Admin API query (a read: safe to resend)."""
    body = (await client.post("graphql.json", {"query": document, "variables": variables}, idempotent=True)).body
    outcome = graphql_data(body, graphql_error, system="Shopify")
    if isinstance(outcome, FeniciaError):
        raise outcome  # THROTTLED included: the channel client's in-call retries are for HTTP answers
    return outcome
