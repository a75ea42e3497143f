"""The orders search box and the total shown beside a page."""

from __future__ import annotations

from decimal import Decimal

import factories
from fenicia.channels.models import ChannelConnection
from fenicia.connectors.base import NormalizedLine
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.orders.ingest import upsert_orders
from fenicia.orders.schemas import OrderFilters
from fenicia.orders.services import list_orders


def _seed(db: Database, box: SecretBox) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        conn = factories.shopify_connection(s, box, ws)
        orders = [
            factories.normalized_order(
                str(1000 + i),
                customer_name=f"Customer {i}",
                customer_email=f"c{i}@shop.test",
                lines=[NormalizedLine(f"{i}-1", f"SKU-{i % 3}", "Widget", 1, Decimal("1"))],
            )
            for i in range(12)
        ]
        upsert_orders(s, s.get(ChannelConnection, conn.id) or conn, orders, source="poll")
        return ws


def _numbers(db: Database, ws: int, q: str, **page: int) -> tuple[list[str], int]:
    with db.read_session() as s:
        found, total = list_orders(s, ws, OrderFilters(q=q), **page)
        return sorted(o.number for o in found), total


def test_a_number_finds_that_order_with_or_without_its_hash(db: Database, box: SecretBox) -> None:
    ws = _seed(db, box)
    assert _numbers(db, ws, "1003") == (["#1003"], 1)
    assert _numbers(db, ws, "#1003") == (["#1003"], 1)
    assert _numbers(db, ws, "100") == ([], 0)  # not a prefix search over every order


def test_a_sku_matches_exactly_in_any_letter_case_and_a_name_or_email_in_part(db: Database, box: SecretBox) -> None:
    ws = _seed(db, box)
    assert _numbers(db, ws, "sku-1")[1] == 4
    assert _numbers(db, ws, "SKU-")[1] == 0
    assert _numbers(db, ws, "Customer 1")[1] == 3  # 1, 10, 11
    assert _numbers(db, ws, "c7@shop")[0] == ["#1007"]


def test_the_total_is_right_on_full_short_and_empty_pages(db: Database, box: SecretBox) -> None:
    ws = _seed(db, box)
    assert _numbers(db, ws, "shop.test", limit=5)[1] == 12
    assert _numbers(db, ws, "shop.test", limit=5, offset=10) == (["#1000", "#1001"], 12)
    assert _numbers(db, ws, "shop.test", limit=5, offset=20) == ([], 12)
