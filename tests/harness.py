"""What the channel conformance suite needs from each channel's simulator, over its real control API.

Each channel provides ``tests/harness_<key>.py`` with a ``running()`` context manager yielding an object
that satisfies ``ChannelHarness``: the simulator served on loopback with rate limits off, webhooks (where
the channel has them) not sent anywhere unless a test asks, and fast connector settings.
"""

from __future__ import annotations

from typing import Any, Protocol

from fenicia.connectors.base import NormalizedOrder


class ChannelHarness(Protocol):
    channel: str  # the registry key, e.g. "amazon"
    url: str  # the simulator's base URL

    def connection_settings(self) -> dict[str, Any]:
        """Settings for ConnectionCreate pointing at this simulator, with short timeouts and one quick
        in-call retry (like tests/shopify_sim.py's FAST_CONNECTOR)."""
        ...

    def connection_credentials(self) -> dict[str, Any]:
        """Valid credentials for the simulator's seller/app."""
        ...

    def seed_orders(self, count: int) -> list[str]:
        """Creates `count` new orders now (each with one or more lines that carry a SKU); returns their
        external ids as the connector reports them (NormalizedOrder.external_id)."""
        ...

    def customer_cancel(self, external_id: str) -> None:
        """The buyer (or the platform) cancels the order; its updated-at moves forward."""
        ...

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working: the next API call gets the platform's own
        expired-token answer (Amazon: 403 Unauthorized; others: 401 or their code)."""
        ...

    def token_grants(self) -> int:
        """How many access tokens the simulator has issued (token endpoint hits that succeeded)."""
        ...

    def fault(self, kind: str, **rule: Any) -> None:
        """Injects a fault through /_sandbox/faults. Kinds every harness accepts: "http_429" (the
        platform's own throttle answer and headers), "http_500", "timeout"; rule keys as in
        fenicia.sandbox.simkit.FaultSet.add (count, path_contains, method, seconds)."""
        ...

    def requests(self, method: str, path_contains: str) -> list[dict[str, Any]]:
        """The simulator's request log entries (simkit RequestRecord as dicts) matching both."""
        ...

    def signed_webhook(self, external_id: str) -> tuple[dict[str, str], bytes] | None:
        """Headers and raw body of a valid, correctly signed order webhook about this order, as the
        platform would POST it to /webhooks/{channel}/{connection_id}; None when the channel has no
        webhooks we receive (Amazon, Walmart)."""
        ...

    # Optional: ``tamper(headers, body) -> (headers, body)``, a forgery of a genuine delivery that the
    # connector must refuse. By default the suite changes the order id in a signed body; MercadoLibre
    # (no signature) gives a notification for another seller or application instead.

    def documented_statuses(self) -> list[dict[str, Any]]:
        """One raw order payload (the platform's own JSON shape, as its API returns an order) for each
        order status the platform documents, so the suite can check the mapping is total."""
        ...

    def normalize(self, raw: dict[str, Any]) -> NormalizedOrder:
        """The connector's own normalizer applied to one payload from ``documented_statuses``."""
        ...
