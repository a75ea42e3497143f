"""Reproducible fake data for the Amazon simulator: catalog, buyers, addresses, ids (from ``config.seed``)."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from decimal import Decimal

from fenicia.connectors.amazon.sim_config import AmazonSimConfig
from fenicia.connectors.amazon.sim_models import SimItem, SimListing, SimOrder

# The official getOrderItems sandbox example's product leads the catalog.
REFERENCE_LISTING = ("NABetaASINB00551Q3CS", "B00551Q3CS", "BOOK", "B00551Q3CS [Card Book]", Decimal("10.00"))
PRODUCT_TYPES = ("LUGGAGE", "HOME", "KITCHEN", "SHOES", "TOY_FIGURE", "PET_SUPPLIES", "SPORTING_GOODS")
ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Everyday", "Pro", "Travel", "Vintage")
NOUNS = ("Backpack", "Kettle", "Sneaker", "Lamp", "Water Bottle", "Puzzle", "Dog Bed", "Yoga Mat", "Mug")
FIRST = ("Ana", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kara", "Liam")
LAST = ("Smith", "Garcia", "Chen", "Novak", "Okafor", "Rossi", "Tanaka", "Weber", "Silva", "Brown")
CITIES = (
    ("SEATTLE", "WA", "98121-2778"),
    ("AUSTIN", "TX", "78701"),
    ("DENVER", "CO", "80202"),
    ("BOSTON", "MA", "02108"),
    ("MIAMI", "FL", "33130"),
    ("CHICAGO", "IL", "60601"),
    ("PORTLAND", "OR", "97205"),
)
# Past orders of a bulk seed: mostly open, some shipped, a few cancelled or awaiting payment.
PAST_STATUSES = (
    ("Unshipped", 0.55),
    ("Shipped", 0.3),
    ("Canceled", 0.08),
    ("Pending", 0.05),
    ("PartiallyShipped", 0.02),
)


class Seeder:
    def __init__(self, rng: random.Random, config: AmazonSimConfig) -> None:
        self.rng = rng
        self.config = config

    def catalog(self, now: float) -> list[SimListing]:
        sku, asin, product_type, title, price = REFERENCE_LISTING
        listings = [SimListing(sku, asin, product_type, title, price, self.rng.randint(20, 200), now, now)]
        for number in range(1, self.config.catalog_size):
            listings.append(self.listing(f"AMZ-{number:04d}", now))
        return listings

    def listing(self, sku: str, now: float) -> SimListing:
        title = f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(NOUNS)}"
        price = Decimal(self.rng.randint(500, 9900)) / 100
        asin = "B0" + "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=8))
        product_type = self.rng.choice(PRODUCT_TYPES)
        return SimListing(sku, asin, product_type, title, price, self.rng.randint(20, 200), now, now)

    def order_id(self, taken: Mapping[str, SimOrder]) -> str:
        """3-7-7 digits, as Amazon order ids are."""
        while True:
            candidate = f"{self.rng.randint(111, 999)}-{self.rng.randint(0, 9_999_999):07d}-"
            candidate += f"{self.rng.randint(0, 9_999_999):07d}"
            if candidate not in taken:
                return candidate

    def item_id(self) -> str:
        return f"{self.rng.randint(10**13, 10**14 - 1)}"

    def item(self, listing: SimListing, quantity: int, price: Decimal) -> SimItem:
        return SimItem(self.item_id(), listing.asin, listing.sku, listing.title, quantity, price)

    def random_items(self, listings: Mapping[str, SimListing]) -> list[SimItem]:
        chosen = self.rng.sample(list(listings.values()), k=min(self.rng.choice((1, 1, 1, 2, 3)), len(listings)))
        return [self.item(listing, self.rng.choice((1, 1, 2)), listing.price) for listing in chosen]

    def buyer(self) -> tuple[str, str]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        token = "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=14))
        return f"{first} {last}", f"{token}@marketplace.amazon.com"

    def address(self, buyer: tuple[str, str]) -> dict[str, str]:
        city, state, postcode = self.rng.choice(CITIES)
        return {
            "Name": buyer[0],
            "AddressLine1": f"{self.rng.randint(1, 9999)} {self.rng.choice(LAST).upper()} AVE",
            "City": city,
            "StateOrRegion": state,
            "PostalCode": postcode,
            "CountryCode": "US",
            "Phone": f"+1 206-555-{self.rng.randint(0, 9999):04d}",
            "AddressType": "Residential",
        }

    def past_status(self) -> str:
        roll, total = self.rng.random(), 0.0
        for status, share in PAST_STATUSES:
            total += share
            if roll < total:
                return status
        return "Unshipped"

    def new_status(self) -> str:
        return "Pending" if self.rng.random() < self.config.pending_share else "Unshipped"

    def channel(self) -> str:
        return "AFN" if self.rng.random() < self.config.afn_share else "MFN"
