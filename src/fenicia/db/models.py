"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from fenicia.accounts.models import ApiToken, LoginSession, User, Workspace
from fenicia.catalog.models import BundleComponent, Location, Product
from fenicia.channels.models import ChannelConnection, Listing, PollingCursor, SyncRun, WebhookDelivery
from fenicia.db.base import Base
from fenicia.engine.models import WorkerHeartbeat
from fenicia.inventory.models import (
    InventorySource,
    LocationMapping,
    SkuOverride,
    SourceRun,
    StockLevel,
    StockPush,
    StockRule,
    UnmappedSku,
)
from fenicia.notifications.models import Notification
from fenicia.orders.models import Order, OrderAction, OrderEvent, OrderLine, Shipment

__all__ = [
    "ApiToken",
    "Base",
    "BundleComponent",
    "ChannelConnection",
    "InventorySource",
    "Listing",
    "Location",
    "LocationMapping",
    "LoginSession",
    "Notification",
    "Order",
    "OrderAction",
    "OrderEvent",
    "OrderLine",
    "PollingCursor",
    "Product",
    "Shipment",
    "SkuOverride",
    "SourceRun",
    "StockLevel",
    "StockPush",
    "StockRule",
    "SyncRun",
    "UnmappedSku",
    "User",
    "WebhookDelivery",
    "WorkerHeartbeat",
    "Workspace",
]
