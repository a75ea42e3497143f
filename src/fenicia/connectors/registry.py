"""The one explicit list of channel connectors Fenicia knows."""

from __future__ import annotations

from fenicia.connectors.base import ChannelSpec
from fenicia.core.errors import ValidationFailed


def _load() -> dict[str, ChannelSpec]:
    from fenicia.connectors.shopify import SPEC as SHOPIFY

    return {spec.key: spec for spec in (SHOPIFY,)}


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
