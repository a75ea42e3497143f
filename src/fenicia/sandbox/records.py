"""The Demo Store's rows: created once on an empty database, found again on every later start.

The sandbox owns these demo rows, so the few lookups they need (by the demo's fixed slug and name)
live here rather than in the domain services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.accounts.models import ApiToken, Workspace
from fenicia.accounts.services import create_api_token, create_user, create_workspace
from fenicia.channels.models import ChannelConnection
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.connectors.shopify.settings import ShopifySettings
from fenicia.core.crypto import SecretBox, hash_token
from fenicia.core.settings import Settings
from fenicia.orders.models import Order

DEMO_WORKSPACE_NAME = "Demo Store"
DEMO_SLUG = "demo-store"
DEMO_EMAIL = "demo@fenicia.local"
DEMO_CONNECTION_NAME = "Demo Shopify"
DEMO_TOKEN_NAME = "Demo API token"
DEMO_POLL_INTERVAL_SECONDS = 300  # the shortest allowed: the demo should look lively
SIM_MOUNT_PREFIX = "/_sim/shopify"


@dataclass
class DemoRecords:
    workspace_id: int
    connection_id: int
    created: bool  # True when this start created the Demo Store
    api_token: str | None  # the token in clear, when this process knows it (new, or from the env)
    credentials: dict[str, Any]  # the connection's Shopify credentials: the simulator must accept them
    last_order_number: int  # highest Shopify order number imported so far


def demo_shop_url(settings: Settings) -> str:
    return f"{settings.base_url().rstrip('/')}{SIM_MOUNT_PREFIX}/{DEMO_SLUG}"


def database_is_empty(session: Session) -> bool:
    return session.scalar(select(Workspace.id).limit(1)) is None


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.scalar(select(Workspace).where(Workspace.slug == slug))


def create_demo_records(
    session: Session, box: SecretBox, settings: Settings, credentials: dict[str, str]
) -> DemoRecords:
    """Workspace, user, API token and Shopify connection of the Demo Store, in the caller's transaction."""
    workspace = create_workspace(session, DEMO_WORKSPACE_NAME, DEMO_SLUG, DEMO_EMAIL)
    user = create_user(session, workspace.id, DEMO_EMAIL, settings.demo_password)
    _, token = create_api_token(session, workspace.id, DEMO_TOKEN_NAME, token=settings.demo_api_token, user_id=user.id)
    data = ConnectionCreate(
        channel="shopify",
        name=DEMO_CONNECTION_NAME,
        settings={"shop_url": demo_shop_url(settings)},
        credentials=dict(credentials),
        poll_interval_seconds=DEMO_POLL_INTERVAL_SECONDS,
    )
    conn = create_connection(session, box, workspace.id, data)
    return DemoRecords(workspace.id, conn.id, True, token, dict(credentials), 0)


def reuse_demo_records(session: Session, box: SecretBox, settings: Settings) -> DemoRecords | None:
    """The existing Demo Store, pointed at this process's simulator; None when there is none."""
    workspace = workspace_by_slug(session, DEMO_SLUG)
    if workspace is None:
        return None
    conn = session.scalar(
        select(ChannelConnection)
        .where(ChannelConnection.workspace_id == workspace.id, ChannelConnection.channel == "shopify")
        .order_by((ChannelConnection.name == DEMO_CONNECTION_NAME).desc(), ChannelConnection.id)
        .limit(1)
    )
    if conn is None:
        return None
    _point_at_shop(conn, demo_shop_url(settings))
    token = _ensure_env_token(session, workspace.id, settings.demo_api_token)
    credentials = box.decrypt(conn.credentials_encrypted)
    return DemoRecords(workspace.id, conn.id, False, token, credentials, _last_order_number(session, conn.id))


def _point_at_shop(conn: ChannelConnection, shop_url: str) -> None:
    """The server may listen on another port than last time: follow it."""
    current = ShopifySettings.model_validate(conn.settings)
    if current.shop_url != shop_url:
        conn.settings = current.model_copy(update={"shop_url": shop_url}).model_dump(mode="json")


def _ensure_env_token(session: Session, workspace_id: int, token: str | None) -> str | None:
    """FENICIA_DEMO_API_TOKEN works on every start, even when it was set only after the first one."""
    if not token:
        return None
    exists = session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
    if exists is None:
        create_api_token(session, workspace_id, DEMO_TOKEN_NAME, token=token)
    return token


NUMBER_DIGITS = re.compile(r"\d+")


def _last_order_number(session: Session, connection_id: int) -> int:
    numbers = session.scalars(select(Order.number).where(Order.connection_id == connection_id))
    found = (NUMBER_DIGITS.search(number) for number in numbers)
    return max((int(match.group()) for match in found if match), default=0)
