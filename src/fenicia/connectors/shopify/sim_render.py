"""REST JSON for the simulator's records, shaped like `fixtures/order.json` (API 2024-04)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fenicia.connectors.shopify.sim_models import (
    Customer,
    Fulfillment,
    FulfillmentOrder,
    InventoryLevel,
    LineItem,
    Location,
    Order,
    Product,
    Variant,
    fulfillment_order_status,
)

Iso = Callable[[float], str]
JSON = dict[str, Any]
CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def money_set(value: Decimal, currency: str) -> JSON:
    amount = {"amount": money(value), "currency_code": currency}
    return {"shop_money": amount, "presentment_money": dict(amount)}


def gid(kind: str, id_: int) -> str:
    return f"gid://shopify/{kind}/{id_}"


def tax_line(amount: Decimal, rate: Decimal, currency: str) -> JSON:
    return {
        "price": money(amount),
        "rate": float(rate),
        "title": "State Tax",
        "price_set": money_set(amount, currency),
        "channel_liable": None,
    }


def render_line_item(li: LineItem, order: Order, quantity: int | None = None) -> JSON:
    """A line item; `quantity` overrides it inside a fulfillment (units shipped there)."""
    cur = order.currency
    zero = Decimal(0)
    tax = li.price * li.current_quantity * order.tax_rate
    name = f"{li.title} - {li.variant_title}" if li.variant_title else li.title
    return {
        "id": li.id,
        "admin_graphql_api_id": gid("LineItem", li.id),
        "current_quantity": li.current_quantity,
        "fulfillable_quantity": li.fulfillable(order.cancelled),
        "fulfillment_service": "manual",
        "fulfillment_status": li.fulfillment_status,
        "gift_card": False,
        "grams": li.grams,
        "name": name,
        "price": money(li.price),
        "price_set": money_set(li.price, cur),
        "product_exists": li.product_id is not None,
        "product_id": li.product_id,
        "properties": [],
        "quantity": li.quantity if quantity is None else quantity,
        "requires_shipping": True,
        "sku": li.sku,
        "taxable": True,
        "title": li.title,
        "total_discount": "0.00",
        "total_discount_set": money_set(zero, cur),
        "variant_id": li.variant_id,
        "variant_inventory_management": "shopify" if li.variant_id else None,
        "variant_title": li.variant_title,
        "vendor": None,
        "tax_lines": [tax_line(tax, order.tax_rate, cur)],
        "duties": [],
        "discount_allocations": [],
    }


def render_fulfillment(f: Fulfillment, order: Order, iso: Iso) -> JSON:
    lines = [render_line_item(li, order, f.quantities[li.id]) for li in order.line_items if li.id in f.quantities]
    return {
        "id": f.id,
        "admin_graphql_api_id": gid("Fulfillment", f.id),
        "created_at": iso(f.created_at),
        "location_id": f.location_id,
        "name": f.name,
        "order_id": f.order_id,
        "origin_address": {},
        "receipt": {},
        "service": "manual",
        "shipment_status": f.shipment_status,
        "status": f.status,
        "tracking_company": f.tracking_company,
        "tracking_number": f.tracking_numbers[0] if f.tracking_numbers else None,
        "tracking_numbers": list(f.tracking_numbers),
        "tracking_url": f.tracking_urls[0] if f.tracking_urls else None,
        "tracking_urls": list(f.tracking_urls),
        "updated_at": iso(f.updated_at),
        "line_items": lines,
    }


def render_address(address: dict[str, Any]) -> JSON:
    keys = [
        "first_name",
        "address1",
        "phone",
        "city",
        "zip",
        "province",
        "country",
        "last_name",
        "address2",
        "company",
        "latitude",
        "longitude",
        "name",
        "country_code",
        "province_code",
    ]
    rendered = {key: address.get(key) for key in keys}
    rendered["name"] = f"{address.get('first_name', '')} {address.get('last_name', '')}".strip()
    return rendered


def render_customer(c: Customer, currency: str, iso: Iso) -> JSON:
    default_address = {
        "id": c.id,
        "customer_id": c.id,
        **{k: c.address.get(k) for k in ("first_name", "last_name", "company", "address1")},
        **{k: c.address.get(k) for k in ("address2", "city", "province", "country", "zip")},
        "phone": c.phone,
        "name": f"{c.first_name} {c.last_name}",
        "province_code": c.address.get("province_code"),
        "country_code": c.address.get("country_code"),
        "country_name": c.address.get("country"),
        "default": True,
    }
    return {
        "id": c.id,
        "email": c.email,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.created_at),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "state": "disabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": c.phone,
        "email_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
        },
        "sms_marketing_consent": None,
        "tags": "",
        "currency": currency,
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", c.id),
        "default_address": default_address,
    }


def _totals(order: Order) -> dict[str, Decimal]:
    original = sum((li.price * li.quantity for li in order.line_items), Decimal(0))
    current = sum((li.price * li.current_quantity for li in order.line_items), Decimal(0))
    tax = (original * order.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    current_tax = (current * order.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "line_items": original,
        "subtotal": original,
        "tax": tax,
        "total": original + tax + order.shipping_price,
        "current_subtotal": current,
        "current_tax": current_tax,
        "current_total": current + current_tax + order.shipping_price,
    }


def _money_fields(order: Order) -> JSON:
    t = _totals(order)
    cur = order.currency
    zero = Decimal(0)
    paid = order.financial_status in {"paid", "partially_refunded", "refunded"}
    pairs = {
        "current_subtotal_price": t["current_subtotal"],
        "current_total_discounts": zero,
        "current_total_price": t["current_total"],
        "current_total_tax": t["current_tax"],
        "subtotal_price": t["subtotal"],
        "total_discounts": zero,
        "total_line_items_price": t["line_items"],
        "total_price": t["total"],
        "total_tax": t["tax"],
    }
    rendered: JSON = {}
    for key, value in pairs.items():
        rendered[key] = money(value)
        rendered[f"{key}_set"] = money_set(value, cur)
    rendered["total_shipping_price_set"] = money_set(order.shipping_price, cur)
    rendered["total_outstanding"] = "0.00" if paid else money(t["total"])
    rendered["total_tax_lines"] = [tax_line(t["tax"], order.tax_rate, cur)]
    return rendered


def _shipping_line(order: Order) -> JSON:
    price, cur = order.shipping_price, order.currency
    return {
        "id": order.id + 1,
        "carrier_identifier": None,
        "code": "Standard",
        "discounted_price": money(price),
        "discounted_price_set": money_set(price, cur),
        "phone": None,
        "price": money(price),
        "price_set": money_set(price, cur),
        "requested_fulfillment_service_id": None,
        "source": "shopify",
        "title": "Standard",
        "tax_lines": [],
        "discount_allocations": [],
    }


def render_order(order: Order, iso: Iso) -> JSON:
    """The full REST order, key order as in Shopify's own test payload."""
    m = _money_fields(order)
    created = iso(order.created_at)
    when = {
        "cancelled_at": iso(order.cancelled_at) if order.cancelled_at is not None else None,
        "closed_at": iso(order.closed_at) if order.closed_at is not None else None,
    }
    rendered: JSON = {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "app_id": None,
        "browser_ip": "0.0.0.0",
        "buyer_accepts_marketing": False,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": when["cancelled_at"],
        "cart_token": order.token[:32],
        "checkout_id": order.id + 7,
        "checkout_token": order.token[::-1][:32],
        "client_details": {
            "accept_language": None,
            "browser_height": None,
            "browser_ip": "0.0.0.0",
            "browser_width": None,
            "session_hash": None,
            "user_agent": None,
        },
        "closed_at": when["closed_at"],
        "confirmation_number": order.token[:9].upper(),
        "confirmed": True,
        "contact_email": order.email,
        "created_at": created,
        "currency": order.currency,
        "current_subtotal_price": m["current_subtotal_price"],
        "current_subtotal_price_set": m["current_subtotal_price_set"],
        "current_total_additional_fees_set": None,
        "current_total_discounts": m["current_total_discounts"],
        "current_total_discounts_set": m["current_total_discounts_set"],
        "current_total_duties_set": None,
        "current_total_price": m["current_total_price"],
        "current_total_price_set": m["current_total_price_set"],
        "current_total_tax": m["current_total_tax"],
        "current_total_tax_set": m["current_total_tax_set"],
        "customer_locale": "en",
        "device_id": None,
        "discount_codes": [],
        "email": order.email,
        "estimated_taxes": False,
        "financial_status": order.financial_status,
        "fulfillment_status": order.fulfillment_status,
        "landing_site": None,
        "landing_site_ref": None,
        "location_id": None,
        "merchant_of_record_app_id": None,
        "name": order.name,
        "note": order.note,
        "note_attributes": [],
        "number": order.number - 1000,
        "order_number": order.number,
        "order_status_url": order.status_url,
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": ["bogus"],
        "phone": order.phone,
        "po_number": None,
        "presentment_currency": order.currency,
        "processed_at": created,
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": order.source_name,
        "source_url": None,
        "subtotal_price": m["subtotal_price"],
        "subtotal_price_set": m["subtotal_price_set"],
        "tags": order.tags,
        "tax_exempt": False,
        "tax_lines": m["total_tax_lines"],
        "taxes_included": False,
        "test": False,
        "token": order.token,
        "total_discounts": m["total_discounts"],
        "total_discounts_set": m["total_discounts_set"],
        "total_line_items_price": m["total_line_items_price"],
        "total_line_items_price_set": m["total_line_items_price_set"],
        "total_outstanding": m["total_outstanding"],
        "total_price": m["total_price"],
        "total_price_set": m["total_price_set"],
        "total_shipping_price_set": m["total_shipping_price_set"],
        "total_tax": m["total_tax"],
        "total_tax_set": m["total_tax_set"],
        "total_tip_received": "0.00",
        "total_weight": sum(li.grams * li.current_quantity for li in order.line_items),
        "updated_at": iso(order.updated_at),
        "user_id": None,
        "billing_address": render_address(order.billing_address),
        "customer": render_customer(order.customer, order.currency, iso),
        "discount_applications": [],
        "fulfillments": [render_fulfillment(f, order, iso) for f in order.fulfillments],
        "line_items": [render_line_item(li, order) for li in order.line_items],
        "payment_terms": None,
        "refunds": [],
        "shipping_address": render_address(order.shipping_address),
        "shipping_lines": [_shipping_line(order)],
    }
    rendered.update(order.extra)
    return rendered


