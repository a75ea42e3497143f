"""POST /webhooks/{channel}/{connection_id}: the durable inbox's front door.

Verify the signature on the raw bytes → store the delivery (unique per connection + delivery id) →
commit → answer 2xx → wake the engine. Nothing else happens here, so the channel gets its answer fast
and a delivery is never lost once it was answered. A duplicate is a no-op that still answers 200, so
the channel stops retrying. A rejected delivery stores nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, State
from starlette.types import ASGIApp, Receive, Scope, Send

from fenicia.api.deps import after_commit
from fenicia.api.errors import error_response
from fenicia.api.intake import WebhookIntake
from fenicia.api.metrics import REQUEST_LATENCY, count_webhook
from fenicia.api.schemas import WebhookAccepted
from fenicia.connectors.registry import channel_specs
from fenicia.core.errors import AuthError, ConfigError, InvalidRecord, NotFoundError, UnsupportedOperation

router = APIRouter(tags=["webhooks"])

MAX_WEBHOOK_BODY_BYTES = 5 * 1024 * 1024
WEBHOOK_ROUTE = "/webhooks/{channel}/{connection_id}"


@router.post(
    WEBHOOK_ROUTE,
    response_model=WebhookAccepted,
    responses={
        400: {"description": "Unreadable delivery; nothing stored"},
        401: {"description": "Bad or missing signature; nothing stored"},
        404: {"description": "No such connection for this channel; nothing stored"},
    },
)
async def receive(channel: str, connection_id: str, request: Request) -> Response:
    """Receives a channel's signed webhook. 200 means stored (or already stored): the channel may stop retrying."""
    body = await request.body()
    return await answer_webhook(request.app.state, channel, connection_id, request.headers, body)


async def answer_webhook(state: State, channel: str, raw_id: str, headers: Mapping[str, str], body: bytes) -> Response:
    """Stores one delivery through the intake and says what happened, as the channel should read it."""
    label = channel if channel in channel_specs() else "unknown"
    if len(body) > MAX_WEBHOOK_BODY_BYTES:
        count_webhook(label, "rejected", "too_large")
        return error_response(413, "too_large", f"The delivery is larger than {MAX_WEBHOOK_BODY_BYTES} bytes.")
    intake: WebhookIntake = state.webhook_intake
    try:
        stored = await intake.submit(channel, raw_id, headers, body)
    except NotFoundError as exc:
        count_webhook(label, "rejected", "unknown_connection")
        return error_response(404, exc.code, exc.message, exc.resolution)
    except AuthError as exc:
        count_webhook(label, "rejected", "signature")
        return error_response(401, "invalid_signature", exc.message, exc.resolution)
    except InvalidRecord as exc:
        count_webhook(label, "rejected", "invalid")
        return error_response(400, "invalid_delivery", exc.message, exc.resolution)
    except UnsupportedOperation as exc:  # a channel Fenicia polls instead: nothing to receive here
        count_webhook(label, "rejected", "no_webhooks")
        return error_response(404, exc.code, exc.message, exc.resolution)
    except ConfigError as exc:  # e.g. credentials can't be decrypted: 503 so the channel retries later
        count_webhook(label, "rejected", "config")
        return error_response(503, exc.code, exc.message, exc.resolution)
    if stored.duplicate:
        count_webhook(label, "duplicate")
        return JSONResponse({"status": "duplicate"})
    count_webhook(label, "accepted")
    # the delivery is committed; waking the engine is a cheap, coalesced kick (no thread-pool hop)
    after_commit(state.dispatcher.drain_inbox, stored.connection_id)
    return JSONResponse({"status": "accepted"})


class WebhookFastPath:
    """ASGI middleware answering ``POST /webhooks/{channel}/{connection_id}`` before the framework's
    routing, dependency and middleware layers, which cost more than the work itself at webhook rates.
    The answers are the same as the route's (``answer_webhook``); the route stays for the API docs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].split("/") if scope["type"] == "http" and scope["method"] == "POST" else []
        if len(parts) != 4 or parts[1] != "webhooks" or not parts[2] or not parts[3]:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            body = await _read_body(receive)
        except _ClientGone:  # nothing was answered, so nothing is stored: the channel sends it again
            return
        if body is None:
            response: Response = error_response(
                413, "too_large", f"The delivery is larger than {MAX_WEBHOOK_BODY_BYTES} bytes."
            )
        else:
            response = await answer_webhook(scope["app"].state, parts[2], parts[3], Headers(scope=scope), body)
        await response(scope, receive, send)
        REQUEST_LATENCY.labels(method="POST", route=WEBHOOK_ROUTE, status=str(response.status_code)).observe(
            time.perf_counter() - started
        )


class _ClientGone(Exception):
    pass


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None once it passes the size limit (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_WEBHOOK_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
