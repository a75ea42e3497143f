"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from fenicia.accounts.models import ApiToken, LoginSession, User, Workspace
from fenicia.catalog.models import Location, Product
from fenicia.channels.models import ChannelConnection, Listing, PollingCursor, SyncRun, WebhookDelivery
from fenicia.db.base import Base
from fenicia.engine.models import WorkerHeartbeat
from fenicia.notifications.models import Notification
from fenicia.orders.models import Order, OrderAction, OrderEvent, OrderLine, Shipment

__all__ = [
    "ApiToken",
    "Base",
    "ChannelConnection",
    "Listing",
    "Location",
    "LoginSession",
    "Notification",
    "Order",
    "OrderAction",
    "OrderEvent",
    "OrderLine",
    "PollingCursor",
    "Product",
    "Shipment",
    "SyncRun",
    "User",
    "WebhookDelivery",
    "WorkerHeartbeat",
    "Workspace",
]
