"""Where products come from besides the API: a CSV file, and a connected channel's listings.

A CSV import is all or nothing: every row is checked first and a file with any bad row is refused with
each bad line named. A listings import reads the channel page by page, upserts one ``Listing`` per
(connection, external id), links it to the product with the same SKU, and, when asked, creates the
products no SKU matched.
"""

from __future__ import annotations

import _csv
import asyncio
import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.catalog.models import Product
from fenicia.catalog.schemas import CsvImportResult, ListingsImportResult
from fenicia.catalog.services import find_by_sku, link_unlinked_listings
from fenicia.channels.models import Listing
from fenicia.channels.services import build_connector, get_connection
from fenicia.connectors.base import ChannelConnector, ListingInfo
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ValidationFailed
from fenicia.db.engine import Database
from fenicia.inventory import ats

REQUIRED_COLUMNS = ("sku", "name")
OPTIONAL_COLUMNS = ("price", "barcode")
DELIMITERS = (",", ";", "\t", "|")
MAX_ERRORS_LISTED = 20
MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_UNLINKED_LISTED = 200
LIMITS = {"sku": 200, "name": 500, "barcode": 100}


@dataclass(frozen=True)
class ProductRow:
    line: int
    sku: str
    name: str
    price: Decimal | None
    barcode: str | None


# --- CSV -----------------------------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    if len(content) > MAX_CSV_BYTES:
        raise ValidationFailed(f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.")
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"The file is not UTF-8 text (undecodable byte at position {exc.start}).",
            resolution="Save the spreadsheet as 'CSV UTF-8' and upload it again; nothing was imported.",
        ) from exc


def _delimiter(header_line: str) -> str:
    return max(DELIMITERS, key=header_line.count)


def _price(raw: str) -> Decimal | None:
    text = raw.strip()
    if not text:
        return None
    if "," in text and "." in text:  # thousands separators: the last mark is the decimal one
        text = text.replace(",", "") if text.rfind(".") > text.rfind(",") else text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"price {raw.strip()!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"price {raw.strip()!r} must be zero or more")
    return value


def _row(line: int, cells: list[str], columns: dict[str, int]) -> ProductRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    values = {name: cell(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    for name in REQUIRED_COLUMNS:
        if not values[name]:
            raise ValueError(f"{name} is empty")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    return ProductRow(line, values["sku"], values["name"], _price(values["price"]), values["barcode"] or None)


def parse_products_csv(content: bytes) -> list[ProductRow]:
    """Every row of the file, checked; raises ValidationFailed naming each bad line (nothing applied)."""
    text = _decode(content)
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first_line))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise ValidationFailed("The file is empty.", resolution="The first line must name the columns: sku, name.")
    columns = {h.strip().lower(): i for i, h in enumerate(header)}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ValidationFailed(
            f"Missing column(s): {', '.join(missing)}.",
            resolution="The first line must name the columns sku and name (price and barcode are optional).",
        )
    rows, errors = _read_rows(reader, columns)
    if errors:
        shown = "; ".join(errors[:MAX_ERRORS_LISTED])
        more = f" (and {len(errors) - MAX_ERRORS_LISTED} more)" if len(errors) > MAX_ERRORS_LISTED else ""
        raise ValidationFailed(
            f"{len(errors)} row(s) have problems, nothing was imported: {shown}{more}.",
            resolution="Fix these rows and upload the file again.",
        )
    return rows


def _read_rows(reader: _csv.Reader, columns: dict[str, int]) -> tuple[list[ProductRow], list[str]]:
    rows: list[ProductRow] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        try:
            row = _row(line, cells, columns)
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
            continue
        if row.sku in seen:
            errors.append(f"line {line}: SKU {row.sku!r} already on line {seen[row.sku]}")
            continue
        seen[row.sku] = line
        rows.append(row)
    return rows, errors


def import_products_csv(session: Session, workspace_id: int, content: bytes) -> tuple[CsvImportResult, set[int]]:
    """Creates new SKUs and updates known ones (empty cells keep what is stored); all rows or none."""
    rows = parse_products_csv(content)
    held = find_by_sku(session, workspace_id, [row.sku for row in rows])
    result = CsvImportResult(rows=len(rows), created=0, updated=0, unchanged=0)
    created: list[Product] = []
    for row in rows:
        product = held.get(row.sku)
        if product is None:
            product = Product(
                workspace_id=workspace_id, sku=row.sku, name=row.name, price=row.price, barcode=row.barcode
            )
            session.add(product)
            created.append(product)
            result.created += 1
        elif _apply_row(product, row):
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    queued: set[int] = set()
    if created and link_unlinked_listings(session, workspace_id, created):
        queued = ats.recompute(session, workspace_id, {p.id for p in created}, "products imported from CSV")
    return result, queued


