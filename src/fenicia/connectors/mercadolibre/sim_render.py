"""The simulator's records as MercadoLibre's JSON (orders, shipments new and legacy format, items).

Shapes follow the examples of ML's developer docs (manage-sales, manage-shipments, items & searches);
prices are numbers, dates carry milliseconds and the site's offset.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fenicia.connectors.mercadolibre.sim_models import Address, Item, Order, OrderItem, Shipment, Variation

JSON = dict[str, Any]
Iso = Callable[[float], str]


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def render_order(order: Order, seller_id: int, currency: str, site: str, iso: Iso, *, delivered: bool = False) -> JSON:
    """``delivered``: the order's shipment was delivered (ML tags other paid sales ``not_delivered``)."""
    total = _number(order.total)
    paid = order.status in ("paid", "partially_refunded")
    tags = [*order.tags, "delivered" if delivered else "not_delivered"] if paid else list(order.tags)
    return {
        "id": order.id,
        "status": order.status,
        "status_detail": order.status_detail,
        "date_created": iso(order.date_created),
        "date_closed": iso(order.date_closed) if order.date_closed else None,
        "last_updated": iso(order.last_updated),
        "date_last_updated": iso(order.last_updated),
        "expiration_date": iso(order.date_created + 28 * 86_400),
        "manufacturing_ending_date": None,
        "comment": None,
        "pack_id": order.pack_id,
        "pickup_id": None,
        "order_request": {"return": None, "change": None},
        "fulfilled": None if order.feedback_sale is None else order.feedback_sale.get("fulfilled"),
        "mediations": [],
        "total_amount": total,
        "paid_amount": total if paid else 0,
        "coupon": {"id": None, "amount": 0},
        "order_items": [_render_line(line, currency) for line in order.items],
        "currency_id": currency,
        "payments": [_render_payment(order, seller_id, currency, iso)],
        "shipping": {"id": order.shipment_id},
        "tags": tags,
        "feedback": {"purchase": None, "sale": order.feedback_sale},
        "context": {"channel": "marketplace", "site": site, "flows": []},
        "seller": {"id": seller_id},
        "buyer": _render_buyer(order),
        "taxes": {"amount": None, "currency_id": None, "id": None},
        "cancel_detail": order.cancel_detail,
    }


def _render_buyer(order: Order) -> JSON:
    buyer = order.buyer
    return {"id": buyer.id, "nickname": buyer.nickname, "first_name": buyer.first_name, "last_name": buyer.last_name}


def _render_line(line: OrderItem, currency: str) -> JSON:
    return {
        "item": {
            "id": line.item_id,
            "title": line.title,
            "category_id": line.category_id,
            "variation_id": line.variation_id,
            "seller_custom_field": None,
            "seller_sku": line.sku,
            "variation_attributes": [{"id": a, "name": n, "value_name": v} for a, n, v in line.variation_attributes],
            "warranty": None,
            "condition": "new",
        },
        "quantity": line.quantity,
        "unit_price": _number(line.unit_price),
        "full_unit_price": _number(line.unit_price),
        "currency_id": currency,
        "manufacturing_days": None,
        "sale_fee": _number((line.unit_price * Decimal("0.12")).quantize(Decimal("0.01"))),
    }


def _render_payment(order: Order, seller_id: int, currency: str, iso: Iso) -> JSON:
    status = {"paid": "approved", "partially_refunded": "approved", "cancelled": "refunded"}.get(
        order.status, "pending"
    )
    total = _number(order.total)
    return {
        "id": order.payment_id,
        "order_id": order.id,
        "payer_id": order.buyer.id,
        "collector": {"id": seller_id},
        "currency_id": currency,
        "status": status,
        "status_detail": "accredited" if status == "approved" else None,
        "transaction_amount": total,
        "total_paid_amount": total if status == "approved" else 0,
        "date_created": iso(order.date_created),
        "date_approved": iso(order.date_closed) if order.date_closed else None,
        "date_last_modified": iso(order.last_updated),
    }


def _render_address(address: Address) -> JSON:
    return {
        "address_line": f"{address.street_name} {address.street_number}",
        "street_name": address.street_name,
        "street_number": address.street_number,
        "comment": address.comment,
        "zip_code": address.zip_code,
        "city": {"id": None, "name": address.city},
        "state": {"id": address.state_id, "name": address.state},
        "country": {"id": address.country_id, "name": address.country},
        "neighborhood": {"id": None, "name": address.neighborhood},
        "geolocation_type": "ROOFTOP",
        "latitude": None,
        "longitude": None,
    }


