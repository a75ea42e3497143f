"""The inventory and products pages of the page-speed benchmark (``bench.pages``): their data and their paths.

Seeds, in the measured workspace, what a busy merchant's inventory looks like: the 800 products the
benchmark's orders sell (SKU-0000..0799), two locations, a stock file source with a level per product and
location, a week of source runs (one every 5 minutes), 300 unmapped codes, and one listing per product
on the workspace's Shopify connection with its available-to-sell computed by the real recompute (over the
100,000 orders). Rows are bulk-inserted; only the recompute goes through the services.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from fenicia.catalog.models import Location, Product
from fenicia.channels.models import Listing, RunStatus
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.inventory import ats
from fenicia.inventory.models import InventorySource, SourceRun, StockLevel, UnmappedSku
from fenicia.inventory.schemas import SourceCreate
from fenicia.inventory.services import create_source
from fenicia.inventory.unmapped import source_scope

SOURCE_NAME = "Bench warehouse file"
PRODUCTS = 800
RUNS = 2_000
UNMAPPED = 300
RECOMPUTE_CHUNK = 100
NOW = datetime.now(UTC)


def _products(db: Database, workspace_id: int) -> list[int]:
    rows = [{"workspace_id": workspace_id, "sku": f"SKU-{n:04d}", "name": f"Product {n}"} for n in range(PRODUCTS)]
    with db.session() as session:
        session.execute(insert(Product), rows)
        return list(session.scalars(select(Product.id).where(Product.workspace_id == workspace_id)))


def _source(db: Database, box: SecretBox, workspace_id: int) -> int:
    data = SourceCreate(kind="spreadsheet", name=SOURCE_NAME, settings={"transport": "upload"}, frequency_seconds=300)
    with db.session() as session:
        source = create_source(session, box, workspace_id, data)
        source.status, source.last_success_at, source.snapshot_at = "Completed", NOW, NOW - timedelta(days=2)
        source.disabled = False
        return source.id


def _levels(db: Database, workspace_id: int, source_id: int, product_ids: list[int], rng: random.Random) -> None:
    with db.session() as session:
        locations = []
        for code in ("MAIN", "STORE"):
            location = Location(workspace_id=workspace_id, code=code, name=f"{code.title()} warehouse")
            session.add(location)
            session.flush()
            locations.append(location.id)
        snapshot = NOW - timedelta(days=2)
        rows = [
            {
                "workspace_id": workspace_id,
                "source_id": source_id,
                "product_id": product_id,
                "location_id": location_id,
                "external_code": f"SKU-{index:04d}",
                "available": rng.randint(0, 400),
                "snapshot_at": snapshot,
                "changed_at": snapshot,
            }
            for index, product_id in enumerate(product_ids)
            for location_id in locations
        ]
        session.execute(insert(StockLevel), rows)


def _runs(db: Database, workspace_id: int, source_id: int, rng: random.Random) -> None:
    rows = []
    for n in range(RUNS):
        started = NOW - timedelta(minutes=5 * n)
        failed = n % 97 == 0
        rows.append(
            {
                "workspace_id": workspace_id,
                "source_id": source_id,
                "trigger": "schedule",
                "preview": False,
                "status": RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
                "started_at": started,
                "finished_at": started + timedelta(seconds=rng.uniform(0.5, 6.0)),
                "rows_read": PRODUCTS * 2,
                "rows_mapped": PRODUCTS * 2 - UNMAPPED,
                "rows_unmapped": UNMAPPED,
                "rows_changed": 0 if failed else rng.randint(0, 60),
                "error_message": "bench.example answered 503." if failed else None,
                "created_at": started,
                "updated_at": started,
            }
        )
    with db.session() as session:
        session.execute(insert(SourceRun), rows)


def _unmapped(db: Database, workspace_id: int, source_id: int, rng: random.Random) -> None:
    rows = [
        {
            "workspace_id": workspace_id,
            "scope": source_scope(source_id),
            "source_id": source_id,
            "code": f"OLD-{n:04d}",
            "name": f"Discontinued item {n}",
            "first_seen_at": NOW - timedelta(days=30),
            "last_seen_at": NOW - timedelta(minutes=rng.randint(0, 600)),
            "occurrences": rng.randint(1, 2_000),
            "last_quantity": rng.randint(0, 50),
            "quantities": {"MAIN": 1},
        }
        for n in range(UNMAPPED)
    ]
    with db.session() as session:
        session.execute(insert(UnmappedSku), rows)


def _listings(db: Database, workspace_id: int, connection_id: int, product_ids: list[int]) -> None:
    rows = [
        {
            "workspace_id": workspace_id,
            "connection_id": connection_id,
            "product_id": product_id,
            "external_id": f"V{product_id}",
            "sku": f"SKU-{index:04d}",
            "inventory_ref": str(9_000_000 + index),
        }
        for index, product_id in enumerate(product_ids)
    ]
    with db.session() as session:
        session.execute(insert(Listing), rows)
    for start in range(0, len(product_ids), RECOMPUTE_CHUNK):
        with db.session() as session:
            ats.recompute(session, workspace_id, set(product_ids[start : start + RECOMPUTE_CHUNK]), "bench seed")


def seed_inventory(db: Database, box: SecretBox, workspace_id: int, connection_id: int) -> None:
    rng = random.Random(7)
    product_ids = _products(db, workspace_id)
    source_id = _source(db, box, workspace_id)
    _levels(db, workspace_id, source_id, product_ids, rng)
    _runs(db, workspace_id, source_id, rng)
    _unmapped(db, workspace_id, source_id, rng)
    _listings(db, workspace_id, connection_id, product_ids)


def inventory_pages(db: Database, box: SecretBox, workspace_id: int, connection_id: int) -> dict[str, str]:
    """Name → path of the inventory and products pages (seeding their data on a first run)."""
    with db.read_session() as session:
        found = session.scalar(
            select(InventorySource.id).where(
                InventorySource.workspace_id == workspace_id, InventorySource.name == SOURCE_NAME
            )
        )
    if found is None:
        seed_inventory(db, box, workspace_id, connection_id)
    with db.read_session() as session:
        source_id = session.scalar(select(InventorySource.id).where(InventorySource.name == SOURCE_NAME))
        product_id = session.scalar(
            select(Product.id).where(Product.sku == "SKU-0400", Product.workspace_id == workspace_id)
        )
    base = "/integrations/inventory-sources"
    return {
        "inventory sources": base,
        "inventory source panel": f"{base}/{source_id}",
        "inventory source (live partial)": f"/partials/inventory-sources/{source_id}",
        "inventory source unmapped (partial)": f"/partials/inventory-sources/{source_id}/unmapped",
        "unmapped SKUs report": f"{base}/unmapped",
        "products": "/products",
        "products page 10": "/products?page=10",
        "products search": "/products?q=SKU-04",
        "product detail": f"/products/{product_id}",
    }