def _apply_row(product: Product, row: ProductRow) -> bool:
    before = (product.name, product.price, product.barcode)
    product.name = row.name
    if row.price is not None:
        product.price = row.price
    if row.barcode is not None:
        product.barcode = row.barcode
    return (product.name, product.price, product.barcode) != before


# --- a channel's listings -------------------------------------------------------------------------------


@dataclass
class _Tally:
    seen: int = 0
    created: int = 0
    updated: int = 0
    linked: int = 0
    products_created: int = 0
    without_sku: int = 0
    unlinked: set[str] = field(default_factory=set)
    queued: set[int] = field(default_factory=set)

    def result(self) -> ListingsImportResult:
        return ListingsImportResult(
            listings_seen=self.seen,
            listings_created=self.created,
            listings_updated=self.updated,
            linked=self.linked,
            products_created=self.products_created,
            unlinked_skus=sorted(self.unlinked)[:MAX_UNLINKED_LISTED],
            without_sku=self.without_sku,
        )


async def import_listings(
    db: Database,
    box: SecretBox,
    workspace_id: int,
    connection_id: int,
    *,
    create_missing: bool = False,
    allow_private: bool = False,
) -> tuple[ListingsImportResult, set[int]]:
    """Reads every listing of the connection; each page is committed on its own. ``allow_private``: the
    operator's ``Settings.allow_private_source_urls`` (see ``build_connector``).

    Returns the tally and the connections whose pushes should be kicked (new links change ATS).
    """
    connector = await asyncio.to_thread(_connector, db, box, workspace_id, connection_id, allow_private)
    tally = _Tally()

    def commit_page(page: list[ListingInfo]) -> None:
        with db.session() as session:
            apply_listings_page(session, workspace_id, connection_id, page, create_missing, tally)

    try:
        async for page in connector.list_listings():
            await asyncio.to_thread(commit_page, page)
    finally:
        await connector.aclose()
    return tally.result(), tally.queued


def _connector(
    db: Database, box: SecretBox, workspace_id: int, connection_id: int, allow_private: bool
) -> ChannelConnector:
    with db.read_session() as session:
        conn = get_connection(session, workspace_id, connection_id)
        return build_connector(conn, box, db, allow_private=allow_private)


def apply_listings_page(
    session: Session,
    workspace_id: int,
    connection_id: int,
    page: list[ListingInfo],
    create_missing: bool,
    tally: _Tally,
) -> None:
    infos = {info.external_id: info for info in page}  # a repeated id keeps its last copy
    held = {
        lst.external_id: lst
        for lst in session.scalars(
            select(Listing).where(Listing.connection_id == connection_id, Listing.external_id.in_(list(infos)))
        )
    }
    before = {external_id: lst.product_id for external_id, lst in held.items()}
    products = _products_for(session, workspace_id, list(infos.values()), create_missing, tally)
    touched: set[int] = set()
    for info in infos.values():
        tally.seen += 1
        listing = held.get(info.external_id)
        if listing is None:
            listing = Listing(workspace_id=workspace_id, connection_id=connection_id, external_id=info.external_id)
            session.add(listing)
            tally.created += 1
        else:
            tally.updated += 1
        _apply_listing(listing, info, products, tally)
        if listing.product_id is not None:
            touched.add(listing.product_id)
            tally.linked += listing.product_id != before.get(info.external_id)
    session.flush()
    tally.queued |= ats.recompute(session, workspace_id, touched, "listings imported")


def _products_for(
    session: Session, workspace_id: int, infos: Sequence[ListingInfo], create_missing: bool, tally: _Tally
) -> dict[str, int]:
    skus = sorted({sku for info in infos if (sku := (info.sku or "").strip())})
    found = {sku: p.id for sku, p in find_by_sku(session, workspace_id, skus).items()}
    if create_missing:
        titles = {(info.sku or "").strip(): info.title for info in infos}
        fresh = [Product(workspace_id=workspace_id, sku=s, name=titles.get(s) or s) for s in skus if s not in found]
        session.add_all(fresh)
        session.flush()
        link_unlinked_listings(session, workspace_id, fresh)
        found.update({p.sku: p.id for p in fresh})
        tally.products_created += len(fresh)
    return found


def _apply_listing(listing: Listing, info: ListingInfo, products: dict[str, int], tally: _Tally) -> None:
    sku = (info.sku or "").strip() or None
    listing.sku, listing.title, listing.inventory_ref = sku, info.title, info.inventory_ref
    if sku is None:
        tally.without_sku += 1
        return
    product_id = products.get(sku)
    if product_id is None:
        tally.unlinked.add(sku)  # a link made by hand is kept
        return
    listing.product_id = product_id
