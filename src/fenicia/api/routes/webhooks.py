"""POST /webhooks/{channel}/{connection_id}: the durable inbox's front door.

Verify the signature on the raw bytes → store the delivery (unique per connection + delivery id) →
commit → answer 2xx → wake the engine. Nothing else happens here, so the channel gets its answer fast
and a delivery is never lost once it was answered. A duplicate is a no-op that still answers 200, so
the channel stops retrying. A rejected delivery stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.datastructures import Headers

from fenicia.api.connector_cache import ConnectorCache
from fenicia.api.deps import after_commit
from fenicia.api.errors import error_response
from fenicia.api.inbox_writer import InboxWriter, PendingDelivery
from fenicia.api.metrics import count_webhook
from fenicia.api.schemas import WebhookAccepted
from fenicia.channels.views import find_webhook_connection
from fenicia.connectors.registry import channel_specs
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import AuthError, ConfigError, InvalidRecord, NotFoundError
from fenicia.db.engine import Database

router = APIRouter(tags=["webhooks"])

MAX_WEBHOOK_BODY_BYTES = 5 * 1024 * 1024


@dataclass
class Stored:
    connection_id: int
    duplicate: bool


class WebhookIntake:
    """The per-process parts of the intake: the database, built connectors, the inbox's group commit."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.connectors = ConnectorCache(box)
        self.writer = InboxWriter(db)

    def store(self, channel: str, raw_id: str, headers: Headers, body: bytes) -> Stored:
        """One connection lookup, the signature check, one insert (committed before returning)."""
        with self.db.read_session() as session:
            # read every time: a rotated secret must refuse old signatures at once, in every process
            conn = find_webhook_connection(session, channel, _connection_id(raw_id, channel))
        connector = self.connectors.get(conn)
        connector.verify_webhook(headers, body)
        event = connector.parse_webhook(headers, body)
        delivery = PendingDelivery(conn, event.delivery_id, event.topic, body, event.triggered_at, headers)
        return Stored(conn.id, duplicate=self.writer.store(delivery) is None)


def _connection_id(raw: str, channel: str) -> int:
    if not raw.isdigit():
        raise NotFoundError(f"No {channel} connection {raw} here.", resolution="Check the webhook address.")
    return int(raw)


@router.post(
    "/webhooks/{channel}/{connection_id}",
    response_model=WebhookAccepted,
    responses={
        400: {"description": "Unreadable delivery; nothing stored"},
        401: {"description": "Bad or missing signature; nothing stored"},
        404: {"description": "No such connection for this channel; nothing stored"},
    },
)
async def receive(channel: str, connection_id: str, request: Request) -> JSONResponse:
    """Receives a channel's signed webhook. 200 means stored (or already stored): the channel may stop retrying."""
    label = channel if channel in channel_specs() else "unknown"
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BODY_BYTES:
        count_webhook(label, "rejected", "too_large")
        return error_response(413, "too_large", f"The delivery is larger than {MAX_WEBHOOK_BODY_BYTES} bytes.")
    intake: WebhookIntake = request.app.state.webhook_intake
    try:
        stored = await run_in_threadpool(intake.store, channel, connection_id, request.headers, body)
    except NotFoundError:
        count_webhook(label, "rejected", "unknown_connection")
        raise
    except AuthError as exc:
        count_webhook(label, "rejected", "signature")
        return error_response(401, "invalid_signature", exc.message, exc.resolution)
    except InvalidRecord as exc:
        count_webhook(label, "rejected", "invalid")
        return error_response(400, "invalid_delivery", exc.message, exc.resolution)
    except ConfigError as exc:  # e.g. credentials can't be decrypted: 503 so the channel retries later
        count_webhook(label, "rejected", "config")
        return error_response(503, exc.code, exc.message, exc.resolution)
    if stored.duplicate:
        count_webhook(label, "duplicate")
        return JSONResponse({"status": "duplicate"})
    count_webhook(label, "accepted")
    wake = BackgroundTask(after_commit, request.app.state.dispatcher.drain_inbox, stored.connection_id)
    return JSONResponse({"status": "accepted"}, background=wake)  # the engine is woken after we answered
