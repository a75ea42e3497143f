"""JSON shapes of the TikTok Shop simulator: orders (Get Order Detail / List), products, packages.

Field names follow tts-partner-api's ``GetOrderDetail.ts``/``SearchProducts.ts``/``GetPackageDetail.ts``
(generated from partner.tiktokshop.com); ids are strings, money is a string, times are Unix seconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fenicia.connectors.tiktok.sim_models import JSON, Order, Product, Unit


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def render_order(order: Order, currency: str, warehouse_id: str, packages_before_shipping: bool) -> JSON:
    subtotal = sum((u.sale_price for u in order.units), Decimal(0))
    body: JSON = {
        "id": order.id,
        "status": order.status,
        "create_time": order.create_time,
        "update_time": order.update_time,
        "paid_time": order.paid_time,
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "shipping_type": order.shipping_type,
        "delivery_option_id": order.delivery_option_id,
        "delivery_option_name": order.delivery_option_name,
        "delivery_type": "HOME_DELIVERY",
        "user_id": order.user_id,
        "buyer_email": order.buyer_email,
        "buyer_message": order.buyer_message,
        "is_on_hold_order": order.is_on_hold_order,
        "is_buyer_request_cancel": order.is_buyer_request_cancel,
        "is_cod": False,
        "is_sample_order": False,
        "is_replacement_order": False,
        "order_type": "NORMAL",
        "commerce_platform": "TIKTOK_SHOP",
        "warehouse_id": warehouse_id,
        "rts_sla_time": order.create_time + 3 * 86400,
        "cancel_order_sla_time": order.create_time + 8 * 86400,
        "packages": [{"id": pid} for pid in _visible_packages(order, packages_before_shipping)],
        "payment": _payment(subtotal, order.shipping_fee, currency),
        "line_items": [_unit(u, currency, packages_before_shipping) for u in order.units],
    }
    _optional_times(body, order)
    if order.status not in ("UNPAID", "ON_HOLD"):  # [C] no address before payment / while on hold
        body["recipient_address"] = dict(order.address)
    if order.status == "CANCELLED":
        body["cancel_reason"] = order.cancel_reason
        body["cancellation_initiator"] = order.cancellation_initiator
    _latest_tracking(body, order)
    return body


def _latest_tracking(body: JSON, order: Order) -> None:
    shipped = [u for u in order.units if u.tracking_number]
    if shipped:
        body["tracking_number"] = shipped[-1].tracking_number
        body["shipping_provider"] = shipped[-1].shipping_provider_name
        body["shipping_provider_id"] = shipped[-1].shipping_provider_id


def _optional_times(body: JSON, order: Order) -> None:
    for key, value in (
        ("cancel_time", order.cancel_time),
        ("request_cancel_time", order.request_cancel_time),
        ("collection_time", order.collection_time),
        ("delivery_time", order.delivery_time),
        ("rts_time", order.rts_time),
    ):
        if value is not None:
            body[key] = value


def _visible_packages(order: Order, packages_before_shipping: bool) -> list[str]:
    return [
        pid
        for pid in order.package_ids()
        if packages_before_shipping
        or any(u.package_status not in (None, "TO_FULFILL") for u in order.package_units(pid))
    ]


def _payment(subtotal: Decimal, shipping_fee: Decimal, currency: str) -> JSON:
    return {
        "currency": currency,
        "sub_total": money(subtotal),
        "shipping_fee": money(shipping_fee),
        "seller_discount": "0",
        "platform_discount": "0",
        "original_total_product_price": money(subtotal),
        "original_shipping_fee": money(shipping_fee),
        "tax": "0",
        "total_amount": money(subtotal + shipping_fee),
    }


def _unit(unit: Unit, currency: str, packages_before_shipping: bool) -> JSON:
    body: JSON = {
        "id": unit.id,
        "product_id": unit.product.id,
        "product_name": unit.product.title,
        "sku_id": unit.sku.id,
        "sku_name": unit.sku.name,
        "seller_sku": unit.sku.seller_sku,
        "sku_type": "NORMAL",
        "sku_image": f"https://p16-oec.tiktokcdn.com/sandbox/{unit.sku.id}.jpeg",
        "original_price": money(unit.sku.price),
        "sale_price": money(unit.sale_price),
        "platform_discount": "0",
        "seller_discount": money(unit.sku.price - unit.sale_price),
        "currency": currency,
        "display_status": unit.display_status,
        "tracking_number": unit.tracking_number,
        "shipping_provider_id": unit.shipping_provider_id,
        "shipping_provider_name": unit.shipping_provider_name,
        "is_gift": unit.is_gift,
    }
    shipped = unit.package_status not in (None, "TO_FULFILL")
    if unit.package_id and (packages_before_shipping or shipped):
        body["package_id"] = unit.package_id
        body["package_status"] = unit.package_status
    for key, value in (
        ("rts_time", unit.rts_time),
        ("cancel_user", unit.cancel_user),
        ("cancel_reason", unit.cancel_reason),
    ):
        if value is not None:
            body[key] = value
    return body


def render_product(product: Product, currency: str, warehouse_id: str) -> JSON:
    return {
        "id": product.id,
        "title": product.title,
        "status": product.status,
        "create_time": product.create_time,
        "update_time": product.update_time,
        "sales_regions": ["GB"],
        "is_not_for_sale": False,
        "skus": [
            {
                "id": sku.id,
                "seller_sku": sku.seller_sku,
                "price": {
                    "currency": currency,
                    "sale_price": money(sku.price),
                    "tax_exclusive_price": money(sku.price),
                },
                "inventory": [{"warehouse_id": warehouse_id, "quantity": sku.quantity}],
            }
            for sku in product.skus
        ],
    }


def render_package(order: Order, package_id: str) -> JSON:
    units = order.package_units(package_id)
    first: Any = units[0] if units else None
    return {
        "package_id": package_id,
        "orders": [{"id": order.id, "skus": _package_skus(units)}],
        "package_status": first.package_status if first else None,
        "shipping_type": order.shipping_type,
        "delivery_option_id": order.delivery_option_id,
        "delivery_option_name": order.delivery_option_name,
        "tracking_number": first.tracking_number if first else "",
        "shipping_provider_id": first.shipping_provider_id if first else None,
        "shipping_provider_name": first.shipping_provider_name if first else None,
        "order_line_item_ids": [u.id for u in units],
        "create_time": order.create_time,
        "update_time": order.update_time,
    }


def _package_skus(units: list[Unit]) -> list[JSON]:
    counts: dict[str, JSON] = {}
    for unit in units:
        entry = counts.setdefault(unit.sku.id, {"id": unit.sku.id, "name": unit.sku.name, "quantity": 0})
        entry["quantity"] += 1
    return list(counts.values())
