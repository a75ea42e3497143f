"""The conformance harness for MercadoLibre does what tests/harness.py promises."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from fenicia.connectors.base import MemoryTokenStore, OrderCursor
from fenicia.connectors.mercadolibre import SPEC
from fenicia.core import netguard
from fenicia.core.errors import AuthError
from fenicia.orders.models import OrderStatus
from harness import ChannelHarness
from harness_mercadolibre import running


async def test_the_harness_drives_a_connector_built_from_its_settings() -> None:
    with running() as harness:
        checked: ChannelHarness = harness
        settings = SPEC.settings_model.model_validate(checked.connection_settings())
        credentials = SPEC.credentials_model.model_validate(checked.connection_credentials())
        connector = SPEC.build(settings, credentials, MemoryTokenStore())
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        try:
            ids = checked.seed_orders(3)
            pages = [p async for p in connector.fetch_orders(OrderCursor(datetime.now(UTC) - timedelta(hours=1)))]
            assert sorted(o.external_id for p in pages for o in p.orders) == sorted(ids)
            assert all(line.sku for p in pages for o in p.orders for line in o.lines)
            checked.customer_cancel(ids[0])
            checked.expire_tokens()
            assert (await connector.get_order(ids[0])).status == OrderStatus.CANCELLED
            assert checked.token_grants() == 2
            assert [r["status"] for r in checked.requests("GET", f"/orders/{ids[0]}")] == [401, 200]
            checked.fault("http_500", count=1, path_contains="/orders/")
            await connector.get_order(ids[1])
            signed = checked.signed_webhook(ids[1])
            assert signed is not None
            headers, body = signed
            connector.verify_webhook(headers, body)
            assert connector.parse_webhook(headers, body).order_ref == ids[1]
            tampered = json.dumps(json.loads(body) | {"user_id": 1}).encode()
            with pytest.raises(AuthError):
                connector.verify_webhook(headers, tampered)
        finally:
            await connector.aclose()


def test_documented_statuses_map_to_common_statuses() -> None:
    with running() as harness:
        samples = harness.documented_statuses()
        statuses = {harness.normalize(raw).status for raw in samples}
    assert len(samples) == 9 * 8 and statuses <= set(OrderStatus.ALL)
    assert statuses == {
        OrderStatus.PENDING,
        OrderStatus.UNSHIPPED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
    }