def render_fulfillment_order(fo: FulfillmentOrder, order: Order, location: Location, shop_id: int, iso: Iso) -> JSON:
    """One fulfillment order. Simplification: its line `quantity` is the line's current quantity
    and `fulfillable_quantity` what is left, instead of Shopify splitting off closed orders."""
    status = fulfillment_order_status(order)
    actions = {"open": ["create_fulfillment", "move"], "in_progress": ["create_fulfillment"]}
    lines = [
        {
            "id": fo.line_ids[li.id],
            "shop_id": shop_id,
            "fulfillment_order_id": fo.id,
            "quantity": li.current_quantity,
            "line_item_id": li.id,
            "inventory_item_id": li.inventory_item_id,
            "fulfillable_quantity": li.fulfillable(order.cancelled),
            "variant_id": li.variant_id,
        }
        for li in order.line_items
        if li.id in fo.line_ids
    ]
    return {
        "id": fo.id,
        "shop_id": shop_id,
        "order_id": order.id,
        "assigned_location_id": location.id,
        "request_status": "unsubmitted",
        "status": status,
        "supported_actions": actions.get(status, []),
        "destination": {"id": fo.id + 1, **render_address(order.shipping_address)},
        "line_items": lines,
        "fulfill_at": iso(fo.created_at),
        "fulfill_by": None,
        "international_duties": None,
        "fulfillment_holds": [],
        "delivery_method": {"id": fo.id + 2, "method_type": "shipping"},
        "created_at": iso(fo.created_at),
        "updated_at": iso(fo.updated_at),
        "assigned_location": {
            "address1": location.address1,
            "address2": None,
            "city": location.city,
            "country_code": location.country_code,
            "location_id": location.id,
            "name": location.name,
            "phone": None,
            "province": location.province,
            "zip": location.zip,
        },
        "merchant_requests": [],
    }


