"""A merchant for stock tests: a workspace with locations, one inventory source, and builders that set
levels, list products on channels and take orders through the real database and services."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

import factories
from fenicia.catalog.models import BundleComponent, Location, Product
from fenicia.channels.models import ChannelConnection, Listing
from fenicia.channels.services import store_webhook_delivery
from fenicia.connectors.base import NormalizedLine
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.inventory import ats
from fenicia.inventory.models import InventorySource, PushStatus, StockLevel, StockPush, StockRule
from fenicia.orders.ingest import upsert_order
from shopify_sim import FAST_CONNECTOR

_ids = itertools.count(1)


@dataclass
class StockWorld:
    """One merchant: two locations, one source; builders that go through our models and services."""

    db: Database
    box: SecretBox
    ws: int
    token: str
    source_id: int
    locations: list[int]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def product(self, sku: str, name: str | None = None) -> int:
        with self.db.session() as s:
            product = Product(workspace_id=self.ws, sku=sku, name=name or sku)
            s.add(product)
            s.flush()
            return product.id

    def bundle(self, sku: str, recipe: dict[int, int]) -> int:
        bundle_id = self.product(sku)
        with self.db.session() as s:
            for component_id, quantity in recipe.items():
                s.add(
                    BundleComponent(
                        workspace_id=self.ws, bundle_id=bundle_id, component_id=component_id, quantity=quantity
                    )
                )
        return bundle_id

    def connection(self, shop_url: str = "http://127.0.0.1:9/shop", name: str = "Shop") -> int:
        with self.db.session() as s:
            conn = factories.shopify_connection(
                s, self.box, self.ws, shop_url=shop_url, settings=FAST_CONNECTOR, name=name
            )
            return conn.id

    def listing(
        self, connection_id: int, product_id: int | None, *, sku: str | None = None, ref: str | None = "1"
    ) -> int:
        with self.db.session() as s:
            listing = Listing(
                workspace_id=self.ws,
                connection_id=connection_id,
                product_id=product_id,
                sku=sku,
                external_id=f"ext-{next(_ids)}",
                inventory_ref=ref,
            )
            s.add(listing)
            s.flush()
            return listing.id

    def level(
        self,
        product_id: int,
        available: int,
        *,
        location: int = 0,
        at: datetime | None = None,
        source_id: int | None = None,
    ) -> None:
        """Sets what the source says (as a source sync would) without recomputing."""
        source = source_id or self.source_id
        location_id = self.locations[location]
        at = at or utcnow() - timedelta(hours=1)
        with self.db.session() as s:
            row = s.scalar(
                select(StockLevel).where(
                    StockLevel.source_id == source,
                    StockLevel.product_id == product_id,
                    StockLevel.location_id == location_id,
                )
            )
            if row is None:
                row = StockLevel(
                    workspace_id=self.ws,
                    source_id=source,
                    product_id=product_id,
                    location_id=location_id,
                    external_code=str(product_id),
                    available=available,
                    snapshot_at=at,
                    changed_at=at,
                )
                s.add(row)
            row.available, row.snapshot_at, row.changed_at = available, at, utcnow()

    def rule(self, scope: str, connection_id: int, listing_id: int | None = None, **terms: Any) -> None:
        with self.db.session() as s:
            s.add(
                StockRule(
                    workspace_id=self.ws, scope=scope, connection_id=connection_id, listing_id=listing_id, **terms
                )
            )

    def recompute(self, *product_ids: int, reason: str = "test") -> set[int]:
        with self.db.session() as s:
            return ats.recompute(s, self.ws, set(product_ids), reason)

    def order(self, connection_id: int, lines: list[tuple[str, int]], **overrides: Any) -> set[int]:
        """An order ingested through the real upsert (with its stock hook); returns connections queued."""
        external_id = overrides.pop("external_id", str(next(_ids) + 5000))
        normalized = [
            NormalizedLine(external_id=f"{external_id}-{i}", sku=sku, title=sku, quantity=qty)
            for i, (sku, qty) in enumerate(lines)
        ]
        with self.db.session() as s:
            conn = s.get(ChannelConnection, connection_id)
            assert conn is not None
            order = factories.normalized_order(external_id, updated=utcnow(), lines=normalized, **overrides)
            upsert_order(s, conn, order, source="webhook")
            return ats.queued_push_connections(s)

    def ats(self, listing_id: int) -> int | None:
        return self.get_listing(listing_id).ats_quantity

    def get_listing(self, listing_id: int) -> Listing:
        with self.db.read_session() as s:
            listing = s.get(Listing, listing_id)
            assert listing is not None
            return listing

    def pushes(self, listing_id: int) -> list[StockPush]:
        with self.db.read_session() as s:
            return list(s.scalars(select(StockPush).where(StockPush.listing_id == listing_id).order_by(StockPush.id)))

    def pending(self, listing_id: int) -> list[int]:
        return [p.quantity for p in self.pushes(listing_id) if p.status == PushStatus.PENDING]

    def mark_sent(self, listing_id: int) -> None:
        """What a successful push records, for tests about queueing only."""
        with self.db.session() as s:
            listing = s.get(Listing, listing_id)
            assert listing is not None
            for push in s.scalars(
                select(StockPush).where(StockPush.listing_id == listing_id, StockPush.status == "pending")
            ):
                push.status = PushStatus.SENT
                listing.last_pushed_quantity = push.quantity


def new_world(db: Database, box: SecretBox, name: str = "Stock") -> StockWorld:
    with db.session() as s:
        ws, token = factories.workspace(s, name)
        locations = [Location(workspace_id=ws, code=code, name=code) for code in ("MAIN", "STORE")]
        s.add_all(locations)
        source = InventorySource(
            workspace_id=ws,
            kind="spreadsheet",
            name="ERP export",
            credentials_encrypted=box.encrypt({}),
            frequency_seconds=None,
        )
        s.add(source)
        s.flush()
        return StockWorld(db, box, ws, token, source.id, [loc.id for loc in locations])


def signed_delivery(db: Database, conn_id: int, order: dict[str, Any], topic: str, webhook_id: str) -> None:
    """Stores a Shopify-signed webhook delivery in the inbox, as the webhook endpoint does."""
    body = json.dumps(order).encode()
    digest = base64.b64encode(hmac.new(b"shpss_sandbox", body, hashlib.sha256).digest()).decode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "demo-store.myshopify.com",
        "X-Shopify-API-Version": "2024-04",
    }
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        store_webhook_delivery(
            s, conn, delivery_id=webhook_id, topic=topic, body=body, triggered_at=None, headers=headers
        )
