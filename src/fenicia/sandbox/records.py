"""The Demo Store's rows: created once on an empty database, found again on every later start.

The sandbox owns these demo rows, so the few lookups they need (by the demo's fixed slug and names)
live here rather than in the domain services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.accounts.models import ApiToken, Workspace
from fenicia.accounts.services import create_api_token, create_user, create_workspace
from fenicia.channels.models import ChannelConnection
from fenicia.connectors.registry import channel_spec
from fenicia.core.clock import utcnow
from fenicia.core.crypto import hash_token
from fenicia.core.settings import Settings

DEMO_WORKSPACE_NAME = "Demo Store"
DEMO_SLUG = "demo-store"
DEMO_EMAIL = "demo@fenicia.local"
DEMO_CONNECTION_NAME = "Demo Shopify"
DEMO_TOKEN_NAME = "Demo API token"
DEMO_POLL_INTERVAL_SECONDS = 300  # the shortest allowed: the demo should look lively
SIM_ROOT = "/_sim"  # each channel's simulator is mounted at /_sim/{channel}/demo-store
SIM_MOUNT_PREFIX = f"{SIM_ROOT}/shopify"


@dataclass
class DemoConnection:
    channel: str
    connection_id: int
    created: bool  # True when this start created the connection (and seeded the simulator's history)
    credentials: dict[str, Any]


@dataclass
class DemoRecords:
    workspace_id: int
    created: bool  # True when this start created the Demo Store
    api_token: str | None  # the token in clear, when this process knows it (new, or from the env)
    connections: dict[str, DemoConnection] = field(default_factory=dict)  # by channel key

    def connection_id(self, channel: str) -> int:
        return self.connections[channel].connection_id


def sim_mount_path(channel: str, slug: str = DEMO_SLUG) -> str:
    return f"{SIM_ROOT}/{channel}/{slug}"


def sim_url(settings: Settings, channel: str) -> str:
    """Where this process serves the channel's simulator."""
    return f"{settings.base_url().rstrip('/')}{sim_mount_path(channel)}"


def demo_shop_url(settings: Settings) -> str:
    return sim_url(settings, "shopify")


def database_is_empty(session: Session) -> bool:
    return session.scalar(select(Workspace.id).limit(1)) is None


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.scalar(select(Workspace).where(Workspace.slug == slug))


def create_demo_account(session: Session, settings: Settings) -> DemoRecords:
    """Workspace, user and API token of the Demo Store, in the caller's transaction."""
    workspace = create_workspace(session, DEMO_WORKSPACE_NAME, DEMO_SLUG, DEMO_EMAIL)
    user = create_user(session, workspace.id, DEMO_EMAIL, settings.demo_password)
    _, token = create_api_token(session, workspace.id, DEMO_TOKEN_NAME, token=settings.demo_api_token, user_id=user.id)
    return DemoRecords(workspace.id, True, token)


def find_demo_account(session: Session, settings: Settings) -> DemoRecords | None:
    """The existing Demo Store; None when there is none."""
    workspace = workspace_by_slug(session, DEMO_SLUG)
    if workspace is None:
        return None
    return DemoRecords(workspace.id, False, _ensure_env_token(session, workspace.id, settings.demo_api_token))


def find_connection(session: Session, workspace_id: int, channel: str, name: str) -> ChannelConnection | None:
    """The workspace's connection to ``channel``: the one named ``name`` if any, else the oldest."""
    return session.scalar(
        select(ChannelConnection)
        .where(ChannelConnection.workspace_id == workspace_id, ChannelConnection.channel == channel)
        .order_by((ChannelConnection.name == name).desc(), ChannelConnection.id)
        .limit(1)
    )


def reuse_connection(conn: ChannelConnection, demo_settings: dict[str, Any]) -> None:
    """A later start: point the connection at this process's simulator, and poll it at once.

    The server may listen on another port than last time. The simulator is a new one: access tokens
    issued by the previous one mean nothing to it, so the cached token goes (as on a reconnect).
    """
    model = channel_spec(conn.channel).settings_model
    try:
        pointed = model.model_validate({**conn.settings, **demo_settings}).model_dump(mode="json")
    except ValidationError:  # settings of an older Fenicia: start again from the demo's
        pointed = model.model_validate(demo_settings).model_dump(mode="json")
    if pointed != conn.settings:
        conn.settings = pointed
    conn.token_encrypted = None
    conn.next_poll_at = utcnow()


def _ensure_env_token(session: Session, workspace_id: int, token: str | None) -> str | None:
    """FENICIA_DEMO_API_TOKEN works on every start, even when it was set only after the first one."""
    if not token:
        return None
    exists = session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
    if exists is None:
        create_api_token(session, workspace_id, DEMO_TOKEN_NAME, token=token)
    return token
