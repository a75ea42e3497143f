"""Use-cases for products, bundles and locations, and the products page's view of stock and listings.

Every function takes a session (one transaction) and the workspace explicitly; another workspace's ids
answer NotFoundError. Changes that move a sellable quantity (a bundle's recipe, a SKU) recompute
available-to-sell in the same transaction and return the connections whose pushes should be kicked
after commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fenicia.catalog.models import BundleComponent, Location, Product
from fenicia.catalog.schemas import (
    BundleComponentIn,
    BundleComponentPublic,
    ListingStockPublic,
    LocationCreate,
    LocationStockPublic,
    ProductCreate,
    ProductPublic,
    ProductUpdate,
    SourceLevelPublic,
)
from fenicia.channels.models import ChannelConnection, Listing
from fenicia.core.errors import ConflictError, NotFoundError, ValidationFailed
from fenicia.inventory import ats
from fenicia.inventory.demand import chunks
from fenicia.inventory.models import StockLevel

MAX_SEARCH_LENGTH = 200


# --- products ------------------------------------------------------------------------------------------


def get_product(session: Session, workspace_id: int, product_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id, Product.workspace_id == workspace_id))
    if product is None:
        raise NotFoundError(f"Product {product_id} does not exist in this workspace.")
    return product


def find_by_sku(session: Session, workspace_id: int, skus: Sequence[str]) -> dict[str, Product]:
    out: dict[str, Product] = {}
    for chunk in chunks(sorted(set(skus))):
        query = select(Product).where(Product.workspace_id == workspace_id, Product.sku.in_(chunk))
        out.update({p.sku: p for p in session.scalars(query)})
    return out


def _refuse_taken_sku(session: Session, workspace_id: int, sku: str, keep_id: int | None = None) -> None:
    held = find_by_sku(session, workspace_id, [sku]).get(sku)
    if held is not None and held.id != keep_id:
        raise ConflictError(f"SKU {sku!r} is already used by product {held.id}.", resolution="Choose another SKU.")


def create_product(session: Session, workspace_id: int, data: ProductCreate) -> tuple[Product, set[int]]:
    """Creates a product (a bundle when ``components`` is given); returns it and connections to push."""
    sku = data.sku.strip()
    if not sku:
        raise ValidationFailed("The SKU cannot be blank.")
    _refuse_taken_sku(session, workspace_id, sku)
    product = Product(workspace_id=workspace_id, sku=sku, name=data.name, price=data.price, barcode=data.barcode)
    session.add(product)
    session.flush()
    link_unlinked_listings(session, workspace_id, [product])
    queued = ats.recompute(session, workspace_id, {product.id}, "product created")
    if data.components:
        queued |= set_bundle(session, workspace_id, product.id, data.components)
    return product, queued


def link_unlinked_listings(session: Session, workspace_id: int, products: Sequence[Product]) -> int:
    """Links every listing not linked yet whose SKU is one of these products'; returns how many."""
    by_sku = {p.sku: p.id for p in products}
    linked = 0
    for chunk in chunks(sorted(by_sku)):
        query = select(Listing).where(
            Listing.workspace_id == workspace_id, Listing.product_id.is_(None), Listing.sku.in_(chunk)
        )
        for listing in session.scalars(query):
            assert listing.sku is not None
            listing.product_id = by_sku[listing.sku]
            linked += 1
    return linked


def update_product(
    session: Session, workspace_id: int, product_id: int, data: ProductUpdate
) -> tuple[Product, set[int]]:
    """Applies the fields sent. A new SKU changes which order lines are this product's: ATS is recomputed."""
    product = get_product(session, workspace_id, product_id)
    sent = data.model_dump(exclude_unset=True)
    queued: set[int] = set()
    if "sku" in sent and sent["sku"] is not None and sent["sku"].strip() != product.sku:
        sku = sent["sku"].strip()
        _refuse_taken_sku(session, workspace_id, sku, product.id)
        product.sku = sku
        session.flush()
        queued = ats.recompute(session, workspace_id, {product.id}, "product SKU changed")
    if sent.get("name") is not None:
        product.name = sent["name"]
    if "price" in sent:
        product.price = sent["price"]
    if "barcode" in sent:
        product.barcode = sent["barcode"]
    return product, queued


