"""Deterministic demo data: ids, locations, catalog and customers, all derived from the seed."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from fenicia.connectors.shopify.sim_models import Customer, Location, Product, Variant

FIRST_NAMES = [
    "Bob",
    "Ana",
    "Chen",
    "Dara",
    "Elif",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jon",
    "Keiko",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Norman",
    "Silva",
    "Wang",
    "Okafor",
    "Yilmaz",
    "Haddad",
    "Kim",
    "Laurent",
    "Costa",
    "Berg",
    "Sato",
    "Novak",
    "Rossi",
    "Diallo",
    "Patel",
    "Murphy",
    "Garcia",
    "Jensen",
    "Khan",
    "Moreau",
    "Ito",
    "Fischer",
]
CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("Louisville", "Kentucky", "KY", "40202"),
    ("Austin", "Texas", "TX", "73301"),
    ("Portland", "Oregon", "OR", "97201"),
    ("Denver", "Colorado", "CO", "80202"),
    ("Columbus", "Ohio", "OH", "43004"),
    ("Raleigh", "North Carolina", "NC", "27601"),
)
STREETS = ["Chestnut", "Oak", "Maple", "Cedar", "Pine", "Elm", "Birch", "Walnut"]
PRODUCT_KINDS = (
    ("Trail Backpack", "Bags", ("20L", "30L")),
    ("Merino T-Shirt", "Apparel", ("S", "M", "L")),
    ("Ceramic Mug", "Kitchen", ("White", "Black")),
    ("Desk Lamp", "Home", ("Brass", "Steel")),
    ("Water Bottle", "Outdoor", ("500ml", "750ml", "1L")),
    ("Notebook", "Stationery", ("Dotted", "Lined")),
    ("Wool Socks", "Apparel", ("M", "L")),
    ("Phone Case", "Accessories", ("Clear", "Navy")),
    ("Tea Sampler", "Grocery", ("Green", "Black")),
    ("Yoga Mat", "Fitness", ("4mm", "6mm")),
)

# Shopify's own test fixtures use these ids; keeping them lets reference payloads line up.
REFERENCE_PRODUCT_ID = 632910392
REFERENCE_VARIANTS = (
    (39072856, "IPOD2008GREEN", "green", 808950810),
    (49148385, "IPOD2008RED", "red", 49148385 + 1_000_000),
    (457924702, "IPOD2008BLACK", "black", 457924702 + 1_000_000),
)
REFERENCE_LOCATION_ID = 655441491

ID_BASES = {
    "order": 5_100_000_000,
    "line_item": 13_400_000_000,
    "customer": 7_200_000_000,
    "fulfillment": 4_800_000_000,
    "fulfillment_order": 6_300_000_000,
    "fulfillment_order_line": 13_900_000_000,
    "product": 8_100_000_000,
    "variant": 44_000_000_000,
    "inventory_item": 46_000_000_000,
    "location": 70_000_000_000,
    "webhook": 1_100_000_000,
    "order_edit": 2_400_000_000,
}


class IdSequence:
    """Increasing, gappy ids like Shopify's, reproducible from the seed."""

    def __init__(self, seed: int, kind: str) -> None:
        self._rng = random.Random(f"{seed}:{kind}")
        self._value = ID_BASES[kind]

    def next(self) -> int:
        self._value += self._rng.randint(1, 9_999)
        return self._value


class IdFactory:
    def __init__(self, seed: int) -> None:
        self._sequences = {kind: IdSequence(seed, kind) for kind in ID_BASES}

    def next(self, kind: str) -> int:
        return self._sequences[kind].next()


def build_locations(ids: IdFactory, count: int, now: float) -> list[Location]:
    names = ("Main Warehouse", "Downtown Store", "Overflow Depot", "Pop-up Shop")
    locations = []
    for index in range(max(count, 1)):
        city, province, code, zip_code = CITIES[index % len(CITIES)]
        location_id = REFERENCE_LOCATION_ID if index == 0 else ids.next("location")
        locations.append(
            Location(
                location_id,
                names[index % len(names)],
                f"{10 + index} Commerce Way",
                city,
                province,
                code,
                zip_code,
                created_at=now,
            )
        )
    return locations


def reference_product(now: float) -> Product:
    product = Product(REFERENCE_PRODUCT_ID, "IPod Nano - 8gb", "Apple", "Cult Products", "ipod-nano", now, now)
    for position, (vid, sku, title, item_id) in enumerate(REFERENCE_VARIANTS, start=1):
        product.variants.append(
            Variant(vid, product.id, sku, title, Decimal("199.00"), item_id, position, 200, now, now)
        )
    return product


def build_catalog(rng: random.Random, ids: IdFactory, size: int, now: float) -> list[Product]:
    products = [reference_product(now)]
    for index in range(size):
        title, kind, options = PRODUCT_KINDS[index % len(PRODUCT_KINDS)]
        product = Product(
            ids.next("product"),
            title,
            "Fenicia Demo",
            kind,
            f"{title.lower().replace(' ', '-')}-{index}",
            now,
            now,
        )
        for position, option in enumerate(options, start=1):
            sku = f"{kind[:3].upper()}-{index:03d}-{option.upper().replace(' ', '')}"
            price = Decimal(rng.randrange(900, 12_000)) / 100
            product.variants.append(
                Variant(
                    ids.next("variant"),
                    product.id,
                    sku,
                    option,
                    price,
                    ids.next("inventory_item"),
                    position,
                    rng.randrange(50, 2_000),
                    now,
                    now,
                )
            )
        products.append(product)
    return products


def custom_product(ids: IdFactory, sku: str, title: str, price: Decimal, now: float) -> Product:
    """A product made on the fly when an order names a SKU the catalog lacks."""
    product = Product(ids.next("product"), title, "Fenicia Demo", "Custom", sku.lower(), now, now)
    product.variants.append(
        Variant(
            ids.next("variant"),
            product.id,
            sku,
            "Default Title",
            price,
            ids.next("inventory_item"),
            1,
            200,
            now,
            now,
        )
    )
    return product


def random_address(rng: random.Random, first: str, last: str) -> dict[str, Any]:
    city, province, code, zip_code = rng.choice(CITIES)
    return {
        "first_name": first,
        "last_name": last,
        "address1": f"{rng.choice(STREETS)} Street {rng.randint(1, 999)}",
        "address2": "",
        "city": city,
        "province": province,
        "province_code": code,
        "zip": zip_code,
        "country": "United States",
        "country_code": "US",
        "phone": f"+1502{rng.randint(1_000_000, 9_999_999)}",
        "company": None,
        "latitude": None,
        "longitude": None,
    }


def random_customer(rng: random.Random, customer_id: int, now: float) -> Customer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}.{customer_id % 10_000}@mail.example.com".lower()
    address = random_address(rng, first, last)
    return Customer(customer_id, first, last, email, address["phone"], now, address)
