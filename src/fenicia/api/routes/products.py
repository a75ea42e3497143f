"""/api/v1/products, /api/v1/locations and the product imports (CSV, a channel's listings)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from fenicia.api.deps import BoxDep, DbDep, DispatcherDep, SettingsDep, WorkspaceId, after_commit
from fenicia.catalog.imports import MAX_CSV_BYTES, import_listings, import_products_csv
from fenicia.catalog.schemas import (
    BundleSet,
    CsvImportResult,
    ListingsImportRequest,
    ListingsImportResult,
    LocationCreate,
    LocationPublic,
    ProductCreate,
    ProductList,
    ProductPublic,
    ProductUpdate,
)
from fenicia.catalog.services import (
    clear_bundle,
    create_location,
    create_product,
    get_product,
    list_locations,
    list_products,
    product_views,
    set_bundle,
    update_product,
)
from fenicia.core.errors import ValidationFailed
from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher

router = APIRouter(prefix="/api/v1", tags=["products"])

MAX_PAGE_SIZE = 200
CSV_BODY = {
    "requestBody": {
        "description": "The CSV file: multipart field `file`, or the raw file with Content-Type text/csv.",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def kick_pushes(dispatcher: Dispatcher, connection_ids: Iterable[int]) -> None:
    """After commit: send the pushes a change queued (a failed kick is repaired by the reconciler)."""
    for connection_id in sorted(connection_ids):
        after_commit(dispatcher.push_stock, connection_id)


def _view(db: Database, ws: int, product_id: int) -> ProductPublic:
    with db.read_session() as session:
        return product_views(session, ws, [get_product(session, ws, product_id)])[0]


@router.get("/products")
def list_all(
    ws: WorkspaceId,
    db: DbDep,
    response: Response,
    q: Annotated[str | None, Query(description="Part of the SKU, name or barcode")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ProductList:
    """Products by SKU, each with its stock per location and the available-to-sell of every listing."""
    with db.read_session() as session:
        products, total = list_products(session, ws, q or None, limit, offset)
        items = product_views(session, ws, products)
    response.headers["X-Total-Count"] = str(total)
    return ProductList(items=items, total=total, limit=limit, offset=offset)


@router.post("/products", status_code=status.HTTP_201_CREATED, responses={409: {"description": "SKU taken"}})
def create(data: ProductCreate, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep) -> ProductPublic:
    """Creates a product, or a bundle with ``components``. Listings with its SKU are linked to it."""
    with db.session() as session:
        product, queued = create_product(session, ws, data)
        product_id = product.id
    kick_pushes(dispatcher, queued)
    return _view(db, ws, product_id)


@router.get("/products/{product_id}")
def read(product_id: int, ws: WorkspaceId, db: DbDep) -> ProductPublic:
    """One product: per-location stock, and per listing the quantity and the rule that produced it."""
    return _view(db, ws, product_id)


@router.patch("/products/{product_id}", responses={409: {"description": "SKU taken"}})
def update(
    product_id: int, data: ProductUpdate, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> ProductPublic:
    with db.session() as session:
        _, queued = update_product(session, ws, product_id, data)
    kick_pushes(dispatcher, queued)
    return _view(db, ws, product_id)


@router.put("/products/{product_id}/bundle")
def put_bundle(
    product_id: int, data: BundleSet, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> ProductPublic:
    """Makes the product a bundle of exactly these components (bundles don't nest)."""
    with db.session() as session:
        queued = set_bundle(session, ws, product_id, data.components)
    kick_pushes(dispatcher, queued)
    return _view(db, ws, product_id)


@router.delete("/products/{product_id}/bundle")
def delete_bundle(product_id: int, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep) -> ProductPublic:
    with db.session() as session:
        queued = clear_bundle(session, ws, product_id)
    kick_pushes(dispatcher, queued)
    return _view(db, ws, product_id)


async def _csv_content(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_part_size=MAX_CSV_BYTES)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("No file in the form.", resolution="Send the CSV in the multipart field 'file'.")
        return await upload.read()
    return await request.body()


@router.post("/products/import", openapi_extra=CSV_BODY, responses={422: {"description": "Bad rows, all named"}})
async def import_csv(request: Request, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep) -> CsvImportResult:
    """Products from a CSV with columns sku, name, price, barcode. Any bad row refuses the whole file."""
    content = await _csv_content(request)

    def apply() -> tuple[CsvImportResult, set[int]]:
        with db.session() as session:
            return import_products_csv(session, ws, content)

    result, queued = await run_in_threadpool(apply)
    kick_pushes(dispatcher, queued)
    return result


@router.post("/connections/{connection_id}/listings/import", tags=["products"])
async def import_channel_listings(
    connection_id: int,
    ws: WorkspaceId,
    db: DbDep,
    box: BoxDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    data: ListingsImportRequest | None = None,
) -> ListingsImportResult:
    """Reads the channel's listings, links them to products by SKU, creates missing products if asked."""
    create_missing = data.create_missing_products if data is not None else False
    allowed = settings.allow_private_source_urls
    result, queued = await import_listings(
        db, box, ws, connection_id, create_missing=create_missing, allow_private=allowed
    )
    kick_pushes(dispatcher, queued)
    return result


@router.get("/locations", tags=["locations"])
def locations(ws: WorkspaceId, db: DbDep) -> list[LocationPublic]:
    with db.read_session() as session:
        return [LocationPublic.model_validate(loc) for loc in list_locations(session, ws)]


@router.post("/locations", tags=["locations"], status_code=status.HTTP_201_CREATED)
def add_location(data: LocationCreate, ws: WorkspaceId, db: DbDep) -> LocationPublic:
    """A warehouse or store that holds stock; sources map their location keys onto these."""
    with db.session() as session:
        return LocationPublic.model_validate(create_location(session, ws, data))
