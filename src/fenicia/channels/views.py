"""Read shapes of channel connections for the API and dashboard, and the webhook endpoint's lookup.

These are small companions of :mod:`fenicia.channels.services`: plain functions over a session.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fenicia.channels.models import ChannelConnection
from fenicia.channels.schemas import ChannelTypePublic, ConnectionPublic, ConnectionUpdate
from fenicia.channels.services import get_connection, reconnect, set_frequency
from fenicia.connectors.registry import channel_specs
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import ValidationFailed

MAX_NAME_LENGTH = 200


def webhook_url(base_url: str, conn: ChannelConnection) -> str:
    """Where the channel must send this connection's webhooks."""
    return f"{base_url.rstrip('/')}/webhooks/{conn.channel}/{conn.id}"


def capabilities_of(channel: str) -> list[str]:
    """The write-backs a channel supports, sorted; empty for a channel no longer registered."""
    spec = channel_specs().get(channel)
    return sorted(spec.capabilities) if spec is not None else []


ALL_CAPABILITIES = ("ship", "tracking", "cancel", "stock")


def channel_types() -> list[ChannelTypePublic]:
    """The capability matrix: every registered channel with its supported and refused operations."""
    return [
        ChannelTypePublic(
            key=spec.key,
            display_name=spec.display_name,
            capabilities=sorted(spec.capabilities),
            unsupported={c: spec.blocker(c, None) or "" for c in ALL_CAPABILITIES if c not in spec.capabilities},
            per_order_limits=spec.order_blockers is not None,
            receives_webhooks=bool(spec.webhook_topics),
            default_poll_interval_seconds=spec.default_poll_interval_seconds,
            settings_schema=spec.settings_model.model_json_schema(),
            credentials_schema=spec.credentials_model.model_json_schema(),
        )
        for spec in channel_specs().values()
    ]


def connection_public(conn: ChannelConnection, base_url: str) -> ConnectionPublic:
    """The connection as the API shows it: status, schedule, capabilities, webhook URL; never secrets."""
    public = ConnectionPublic.model_validate(conn)
    public.capabilities = capabilities_of(conn.channel)
    spec = channel_specs().get(conn.channel)
    receives_webhooks = spec is not None and bool(spec.webhook_topics)  # Amazon and Walmart are polled
    public.webhook_url = webhook_url(base_url, conn) if receives_webhooks else None
    return public


def update_connection(
    session: Session, box: SecretBox, workspace_id: int, connection_id: int, data: ConnectionUpdate
) -> ChannelConnection:
    """Applies a PATCH: rename, change frequency (``manual`` or an interval), reconnect with new credentials.

    Only the fields the caller sent are touched; ``poll_interval_seconds: null`` also means manual.
    """
    conn = get_connection(session, workspace_id, connection_id)
    if data.name is not None:
        conn.name = _checked_name(data.name)
    if data.manual:
        set_frequency(session, workspace_id, connection_id, None)
    elif "poll_interval_seconds" in data.model_fields_set:
        set_frequency(session, workspace_id, connection_id, data.poll_interval_seconds)
    if data.credentials is not None:
        reconnect(session, box, workspace_id, connection_id, data.credentials)
    session.flush()
    return conn


def _checked_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"The connection name must have 1 to {MAX_NAME_LENGTH} characters.")
    return cleaned
