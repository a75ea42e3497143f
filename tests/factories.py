"""Builders for test data, going through the real services."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from fenicia.accounts.services import create_api_token, create_workspace
from fenicia.channels.models import ChannelConnection
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.connectors.base import NormalizedLine, NormalizedOrder
from fenicia.core.crypto import SecretBox
from fenicia.orders.models import OrderStatus

_seq = itertools.count(1)
BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def workspace(session: Session, name: str = "Shop") -> tuple[int, str]:
    """A workspace and an API token for it."""
    n = next(_seq)
    ws = create_workspace(session, f"{name} {n}", f"{name.lower().replace(' ', '-')}-{n}", f"ops{n}@shop.test")
    _, token = create_api_token(session, ws.id, "tests")
    return ws.id, token


def shopify_connection(
    session: Session, box: SecretBox, workspace_id: int, shop_url: str = "http://127.0.0.1:9/shop", **extra: Any
) -> ChannelConnection:
    data = ConnectionCreate(
        channel="shopify",
        name=extra.pop("name", "My Shopify"),
        settings={"shop_url": shop_url, **extra.pop("settings", {})},
        credentials={"access_token": "shpat_sandbox", "client_secret": "shpss_sandbox"},
        **extra,
    )
    return create_connection(session, box, workspace_id, data)


def normalized_order(
    external_id: str = "1001", *, updated: datetime | None = None, **overrides: Any
) -> NormalizedOrder:
    updated = updated or BASE_TIME
    values: dict[str, Any] = {
        "external_id": external_id,
        "number": f"#{external_id}",
        "status": OrderStatus.UNSHIPPED,
        "channel_status": "financial=paid fulfillment=unfulfilled",
        "placed_at": updated - timedelta(hours=1),
        "updated_at": updated,
        "financial_status": "paid",
        "customer_name": "Bob Norman",
        "customer_email": "bob@example.com",
        "shipping_address": {"city": "Louisville", "country_code": "US"},
        "currency": "USD",
        "total": Decimal("19.99"),
        "lines": [
            NormalizedLine(
                external_id=f"{external_id}-1", sku="SKU-1", title="Widget", quantity=1, unit_price=Decimal("19.99")
            )
        ],
    }
    values.update(overrides)
    return NormalizedOrder(**values)
