"""MercadoLibre: orders in by notifications plus hourly polling to verify; ship, tracking (ME1/custom
shipping), cancel (sale feedback) and stock (item/variation ``available_quantity``) out."""

from __future__ import annotations

from pydantic import BaseModel

from fenicia.connectors.base import ChannelSpec, MemoryTokenStore, TokenStore
from fenicia.connectors.mercadolibre.connector import CAPABILITIES, MercadoLibreConnector
from fenicia.connectors.mercadolibre.settings import MercadoLibreCredentials, MercadoLibreSettings
from fenicia.connectors.mercadolibre.shipping import order_blockers
from fenicia.connectors.mercadolibre.webhooks import ORDER_TOPICS
from fenicia.core.errors import ConfigError

# [U] a setting of the connection (its frequency): notifications carry the real-time load, polling verifies.
DEFAULT_POLL_INTERVAL_SECONDS = 3600


def build(settings: BaseModel, credentials: BaseModel, tokens: TokenStore | None = None) -> MercadoLibreConnector:
    """A connector for one seller; the registry passes the models named in ``SPEC`` and the token store."""
    if not isinstance(settings, MercadoLibreSettings):
        raise ConfigError("MercadoLibre settings are of the wrong type")
    if not isinstance(credentials, MercadoLibreCredentials):
        raise ConfigError("MercadoLibre credentials are of the wrong type")
    return MercadoLibreConnector(settings, credentials, tokens if tokens is not None else MemoryTokenStore())


SPEC = ChannelSpec(
    key="mercadolibre",
    display_name="MercadoLibre",
    settings_model=MercadoLibreSettings,
    credentials_model=MercadoLibreCredentials,
    capabilities=CAPABILITIES,
    default_poll_interval_seconds=DEFAULT_POLL_INTERVAL_SECONDS,
    webhook_topics=ORDER_TOPICS,
    build=build,
    # Nothing is unsupported channel-wide: ship and tracking depend on each order's shipping mode and are
    # refused per order (me2, or no shipment) with the reasons of ``order_blockers``.
    unsupported_reasons={},
    order_blockers=order_blockers,
)

__all__ = [
    "SPEC",
    "MercadoLibreConnector",
    "MercadoLibreCredentials",
    "MercadoLibreSettings",
    "build",
    "order_blockers",
]
