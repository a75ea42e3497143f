"""/events/stream: Server-Sent Events telling open pages which part changed, so they re-fetch only that.

Every ``tick`` the stream reads one small fingerprint (:func:`~fenicia.accounts.sessions.dashboard_pulse`,
one query) and sends an event per topic whose value changed: ``orders`` (a new newest order),
``channels`` (a connection or the newest sync run was written), ``notifications`` (unread count). Pages
listen with htmx's SSE extension (``hx-trigger="sse:orders"``) and re-fetch a partial.

A stream ends after ``lifetime`` seconds and the browser reconnects by itself, sending the last event
id, which carries the fingerprint it has seen: nothing is missed across reconnects, and the session
cookie is re-checked each time. Both durations can be overridden on ``app.state`` (tests, operators).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from fenicia.accounts.sessions import dashboard_pulse
from fenicia.db.engine import Database
from fenicia.web.auth import PageUser
from fenicia.web.deps import DbDep
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

SSE_TICK_SECONDS = 2.0
SSE_LIFETIME_SECONDS = 55.0  # under common proxies' idle limits; the browser reconnects at once
SSE_RETRY_MILLISECONDS = 2000


def _read_pulse(db: Database, workspace_id: int) -> dict[str, str]:
    with db.read_session() as session:
        return dashboard_pulse(session, workspace_id).topics()


def event_id(topics: dict[str, str]) -> str:
    return "|".join(f"{name}:{value}" for name, value in sorted(topics.items()))


def parse_event_id(value: str | None) -> dict[str, str]:
    """The fingerprint a reconnecting browser last saw; empty when absent or not ours."""
    if not value:
        return {}
    pairs = [part.split(":", 1) for part in value.split("|")]
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def sse_event(name: str, data: str, ident: str) -> str:
    return f"event: {name}\nid: {ident}\ndata: {data}\n\n"


def _changes(seen: dict[str, str], topics: dict[str, str]) -> list[str]:
    """Events for what changed since ``seen``; a first connection gets one ``hello`` instead."""
    ident = event_id(topics)
    if not seen:
        return [sse_event("hello", ident, ident)]
    return [sse_event(name, value, ident) for name, value in sorted(topics.items()) if seen.get(name) != value]


async def _stream(request: Request, db: Database, workspace_id: int, seen: dict[str, str]) -> AsyncIterator[str]:
    tick: float = getattr(request.app.state, "web_sse_tick_seconds", SSE_TICK_SECONDS)
    lifetime: float = getattr(request.app.state, "web_sse_lifetime_seconds", SSE_LIFETIME_SECONDS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    yield f"retry: {SSE_RETRY_MILLISECONDS}\n\n"
    while True:
        topics = await run_in_threadpool(_read_pulse, db, workspace_id)
        for event in _changes(seen, topics):
            yield event
        seen = topics
        if loop.time() + tick > deadline or await request.is_disconnected():
            return
        await asyncio.sleep(tick)


@router.get("/events/stream")
def events(request: Request, user: PageUser, db: DbDep) -> Response:
    seen = parse_event_id(request.headers.get("Last-Event-ID"))
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    stream = _stream(request, db, user.workspace_id, seen)
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
