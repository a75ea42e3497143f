"""/events/stream: Server-Sent Events telling open pages which part changed, so they re-fetch only that.

Every ``tick`` the stream reads one small fingerprint (:func:`~fenicia.accounts.sessions.dashboard_pulse`,
one query) and sends an event per topic whose value changed: ``orders`` (a new newest order),
``channels`` (a connection or the newest sync run was written), ``notifications`` (unread count). Pages
listen with htmx's SSE extension (``hx-trigger="sse:orders"``) and re-fetch a partial.

A page's first connection starts from the fingerprint the page was rendered at (``?since=``), and a
stream ends after ``lifetime`` seconds and the browser reconnects by itself, sending the last event id:
nothing is missed between render and connect nor across reconnects, and the session cookie is re-checked
each time. The loop and the fingerprints are in :mod:`fenicia.web.pulse`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from fenicia.web.auth import PageUser
from fenicia.web.deps import DbDep
from fenicia.web.pulse import event_id, parse_event_id, read_pulse, stream_topics
from fenicia.web.routing import WebRoute

__all__ = ["event_id", "parse_event_id", "router"]

router = APIRouter(route_class=WebRoute)


@router.get("/events/stream")
def events(request: Request, user: PageUser, db: DbDep) -> Response:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    stream = stream_topics(request, read_pulse, db, user.workspace_id)
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
