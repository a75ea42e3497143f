"""Deterministic ids, catalog, buyers and carriers for the TikTok Shop simulator (from ``config.seed``)."""

from __future__ import annotations

import random
from decimal import Decimal

from fenicia.connectors.tiktok.sim_models import JSON, Product, Sku

FIRST_NAMES = ("Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Freya", "Arthur", "Lily", "Jack")
LAST_NAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker")
CITIES = (("London", "SW1A 1AA"), ("Leeds", "LS1 4AP"), ("Bristol", "BS1 5TR"), ("York", "YO1 7HH"))
STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Mill Road")
PRODUCTS = (
    ("Matcha Starter Kit", ("Default",)),
    ("Bamboo Whisk", ("Default",)),
    ("Ceramic Tea Bowl", ("White", "Black", "Sage")),
    ("Loose Leaf Sencha 100g", ("Default",)),
    ("Glass Teapot", ("600 ml", "900 ml")),
    ("Travel Tumbler", ("Red", "Blue")),
    ("Tea Towel Set", ("Default",)),
    ("Honey Jar 250g", ("Default",)),
    ("Cast Iron Kettle", ("Default",)),
    ("Gift Box", ("Small", "Large")),
)
# Delivery options of the seller's warehouse and the carriers each accepts (Get Shipping Providers).
DELIVERY_OPTIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "7359159720562657056": (
        "Shipped by seller",
        (
            ("6617675021119438597", "Royal Mail"),
            ("6617675021119438598", "DPD"),
            ("6617675021119438599", "Evri"),
            ("6617675021119438600", "UPS"),
            ("6617675021119438601", "FedEx"),
            ("6617675021119438602", "DHL"),
            ("6617675021119438603", "USPS"),
        ),
    ),
    "7359159720562657057": ("Standard shipping", (("6617675021119438700", "TikTok Shipping"),)),
}
SELLER_OPTION = "7359159720562657056"
PLATFORM_OPTION = "7359159720562657057"


class IdSequence:
    """19-digit ids like TikTok's, increasing, reproducible from the seed and a per-kind base."""

    def __init__(self, seed: int, base: int) -> None:
        self._next = base + random.Random(f"{seed}:{base}").randrange(10**9)

    def next(self) -> str:
        self._next += 1
        return str(self._next)


class IdFactory:
    def __init__(self, seed: int) -> None:
        self.product = IdSequence(seed, 1_729_767_804_000_000_000)
        self.sku = IdSequence(seed, 1_729_767_803_000_000_000)
        self.order = IdSequence(seed, 576_859_029_000_000_000)
        self.unit = IdSequence(seed, 576_859_029_500_000_000)
        self.package = IdSequence(seed, 1_153_891_868_000_000_000)
        self.cancel = IdSequence(seed, 4_035_000_000_000_000_000)
        self.user = IdSequence(seed, 7_494_000_000_000_000_000)
        self.notification = IdSequence(seed, 7_327_112_393_000_000_000)


def build_catalog(rng: random.Random, ids: IdFactory, size: int, now: int) -> list[Product]:
    products = []
    for index in range(size):
        title, variants = PRODUCTS[index % len(PRODUCTS)]
        if index >= len(PRODUCTS):
            title = f"{title} #{index // len(PRODUCTS) + 1}"
        base = Decimal(rng.randrange(399, 4999)) / 100
        skus = [
            Sku(ids.sku.next(), _seller_sku(title, variant, index), variant, base, rng.randint(20, 200))
            for variant in variants
        ]
        products.append(Product(ids.product.next(), title, skus, now, now))
    return products


def _seller_sku(title: str, variant: str, index: int) -> str:
    words = [w for w in title.upper().replace("#", "").split() if w.isalnum()][:2]
    stem = "-".join(words) or f"P{index}"
    return stem if variant == "Default" else f"{stem}-{variant.upper().replace(' ', '')}"


def random_buyer(rng: random.Random) -> tuple[str, str, JSON]:
    """(name, anonymised email, recipient_address) of a buyer."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, postal = rng.choice(CITIES)
    line1 = f"{rng.randint(1, 250)} {rng.choice(STREETS)}"
    email = f"{''.join(rng.choices('ABCDEFGHJKMNPQRSTUVWXYZ23456789', k=26))}@scs3.tiktok.com"
    address = {
        "name": f"{first} {last}",
        "phone_number": f"(+44)7{rng.randint(100000000, 999999999)}",
        "address_line1": line1,
        "address_line2": "",
        "postal_code": postal,
        "region_code": "GB",
        "full_address": f"{line1}, {city}, {postal}, United Kingdom",
        "district_info": [
            {"address_level": "L0", "address_level_name": "Country", "address_name": "United Kingdom"},
            {"address_level": "L3", "address_level_name": "Post town", "address_name": city},
        ],
    }
    return f"{first} {last}", email, address
