"""The live streams' fingerprints, and the one loop both streams run.

A page listens to a stream (``/events/stream`` for orders, channels and notifications; ``/events/sources``
for stock sources) that reads a small fingerprint every tick and sends an event per topic whose value
changed, so the page re-fetches only that part. The stream must compare against what the page *shows*,
not against what it reads when it first connects: a run that starts between the page's render and the
stream's first read would otherwise never be announced (the page would show "Completed" while the run is
"Syncing", until the run ended). So every page reads its fingerprints *before* its data
(:func:`remember_page_pulse`, called by the page's sign-in check) and writes them into its ``sse-connect``
address as ``?since=``; a reconnecting browser sends ``Last-Event-ID`` instead, which wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from fenicia.accounts.sessions import dashboard_pulse
from fenicia.db.engine import Database
from fenicia.inventory.views import sources_stamp

SSE_TICK_SECONDS = 2.0
SSE_LIFETIME_SECONDS = 55.0  # under common proxies' idle limits; the browser reconnects at once
SSE_RETRY_MILLISECONDS = 2000
SOURCES_PATH = "/integrations/inventory-sources"
Topics = dict[str, str]


def read_pulse(db: Database, workspace_id: int) -> Topics:
    """The topics of ``/events/stream``: orders, channels, notifications."""
    with db.read_session() as session:
        return dashboard_pulse(session, workspace_id).topics()


def read_sources(db: Database, workspace_id: int) -> Topics:
    """The topic of ``/events/sources``."""
    with db.read_session() as session:
        return {"sources": sources_stamp(session, workspace_id)}


def event_id(topics: Topics) -> str:
    return "|".join(f"{name}:{value}" for name, value in sorted(topics.items()))


def parse_event_id(value: str | None) -> Topics:
    """A fingerprint the browser last saw; empty when absent or not ours."""
    if not value:
        return {}
    pairs = [part.split(":", 1) for part in value.split("|")]
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def sse_event(name: str, data: str, ident: str) -> str:
    return f"event: {name}\nid: {ident}\ndata: {data}\n\n"


def changes(seen: Topics, topics: Topics) -> list[str]:
    """Events for what changed since ``seen``; a connection that saw nothing gets one ``hello`` instead."""
    ident = event_id(topics)
    if not seen:
        return [sse_event("hello", ident, ident)]
    return [sse_event(name, value, ident) for name, value in sorted(topics.items()) if seen.get(name) != value]


def first_seen(request: Request) -> Topics:
    """What the browser shows: its last event id on a reconnect, else the page's ``?since=``."""
    return parse_event_id(request.headers.get("Last-Event-ID")) or parse_event_id(request.query_params.get("since"))


async def stream_topics(
    request: Request, read: Callable[[Database, int], Topics], db: Database, workspace_id: int
) -> AsyncIterator[str]:
    """Every tick, an event per changed topic, until the stream's lifetime ends (tick and lifetime can be
    overridden on ``app.state``: tests, operators)."""
    tick: float = getattr(request.app.state, "web_sse_tick_seconds", SSE_TICK_SECONDS)
    lifetime: float = getattr(request.app.state, "web_sse_lifetime_seconds", SSE_LIFETIME_SECONDS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    seen = first_seen(request)
    yield f"retry: {SSE_RETRY_MILLISECONDS}\n\n"
    while True:
        topics = await run_in_threadpool(read, db, workspace_id)
        for event in changes(seen, topics):
            yield event
        seen = topics
        if loop.time() + tick > deadline or await request.is_disconnected():
            return
        await asyncio.sleep(tick)


def remember_page_pulse(request: Request, db: Database, workspace_id: int) -> None:
    """For a full page (a GET that is not a partial or a stream): its streams' fingerprints, read before the
    page reads its data, kept on ``request.state`` for :func:`stream_url`."""
    path = request.url.path
    if request.method != "GET" or path.startswith(("/partials/", "/events/", "/api/")):
        return
    request.state.live_since = {"/events/stream": event_id(read_pulse(db, workspace_id))}
    if path.startswith(SOURCES_PATH):
        request.state.live_since["/events/sources"] = event_id(read_sources(db, workspace_id))


def stream_url(request: Request, path: str) -> str:
    """The ``sse-connect`` address of a page: the stream, with the fingerprint the page was rendered at."""
    since: dict[str, str] = getattr(request.state, "live_since", {})
    return f"{path}?since={quote(since[path], safe='')}" if path in since else path