def render_variant(v: Variant, inventory_quantity: int, iso: Iso) -> JSON:
    return {
        "id": v.id,
        "product_id": v.product_id,
        "title": v.title,
        "price": money(v.price),
        "sku": v.sku,
        "position": v.position,
        "inventory_policy": "deny",
        "compare_at_price": None,
        "fulfillment_service": "manual",
        "inventory_management": "shopify",
        "option1": v.title,
        "option2": None,
        "option3": None,
        "created_at": iso(v.created_at),
        "updated_at": iso(v.updated_at),
        "taxable": True,
        "barcode": None,
        "grams": v.grams,
        "weight": v.grams / 1000,
        "weight_unit": "kg",
        "inventory_item_id": v.inventory_item_id,
        "inventory_quantity": inventory_quantity,
        "old_inventory_quantity": inventory_quantity,
        "requires_shipping": True,
        "admin_graphql_api_id": gid("ProductVariant", v.id),
        "image_id": None,
    }


def render_product(p: Product, stock: Callable[[int], int], iso: Iso) -> JSON:
    """`stock(inventory_item_id)` gives the total available over all locations."""
    return {
        "id": p.id,
        "title": p.title,
        "body_html": f"<p>{p.title}</p>",
        "vendor": p.vendor,
        "product_type": p.product_type,
        "created_at": iso(p.created_at),
        "handle": p.handle,
        "updated_at": iso(p.updated_at),
        "published_at": iso(p.created_at),
        "template_suffix": None,
        "published_scope": "global",
        "tags": "",
        "status": "active",
        "admin_graphql_api_id": gid("Product", p.id),
        "variants": [render_variant(v, stock(v.inventory_item_id), iso) for v in p.variants],
        "options": [
            {
                "id": p.id + 1,
                "product_id": p.id,
                "name": "Title",
                "position": 1,
                "values": [v.title for v in p.variants],
            }
        ],
        "images": [],
        "image": None,
    }


def render_location(loc: Location, iso: Iso) -> JSON:
    return {
        "id": loc.id,
        "name": loc.name,
        "address1": loc.address1,
        "address2": None,
        "city": loc.city,
        "zip": loc.zip,
        "province": loc.province,
        "country": loc.country_code,
        "phone": None,
        "created_at": iso(loc.created_at),
        "updated_at": iso(loc.created_at),
        "country_code": loc.country_code,
        "country_name": "United States",
        "province_code": loc.province_code,
        "legacy": False,
        "active": True,
        "admin_graphql_api_id": gid("Location", loc.id),
        "localized_country_name": "United States",
        "localized_province_name": loc.province,
    }


def render_inventory_level(level: InventoryLevel, iso: Iso) -> JSON:
    return {
        "inventory_item_id": level.inventory_item_id,
        "location_id": level.location_id,
        "available": level.available,
        "updated_at": iso(level.updated_at),
        "admin_graphql_api_id": (
            f"gid://shopify/InventoryLevel/{level.location_id}?inventory_item_id={level.inventory_item_id}"
        ),
    }
