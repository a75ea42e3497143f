"""The sandbox's channels, in the order the demo connects them and the banner lists them."""

from __future__ import annotations

from typing import Any

from fenicia.core.errors import ConfigError
from fenicia.sandbox.adapters.amazon import AmazonDemo
from fenicia.sandbox.adapters.base import LIVE_ORDERS, DemoChannel, LiveSetup, Simulator
from fenicia.sandbox.adapters.mercadolibre import MercadoLibreDemo
from fenicia.sandbox.adapters.shopify import ShopifyDemo
from fenicia.sandbox.adapters.tiktok import TikTokDemo
from fenicia.sandbox.adapters.walmart import WalmartDemo

# Shopify first: its connection keeps the lowest id, as in demo databases made before the other four.
DEMO_CHANNELS: tuple[type[DemoChannel[Any]], ...] = (ShopifyDemo, AmazonDemo, MercadoLibreDemo, WalmartDemo, TikTokDemo)
CHANNEL_KEYS: tuple[str, ...] = tuple(channel.key for channel in DEMO_CHANNELS)


def demo_channel_class(key: str) -> type[DemoChannel[Any]]:
    for channel in DEMO_CHANNELS:
        if channel.key == key:
            return channel
    raise ConfigError(f"There is no {key!r} sandbox.", resolution=f"Use one of: {', '.join(CHANNEL_KEYS)}.")


__all__ = [
    "CHANNEL_KEYS",
    "DEMO_CHANNELS",
    "LIVE_ORDERS",
    "AmazonDemo",
    "DemoChannel",
    "LiveSetup",
    "MercadoLibreDemo",
    "ShopifyDemo",
    "Simulator",
    "TikTokDemo",
    "WalmartDemo",
    "demo_channel_class",
]
