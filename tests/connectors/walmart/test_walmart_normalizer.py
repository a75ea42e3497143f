"""The Walmart normalizer: line-level statuses to one order status, quantities, dates, packages."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from fenicia.connectors.walmart.orders import normalize_order, shipment_groups
from fenicia.core.errors import InvalidRecord
from fenicia.orders.models import OrderStatus
from harness_walmart import TRACKING, example_order, running, with_statuses

S = OrderStatus


def two_lines(first: list[tuple[str, int]], second: list[tuple[str, int]]) -> dict[str, Any]:
    base = example_order()
    order = with_statuses(base, *first)
    extra = with_statuses(base, *second)["orderLines"]["orderLine"][0]
    extra["lineNumber"] = "2"
    order["orderLines"]["orderLine"].append(extra)
    return order


STATUS_TABLE: list[tuple[list[tuple[str, int]], str, str]] = [
    ([("Created", 1)], S.UNSHIPPED, "Created"),
    ([("Acknowledged", 2)], S.UNSHIPPED, "Acknowledged"),
    ([("Shipped", 1)], S.SHIPPED, "Shipped"),
    ([("Delivered", 3)], S.DELIVERED, "Delivered"),
    ([("Cancelled", 1)], S.CANCELLED, "Cancelled"),
    ([("Refund", 1)], S.SHIPPED, "Refund"),
    ([("Shipped", 1), ("Acknowledged", 1)], S.PARTIALLY_SHIPPED, "Acknowledged:1 Shipped:1"),
    ([("Delivered", 1), ("Created", 1)], S.PARTIALLY_SHIPPED, "Created:1 Delivered:1"),
    ([("Cancelled", 1), ("Created", 1)], S.UNSHIPPED, "Created:1 Cancelled:1"),
    ([("Cancelled", 1), ("Shipped", 1)], S.SHIPPED, "Shipped:1 Cancelled:1"),
    ([("Cancelled", 1), ("Delivered", 1)], S.DELIVERED, "Delivered:1 Cancelled:1"),
    ([("Delivered", 1), ("Refund", 1)], S.DELIVERED, "Delivered:1 Refund:1"),
    ([("Delivered", 1), ("Shipped", 1)], S.SHIPPED, "Shipped:1 Delivered:1"),
    ([("OnHold", 1)], S.UNSHIPPED, "OnHold"),  # an unknown word counts as open, never as shipped
]


@pytest.mark.parametrize(("entries", "status", "text"), STATUS_TABLE, ids=lambda v: str(v))
def test_status_table(entries: list[tuple[str, int]], status: str, text: str) -> None:
    order = normalize_order(with_statuses(example_order(), *entries))
    assert order.status == status
    assert order.channel_status == text


def test_status_across_lines() -> None:
    assert normalize_order(two_lines([("Shipped", 1)], [("Created", 1)])).status == S.PARTIALLY_SHIPPED
    assert normalize_order(two_lines([("Shipped", 1)], [("Cancelled", 1)])).status == S.SHIPPED
    assert normalize_order(two_lines([("Cancelled", 1)], [("Cancelled", 2)])).status == S.CANCELLED
    assert normalize_order(two_lines([("Delivered", 1)], [("Shipped", 1)])).status == S.SHIPPED
    assert normalize_order(two_lines([("Acknowledged", 1)], [("Created", 1)])).status == S.UNSHIPPED


def test_mapping_is_total_over_the_harness_samples() -> None:
    with running() as harness:
        for raw in harness.documented_statuses():
            order = harness.normalize(raw)
            assert order.status in OrderStatus.ALL
            assert order.status != OrderStatus.PENDING  # Walmart only releases paid orders


def test_line_quantities() -> None:
    order = normalize_order(with_statuses(example_order(), ("Shipped", 2), ("Cancelled", 1), ("Acknowledged", 1)))
    [line] = order.lines
    assert (line.quantity, line.shipped_quantity, line.cancelled_quantity) == (4, 2, 1)
    assert line.channel_status == "Acknowledged:1 Shipped:2 Cancelled:1"


def test_units_without_a_status_entry_are_open() -> None:
    order = normalize_order(with_statuses(example_order(), ("Shipped", 1), quantity=3))
    assert order.status == S.PARTIALLY_SHIPPED and order.lines[0].quantity == 3


def test_refunds_set_the_financial_status() -> None:
    assert normalize_order(with_statuses(example_order(), ("Refund", 2))).financial_status == "refunded"
    partly = normalize_order(with_statuses(example_order(), ("Refund", 1), ("Delivered", 1)))
    assert partly.financial_status == "partially_refunded"


def test_intent_to_cancel_shows_in_channel_status() -> None:
    raw = with_statuses(example_order(), ("Acknowledged", 1))
    raw["orderLines"]["orderLine"][0]["intentToCancel"] = "Yes"
    order = normalize_order(raw)
    assert order.status == S.UNSHIPPED and order.channel_status == "Acknowledged intentToCancel"


def test_updated_at_is_the_latest_status_date() -> None:
    raw = two_lines([("Shipped", 1)], [("Created", 1)])
    raw["orderLines"]["orderLine"][1]["statusDate"] = 1700000000000
    assert normalize_order(raw).updated_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_iso_order_date_is_accepted() -> None:
    raw = example_order() | {"orderDate": "2021-06-15T22:33:27Z"}
    assert normalize_order(raw).placed_at == datetime(2021, 6, 15, 22, 33, 27, tzinfo=UTC)


def test_unit_price_or_line_total() -> None:
    raw = with_statuses(example_order(), ("Created", 2))
    assert normalize_order(raw).lines[0].unit_price == Decimal("5")
    assert normalize_order(raw, charge_is_unit_price=False).lines[0].unit_price == Decimal("2.5")


def test_summary_total_wins_over_charges() -> None:
    raw = example_order() | {"orderSummary": {"totalAmount": {"currencyAmount": 12.34, "currencyUnit": "CAD"}}}
    order = normalize_order(raw)
    assert order.total == Decimal("12.34") and order.currency == "CAD"


def test_packages_are_grouped_and_keep_their_id_across_a_tracking_change() -> None:
    raw = two_lines([("Shipped", 1)], [("Shipped", 1)])
    [group] = shipment_groups(raw["orderLines"]["orderLine"])
    assert group["id"] == str(TRACKING["shipDateTime"]) and group["lines"] == ["1", "2"]
    changed = copy.deepcopy(raw)
    for line in changed["orderLines"]["orderLine"]:
        line["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]["trackingNumber"] = "NEW1"
    [after] = normalize_order(changed).shipments
    assert after.external_id == group["id"] and after.tracking_number == "NEW1"


def test_two_packages_shipped_at_the_same_time_get_distinct_ids() -> None:
    raw = two_lines([("Shipped", 1)], [("Delivered", 1)])
    raw["orderLines"]["orderLine"][1]["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]["trackingNumber"] = (
        "B2"
    )
    shipments = normalize_order(raw).shipments
    assert len({s.external_id for s in shipments}) == 2
    assert {s.status for s in shipments} == {"shipped", "delivered"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.pop("purchaseOrderId"), "purchaseOrderId"),
        (lambda o: o.update(orderDate="yesterday"), "orderDate"),
        (lambda o: o.update(orderLines={"orderLine": []}), "orderLines"),
        (
            lambda o: o["orderLines"]["orderLine"][0].update(orderLineQuantity={"amount": "1.5"}),
            "orderLineQuantity.amount",
        ),
        (
            lambda o: o["orderLines"]["orderLine"][0].update(orderLineQuantity={"amount": "-1"}),
            "orderLineQuantity.amount",
        ),
        (lambda o: o["orderLines"]["orderLine"][0].pop("orderLineStatuses"), "orderLineStatuses"),
        (lambda o: o["orderLines"]["orderLine"][0].pop("lineNumber"), "orderLine.lineNumber"),
        (
            lambda o: o["orderLines"]["orderLine"][0]["charges"]["charge"][0]["chargeAmount"].update(amount="x"),
            "chargeAmount.amount",
        ),
    ],
)
def test_malformed_orders_name_the_field(change: Any, field: str) -> None:
    raw = example_order()
    change(raw)
    with pytest.raises(InvalidRecord) as caught:
        normalize_order(raw)
    assert caught.value.details.get("field") == field


def test_not_an_object() -> None:
    with pytest.raises(InvalidRecord):
        normalize_order([])  # type: ignore[arg-type]
