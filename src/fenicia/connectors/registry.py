"""The one explicit list of channel connectors Fenicia knows."""

from __future__ import annotations

import importlib

from fenicia.connectors.base import ChannelSpec
from fenicia.core.errors import ValidationFailed

CHANNEL_PACKAGES = ("shopify", "amazon", "mercadolibre", "walmart", "tiktok")


def _load() -> dict[str, ChannelSpec]:
    specs: dict[str, ChannelSpec] = {}
    for name in CHANNEL_PACKAGES:
        spec: ChannelSpec = importlib.import_module(f"fenicia.connectors.{name}").SPEC
        specs[spec.key] = spec
    return specs


_SPECS: dict[str, ChannelSpec] | None = None


def channel_specs() -> dict[str, ChannelSpec]:
    global _SPECS
    if _SPECS is None:
        _SPECS = _load()
    return _SPECS


def channel_spec(key: str) -> ChannelSpec:
    specs = channel_specs()
    if key not in specs:
        known = ", ".join(sorted(specs))
        raise ValidationFailed(f"Unknown channel '{key}'.", resolution=f"Use one of: {known}.")
    return specs[key]