def list_products(
    session: Session, workspace_id: int, search: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Product], int]:
    """Products by SKU, optionally those whose SKU, name or barcode contains ``search``; and the total."""
    query = select(Product).where(Product.workspace_id == workspace_id)
    if search:
        pattern = f"%{search[:MAX_SEARCH_LENGTH].lower()}%"
        query = query.where(
            or_(
                func.lower(Product.sku).like(pattern),
                func.lower(Product.name).like(pattern),
                func.lower(Product.barcode).like(pattern),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Product.sku).limit(limit).offset(offset))
    return list(rows), total


# --- bundles -------------------------------------------------------------------------------------------


def set_bundle(
    session: Session, workspace_id: int, bundle_id: int, components: Sequence[BundleComponentIn]
) -> set[int]:
    """Makes the product a bundle of exactly these components; recomputes its ATS. Bundles don't nest."""
    bundle = get_product(session, workspace_id, bundle_id)
    ids = [c.component_id for c in components]
    if len(set(ids)) != len(ids):
        raise ValidationFailed(
            "A component is listed twice.", resolution="Give each component once, with its quantity."
        )
    if bundle.id in ids:
        raise ValidationFailed("A bundle cannot contain itself.")
    for component_id in ids:
        get_product(session, workspace_id, component_id)
    _refuse_nesting(session, workspace_id, bundle.id, ids)
    old = list(session.scalars(select(BundleComponent).where(BundleComponent.bundle_id == bundle.id)))
    for row in old:
        session.delete(row)
    session.flush()
    for item in components:
        session.add(
            BundleComponent(
                workspace_id=workspace_id, bundle_id=bundle.id, component_id=item.component_id, quantity=item.quantity
            )
        )
    session.flush()
    touched = {bundle.id, *ids, *(row.component_id for row in old)}
    return ats.recompute(session, workspace_id, touched, "bundle changed")


def clear_bundle(session: Session, workspace_id: int, bundle_id: int) -> set[int]:
    """The product stops being a bundle; its ATS now comes from its own stock levels."""
    bundle = get_product(session, workspace_id, bundle_id)
    old = list(session.scalars(select(BundleComponent).where(BundleComponent.bundle_id == bundle.id)))
    for row in old:
        session.delete(row)
    session.flush()
    return ats.recompute(session, workspace_id, {bundle.id, *(row.component_id for row in old)}, "bundle removed")


def _refuse_nesting(session: Session, workspace_id: int, bundle_id: int, component_ids: list[int]) -> None:
    inner = session.scalar(
        select(BundleComponent.bundle_id).where(
            BundleComponent.workspace_id == workspace_id, BundleComponent.bundle_id.in_(component_ids)
        )
    )
    if inner is not None:
        raise ValidationFailed(f"Product {inner} is itself a bundle; bundles cannot contain bundles.")
    outer = session.scalar(select(BundleComponent.bundle_id).where(BundleComponent.component_id == bundle_id))
    if outer is not None:
        raise ValidationFailed(f"Product {bundle_id} is a component of bundle {outer}; bundles cannot contain bundles.")


# --- locations -----------------------------------------------------------------------------------------


def create_location(session: Session, workspace_id: int, data: LocationCreate) -> Location:
    code = data.code.strip()
    if session.scalar(select(Location.id).where(Location.workspace_id == workspace_id, Location.code == code)):
        raise ConflictError(f"Location code {code!r} is already used.")
    location = Location(workspace_id=workspace_id, code=code, name=data.name)
    session.add(location)
    session.flush()
    return location


def list_locations(session: Session, workspace_id: int) -> list[Location]:
    return list(session.scalars(select(Location).where(Location.workspace_id == workspace_id).order_by(Location.id)))


