"""The two Protocols every connector implements, and the normalized records they exchange.

A connector is one package under ``fenicia.connectors`` (``client.py``, ``settings.py``, ``orders.py``,
``webhooks.py``, ``simulator.py``, ``fixtures/``). The engine never sees a channel's own shapes: only
the dataclasses below. Errors are raised as classes of :mod:`fenicia.core.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, overload, runtime_checkable

from pydantic import BaseModel


class Capability:
    """Write-backs a channel may support; the API refuses the others before queueing anything."""

    SHIP = "ship"
    CANCEL = "cancel"
    TRACKING = "tracking"
    STOCK = "stock"
    WEBHOOKS = "webhooks"


@dataclass
class NormalizedLine:
    external_id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: Decimal | None = None
    shipped_quantity: int = 0
    cancelled_quantity: int = 0
    channel_status: str | None = None


@dataclass
class NormalizedShipment:
    external_id: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    status: str | None = None  # the channel's own shipment status, e.g. "delivered"


@dataclass
class NormalizedOrder:
    """An order in the common model. ``status`` is one of ``OrderStatus.ALL``."""

    external_id: str
    number: str
    status: str
    channel_status: str  # the channel's own status words, kept beside ours
    placed_at: datetime
    updated_at: datetime  # the channel's updated-at: an older payload never overwrites a newer one
    financial_status: str | None = None
    cancelled_at: datetime | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    shipping_address: dict[str, Any] | None = None
    currency: str | None = None
    total: Decimal | None = None
    lines: list[NormalizedLine] = field(default_factory=list)
    shipments: list[NormalizedShipment] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class OrderCursor:
    """What the engine hands to ``fetch_orders``. The connector reads it; only the engine saves it.

    ``updated_after`` already includes the engine's safety overlap. ``resume_token`` is the opaque
    ``OrderPage.next_token`` of the last page a previous (interrupted) run committed.
    """

    updated_after: datetime | None
    updated_before: datetime | None = None
    resume_token: str | None = None


@dataclass
class OrderPage:
    orders: list[NormalizedOrder]
    next_token: str | None  # opaque; None on the last page


@dataclass
class WebhookEvent:
    """A verified delivery, parsed. Pointer-only channels fill ``order_ref`` and leave ``order`` None."""

    delivery_id: str
    topic: str
    triggered_at: datetime | None
    order: NormalizedOrder | None = None
    order_ref: str | None = None


@dataclass
class ShipRequest:
    idempotency_key: str  # stable per merchant action: a retry must find the first attempt's result
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None = None
    notify_customer: bool = True
    lines: dict[str, int] | None = None  # external line id -> quantity; None = everything left


@dataclass
class TrackingRequest:
    idempotency_key: str
    shipment_external_id: str | None  # None: the connector picks the order's latest shipment
    carrier: str | None
    tracking_number: str
    tracking_url: str | None = None
    notify_customer: bool = True


@dataclass
class RemoteResult:
    remote_id: str | None  # e.g. the fulfillment id created, for shipments
    order: NormalizedOrder | None = None  # fresh state after the operation, when the channel returns it
    message: str = ""


@dataclass
class ListingInfo:
    external_id: str  # the channel's id for the sellable unit (Shopify: variant id)
    sku: str | None
    title: str
    inventory_ref: str | None  # what stock writes address (Shopify: inventory_item_id)
    quantity: int | None = None


@dataclass
class StockUpdate:
    external_id: str
    inventory_ref: str | None
    quantity: int


@dataclass
class StockResult:
    external_id: str
    ok: bool
    error: str | None = None
    skipped: bool = False  # not ok because the listing is not on the channel any more (deleted there)


WebhookHeaders = Mapping[str, str]


@runtime_checkable
class ChannelConnector(Protocol):
    """One connected marketplace account. Methods raise ``fenicia.core.errors`` classes only."""

    capabilities: frozenset[str]

    async def test_connection(self) -> str: ...

    def fetch_orders(self, cursor: OrderCursor) -> AsyncIterator[OrderPage]: ...

    async def get_order(self, external_id: str) -> NormalizedOrder: ...

    def verify_webhook(self, headers: WebhookHeaders, body: bytes) -> None: ...

    def parse_webhook(self, headers: WebhookHeaders, body: bytes) -> WebhookEvent: ...

    async def ensure_webhooks(self, address: str, topics: list[str]) -> None: ...

    async def mark_shipped(self, external_id: str, request: ShipRequest) -> RemoteResult: ...

    async def cancel_order(self, external_id: str, reason: str | None, notify_customer: bool) -> RemoteResult: ...

    async def update_tracking(self, external_id: str, request: TrackingRequest) -> RemoteResult: ...

    def list_listings(self) -> AsyncIterator[list[ListingInfo]]: ...

    async def set_stock(self, items: list[StockUpdate]) -> list[StockResult]: ...

    async def aclose(self) -> None: ...


# --- access tokens ------------------------------------------------------------------------------


@dataclass
class AccessToken:
    """A short-lived token a connector obtained (LWA, OAuth, client credentials).

    ``refresh_token`` is set when the platform rotates it on every refresh (MercadoLibre's refresh
    tokens are single-use): the newest one must be saved, or the next refresh fails for good.
    """

    value: str
    expires_at: datetime
    refresh_token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class TokenStore(Protocol):
    """Where a connector keeps its access token between runs and processes (encrypted at rest).

    Connectors read it before asking the platform for a token, and save every token they obtain, so a
    token is fetched once per lifetime, not once per run or per request.
    """

    def load(self) -> AccessToken | None: ...

    def save(self, token: AccessToken) -> None: ...


class MemoryTokenStore:
    """A token store that lives as long as the object: tests, the webhook intake, one-off checks."""

    def __init__(self, token: AccessToken | None = None) -> None:
        self.token = token
        self.saves = 0

    def load(self) -> AccessToken | None:
        return self.token

    def save(self, token: AccessToken) -> None:
        self.token = token
        self.saves += 1


# --- inventory sources ---------------------------------------------------------------------------


class QuantityBasis:
    """What a source's number means (inventory-sources.md §A.10); a per-source setting where it varies."""

    AVAILABLE = "available"  # already net of reservations
    ON_HAND = "on_hand"  # physical count: we subtract reserved ourselves


