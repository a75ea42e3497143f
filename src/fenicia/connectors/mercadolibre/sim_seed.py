"""Reproducible sandbox data: the seller's catalog, buyers and addresses, and ML-looking ids."""

from __future__ import annotations

import random
from decimal import Decimal

from fenicia.connectors.mercadolibre.sim_config import MercadoLibreSimConfig
from fenicia.connectors.mercadolibre.sim_models import Address, Buyer, Item, Variation

FIRST_NAMES = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Felipe", "Gabriela", "Hugo", "Isabel", "João")
LAST_NAMES = ("Silva", "Souza", "Oliveira", "Pereira", "Costa", "Rodrigues", "Almeida", "Nascimento")
CITIES = (
    ("São Paulo", "BR-SP", "São Paulo", "Pinheiros", "05422"),
    ("Rio de Janeiro", "BR-RJ", "Rio de Janeiro", "Botafogo", "22250"),
    ("Belo Horizonte", "BR-MG", "Minas Gerais", "Savassi", "30140"),
    ("Curitiba", "BR-PR", "Paraná", "Batel", "80420"),
)
STREETS = ("Rua Augusta", "Avenida Paulista", "Rua das Flores", "Rua XV de Novembro", "Avenida Brasil")
PRODUCTS = (
    ("Samsung Galaxy", "MLB1055", "499"),
    ("Fone de Ouvido Bluetooth", "MLB3697", "89.90"),
    ("Mochila Executiva", "MLB26538", "159"),
    ("Garrafa Térmica 1L", "MLB1621", "64.5"),
    ("Camiseta Algodão", "MLB31447", "49.9"),
    ("Tênis Corrida", "MLB23332", "299"),
    ("Luminária LED", "MLB1582", "79"),
    ("Cafeteira Elétrica", "MLB1577", "189"),
)
VARIATION_VALUES = (("COLOR", "Cor", ("Azul", "Preto", "Vermelho")), ("SIZE", "Tamanho", ("P", "M", "G")))


class Ids:
    """Increasing ids in ML's ranges (orders 2000…, shipments 4…, items MLB…), different per seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"{seed}:ids")
        self._next = {
            "order": 2_000_003_508_000_000 + seed * 10_000_000,
            "shipment": 40_531_000_000 + seed * 10_000_000,
            "payment": 59_670_000_000 + seed * 10_000_000,
            "item": 1_000_000_000 + seed * 100_000,
            "variation": 170_000_000_000 + seed * 10_000_000,
            "buyer": 440_000_000 + seed * 100_000,
            "tracking": 1_000_000 + seed * 10_000,
        }

    def next(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + self._rng.randint(1, 97)
        return value


def build_catalog(config: MercadoLibreSimConfig, ids: Ids, now: float) -> dict[str, Item]:
    """``catalog_size`` items; the first ``variation_items`` of them with three variations each."""
    items: dict[str, Item] = {}
    for index in range(config.catalog_size):
        title, category, price = PRODUCTS[index % len(PRODUCTS)]
        if index >= len(PRODUCTS):
            title = f"{title} {index // len(PRODUCTS) + 1}"
        item_id = f"{config.site_id}{ids.next('item')}"
        sku = f"SKU-{index + 1:04d}"
        item = Item(item_id, title, Decimal(price), sku, category, config.initial_stock, now, now)
        if index < config.variation_items:
            kind, name, values = VARIATION_VALUES[index % len(VARIATION_VALUES)]
            item.variations = [
                Variation(
                    ids.next("variation"), f"{sku}-{value[:3].upper()}", [(kind, name, value)], config.initial_stock
                )
                for value in values
            ]
            item.available_quantity = item.total_quantity()
        items[item_id] = item
    return items


def new_buyer(rng: random.Random, ids: Ids) -> Buyer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    buyer_id = ids.next("buyer")
    return Buyer(buyer_id, f"{first}{last}{buyer_id % 1000}".upper(), first, last)


def new_address(rng: random.Random) -> Address:
    city, state_id, state, neighborhood, zip_prefix = rng.choice(CITIES)
    return Address(
        street_name=rng.choice(STREETS),
        street_number=str(rng.randint(1, 2999)),
        zip_code=f"{zip_prefix}-{rng.randint(0, 999):03d}",
        city=city,
        state_id=state_id,
        state=state,
        neighborhood=neighborhood,
    )


def pick_mode(rng: random.Random, config: MercadoLibreSimConfig) -> str:
    roll = rng.random()
    if roll < config.share_me1:
        return "me1"
    if roll < config.share_me1 + config.share_custom:
        return "custom"
    return "me2"


LOGISTIC_TYPES = {"me2": "drop_off", "me1": "default", "custom": "custom"}
