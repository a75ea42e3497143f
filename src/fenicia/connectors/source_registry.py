"""The one explicit list of inventory source types Fenicia knows (ERPs, WMSs, spreadsheets, shops)."""

from __future__ import annotations

import importlib

from fenicia.connectors.base import SourceSpec
from fenicia.core.errors import ValidationFailed

SOURCE_PACKAGES = ("spreadsheet", "odoo", "erpnext", "shiphero", "woocommerce", "shopify_stock")


def _load() -> dict[str, SourceSpec]:
    specs: dict[str, SourceSpec] = {}
    for name in SOURCE_PACKAGES:
        spec: SourceSpec = importlib.import_module(f"fenicia.connectors.{name}").SOURCE_SPEC
        specs[spec.key] = spec
    return specs


_SPECS: dict[str, SourceSpec] | None = None


def source_specs() -> dict[str, SourceSpec]:
    global _SPECS
    if _SPECS is None:
        _SPECS = _load()
    return _SPECS


def source_spec(key: str) -> SourceSpec:
    specs = source_specs()
    if key not in specs:
        known = ", ".join(sorted(specs))
        raise ValidationFailed(f"Unknown inventory source type '{key}'.", resolution=f"Use one of: {known}.")
    return specs[key]