@dataclass
class StockLevel:
    """One row read from a source: an external code at a location, with every bucket it exposes.

    ``code`` is text exactly as the source holds it (leading zeros kept); mapping rules normalize it.
    ``available`` is the number Fenicia imports; ``on_hand`` and ``reserved`` are kept beside it.
    """

    code: str
    available: int
    location: str | None = None  # the source's location/warehouse key; None: the source's only one
    on_hand: int | None = None
    reserved: int | None = None
    name: str | None = None  # the source's product name, offered when creating a product from it
    row: int | None = None  # 1-based row number in a file, for error messages


@dataclass
class LevelsCursor:
    """Handed to ``fetch_levels`` by the engine, which alone saves it (like ``OrderCursor``).

    ``updated_after`` is None on a full read; delta-capable sources read only rows changed since.
    """

    updated_after: datetime | None = None
    resume_token: str | None = None


LevelRow = tuple[str, int, str | None, int | None, int | None, str | None, int | None]
"""A ``StockLevel``'s fields in order, as a plain tuple: (code, available, location, on_hand, reserved, name, row)."""


class LevelRows(Sequence[StockLevel]):
    """A page of levels held as plain tuples; a ``StockLevel`` is built only for an item asked for.

    For sources of a million rows (a stock file): the garbage collector stops tracking a tuple of plain
    values at its first pass, while a million ``StockLevel`` objects, alive across the read's page pipeline
    long enough to reach its oldest generation, made it run a full collection every ~40,000 of them (26
    per read of a million rows, about 2 s of CPU). The engine reads ``rows`` as they are (``level_rows``).
    """

    __slots__ = ("rows",)

    def __init__(self, rows: list[LevelRow]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> StockLevel: ...

    @overload
    def __getitem__(self, index: slice) -> list[StockLevel]: ...

    def __getitem__(self, index: int | slice) -> StockLevel | list[StockLevel]:
        if isinstance(index, slice):
            return [StockLevel(*row) for row in self.rows[index]]
        return StockLevel(*self.rows[index])

    def __iter__(self) -> Iterator[StockLevel]:
        return (StockLevel(*row) for row in self.rows)


def level_rows(levels: Sequence[StockLevel]) -> list[LevelRow]:
    """A page's levels as plain tuples: a ``LevelRows`` page hands over its own, any other is converted."""
    if isinstance(levels, LevelRows):
        return levels.rows
    return [(lv.code, lv.available, lv.location, lv.on_hand, lv.reserved, lv.name, lv.row) for lv in levels]


@dataclass
class LevelsPage:
    levels: Sequence[StockLevel]
    next_token: str | None = None


@runtime_checkable
class InventorySourceConnector(Protocol):
    """A system we read stock levels from (ERP, WMS, spreadsheet, shop). Raises ``core.errors`` only.

    ``full_snapshot``: True when one complete read returns every row the source has, so a code missing
    from it means zero (applied only behind the truncation guard); False for delta reads.
    ``snapshot_at`` is set after a read to the moment the source's numbers were true (the source's own
    clock when it says, else when the read began): orders received after it are subtracted.
    """

    full_snapshot: bool
    snapshot_at: datetime | None

    async def test_connection(self) -> str: ...

    def fetch_levels(self, cursor: LevelsCursor) -> AsyncIterator[LevelsPage]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class SourceSpec:
    """How the registry knows an inventory source type: its forms and how to build a connector."""

    key: str
    display_name: str
    kind: str  # "erp" | "wms" | "spreadsheet" | "shop"
    settings_model: type[BaseModel]
    credentials_model: type[BaseModel]
    supports_delta: bool
    build: Any  # Callable[[BaseModel, BaseModel], InventorySourceConnector]


@dataclass(frozen=True)
class ChannelSpec:
    """How the registry knows a channel: its forms, defaults and how to build a connector."""

    key: str
    display_name: str
    settings_model: type[BaseModel]  # non-secret parameters (shop URL, API version, ...)
    credentials_model: type[BaseModel]  # secrets: SecretStr fields, encrypted at rest
    capabilities: frozenset[str]
    default_poll_interval_seconds: int | None
    webhook_topics: tuple[str, ...]
    build: Any  # Callable[[BaseModel, BaseModel, TokenStore], ChannelConnector]
    unsupported_reasons: Mapping[str, str] = field(default_factory=dict)
    # Where a supported action still can't be done for some orders (MercadoLibre: me2 shipments are
    # shipped by MercadoLibre itself): the stored raw order -> {action kind: the merchant-facing reason}.
    order_blockers: Callable[[Mapping[str, Any]], Mapping[str, str]] | None = None
    # Items per ``set_stock`` call: the channel's bulk form decides (one GraphQL mutation, one feed). A
    # channel whose feeds are scarce (Walmart: 10 an hour, Amazon: one per 2 min) wants them large.
    stock_batch_size: int = 100

    def blocker(self, kind: str, raw: Mapping[str, Any] | None) -> str | None:
        """Why action ``kind`` ("ship", "cancel", "tracking") can't be done, channel-wide or for this order."""
        if kind not in self.capabilities:
            return self.unsupported_reasons.get(kind, f"{self.display_name} does not support this operation.")
        if self.order_blockers is not None and raw is not None:
            return self.order_blockers(raw).get(kind)
        return None