def check_locations(session: Session, workspace_id: int, location_ids: Sequence[int]) -> None:
    known = set(session.scalars(select(Location.id).where(Location.workspace_id == workspace_id)))
    unknown = sorted(set(location_ids) - known)
    if unknown:
        raise ValidationFailed(f"Unknown location id(s) {unknown} in this workspace.")


# --- the products page ----------------------------------------------------------------------------------


def product_views(session: Session, workspace_id: int, products: Sequence[Product]) -> list[ProductPublic]:
    """Products with their components, per-location stock and every listing's ATS, in a few queries."""
    ids = [p.id for p in products]
    components = _components(session, workspace_id, ids)
    stock = _stock(session, workspace_id, ids)
    listings = _listings(session, workspace_id, ids)
    return [
        ProductPublic(
            id=p.id,
            sku=p.sku,
            name=p.name,
            price=p.price,
            barcode=p.barcode,
            created_at=p.created_at,
            updated_at=p.updated_at,
            components=components.get(p.id, []),
            stock=stock.get(p.id, []),
            listings=listings.get(p.id, []),
        )
        for p in products
    ]


def _components(session: Session, workspace_id: int, ids: list[int]) -> dict[int, list[BundleComponentPublic]]:
    query = (
        select(BundleComponent, Product)
        .join(Product, Product.id == BundleComponent.component_id)
        .where(BundleComponent.workspace_id == workspace_id, BundleComponent.bundle_id.in_(ids))
        .order_by(BundleComponent.id)
    )
    out: dict[int, list[BundleComponentPublic]] = {}
    for row, comp in session.execute(query):
        out.setdefault(row.bundle_id, []).append(
            BundleComponentPublic(component_id=comp.id, sku=comp.sku, name=comp.name, quantity=row.quantity)
        )
    return out


def _stock(session: Session, workspace_id: int, ids: list[int]) -> dict[int, list[LocationStockPublic]]:
    query = (
        select(StockLevel, Location)
        .join(Location, Location.id == StockLevel.location_id)
        .where(StockLevel.workspace_id == workspace_id, StockLevel.product_id.in_(ids))
        .order_by(StockLevel.location_id, StockLevel.source_id)
    )
    out: dict[int, dict[int, LocationStockPublic]] = {}
    for level, location in session.execute(query):
        per_location = out.setdefault(level.product_id, {})
        entry = per_location.get(location.id)
        if entry is None:
            entry = per_location[location.id] = LocationStockPublic(
                location_id=location.id, code=location.code, name=location.name, available=0, sources=[]
            )
        entry.available += level.available
        entry.sources.append(
            SourceLevelPublic(
                source_id=level.source_id,
                available=level.available,
                on_hand=level.on_hand,
                reserved=level.reserved,
                snapshot_at=level.snapshot_at,
            )
        )
    return {pid: list(locations.values()) for pid, locations in out.items()}


def _listings(session: Session, workspace_id: int, ids: list[int]) -> dict[int, list[ListingStockPublic]]:
    query = (
        select(Listing, ChannelConnection)
        .join(ChannelConnection, ChannelConnection.id == Listing.connection_id)
        .where(Listing.workspace_id == workspace_id, Listing.product_id.in_(ids))
        .order_by(Listing.connection_id, Listing.id)
    )
    out: dict[int, list[ListingStockPublic]] = {}
    for listing, conn in session.execute(query):
        assert listing.product_id is not None
        explanation = listing.ats_explanation
        rule = explanation.get("rule") if explanation else None
        out.setdefault(listing.product_id, []).append(
            ListingStockPublic(
                listing_id=listing.id,
                connection_id=conn.id,
                connection_name=conn.name,
                channel=conn.channel,
                external_id=listing.external_id,
                sku=listing.sku,
                title=listing.title,
                ats_quantity=listing.ats_quantity,
                ats_computed_at=listing.ats_computed_at,
                last_pushed_quantity=listing.last_pushed_quantity,
                last_pushed_at=listing.last_pushed_at,
                rule_scope=rule.get("scope") if isinstance(rule, dict) else None,
                explanation=explanation,
            )
        )
    return out