def render_shipment(
    shipment: Shipment, order: Order, seller_id: int, site: str, iso: Iso, *, with_order_id: bool
) -> JSON:
    """The ``x-format-new: true`` shape (manage-shipments)."""
    body: JSON = {
        "id": shipment.id,
        "external_reference": None,
        "status": shipment.status,
        "substatus": shipment.substatus,
        "date_created": iso(shipment.date_created),
        "last_updated": iso(shipment.last_updated),
        "declared_value": _number(order.total),
        "dimensions": {"height": 10, "width": 20, "length": 30, "weight": 500},
        "logistic": {"direction": "forward", "mode": shipment.mode, "type": shipment.logistic_type},
        "source": {"site_id": site, "market_place": "MELI", "application_id": None},
        "tracking_number": shipment.tracking_number,
        "tracking_method": shipment.tracking_method,
        "origin": {"type": "selling_address", "sender_id": seller_id, "shipping_address": None},
        "destination": {
            "type": "buying_address",
            "receiver_id": order.buyer.id,
            "receiver_name": shipment.receiver_name,
            "receiver_phone": shipment.receiver_phone if shipment.mode == "custom" else None,
            "comments": None,
            "shipping_address": _render_address(shipment.address),
        },
        "lead_time": {"service_id": shipment.service_id},
        "tags": [],
        "items_types": ["new"],
    }
    if with_order_id:
        body["order_id"] = order.id
    return body


def render_legacy_shipment(shipment: Shipment, order: Order, seller_id: int, iso: Iso) -> JSON:
    """The shape without ``x-format-new`` (older integrations): mode, order_id and receiver_address on top."""
    address = {
        **_render_address(shipment.address),
        "receiver_name": shipment.receiver_name,
        "receiver_phone": shipment.receiver_phone,
    }
    return {
        "id": shipment.id,
        "mode": shipment.mode,
        "shipping_mode": shipment.logistic_type,
        "status": shipment.status,
        "substatus": shipment.substatus,
        "order_id": order.id,
        "sender_id": seller_id,
        "receiver_id": order.buyer.id,
        "tracking_number": shipment.tracking_number,
        "tracking_method": shipment.tracking_method,
        "service_id": shipment.service_id,
        "date_created": iso(shipment.date_created),
        "last_updated": iso(shipment.last_updated),
        "receiver_address": address,
        "status_history": [
            {"status": status, "substatus": sub, "date": iso(at)} for status, sub, at in shipment.history
        ],
    }


def render_shipment_items(order: Order) -> list[JSON]:
    return [
        {
            "item_id": line.item_id,
            "variation_id": line.variation_id,
            "description": line.title,
            "quantity": line.quantity,
            "order_id": order.id,
        }
        for line in order.items
    ]


def _sku_attribute(sku: str) -> JSON:
    return {"id": "SELLER_SKU", "name": "SKU", "value_id": None, "value_name": sku}


def _render_variation(variation: Variation, price: Decimal) -> JSON:
    return {
        "id": variation.id,
        "price": _number(price),
        "attribute_combinations": [{"id": a, "name": n, "value_name": v} for a, n, v in variation.attributes],
        "available_quantity": variation.available_quantity,
        "sold_quantity": variation.sold_quantity,
        "seller_custom_field": None,
        "attributes": [_sku_attribute(variation.sku)],
    }


def render_item(item: Item, seller_id: int, site: str, currency: str, iso: Iso) -> JSON:
    return {
        "id": item.id,
        "site_id": site,
        "title": item.title,
        "seller_id": seller_id,
        "category_id": item.category_id,
        "price": _number(item.price),
        "currency_id": currency,
        "initial_quantity": item.total_quantity() + item.sold_quantity,
        "available_quantity": item.total_quantity(),
        "sold_quantity": item.sold_quantity,
        "status": item.status,
        "sub_status": ["out_of_stock"] if item.status == "paused" and item.total_quantity() == 0 else [],
        "seller_custom_field": item.sku,
        "attributes": [_sku_attribute(item.sku)],
        "variations": [_render_variation(v, item.price) for v in item.variations],
        "date_created": iso(item.date_created),
        "last_updated": iso(item.last_updated),
    }


def select_attributes(body: JSON, attributes: str | None) -> JSON:
    """``?attributes=id,title``: only those top-level fields."""
    if not attributes:
        return body
    wanted = {name.strip() for name in attributes.split(",") if name.strip()}
    return {key: value for key, value in body.items() if key in wanted}
