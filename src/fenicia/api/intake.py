"""The webhook inbox's writer: deliveries checked and stored in batches by one thread, each answered
only after the commit that stored it.

A request hands its delivery over and awaits the answer; the writer thread takes everything that is
waiting, looks the connections up in one read, verifies and parses each delivery, inserts the good ones in
one transaction (one fsync on SQLite, one commit on PostgreSQL), and answers every request: stored,
duplicate, or the error that refused it. Under load the batches grow by themselves; alone, a delivery is a
batch of one. The event loop never blocks on the database and no request waits in SQLite's busy handler.

The connection is read again for every batch, so a rotated client secret refuses old signatures at once, in
every process. A batch whose insert fails is retried one delivery at a time, so one bad row never fails its
neighbours. A delivery still queued when the process stops was never answered: the channel sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select

from fenicia.api.connector_cache import ConnectorCache
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import store_webhook_delivery
from fenicia.connectors.base import WebhookEvent
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import NotFoundError
from fenicia.db.engine import Database

log = structlog.get_logger(__name__)

MAX_BATCH = 256


@dataclass
class Stored:
    connection_id: int
    duplicate: bool


@dataclass
class _Item:
    channel: str
    raw_id: str
    headers: Mapping[str, str]
    body: bytes
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Stored]
    conn: ChannelConnection | None = None
    event: WebhookEvent | None = None
    outcome: Stored | BaseException | None = field(default=None)


class WebhookIntake:
    """One per process. ``submit`` may be awaited from any event loop; the thread starts on first use."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.connectors = ConnectorCache(box)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(self, channel: str, raw_id: str, headers: Mapping[str, str], body: bytes) -> Stored:
        """Stores the delivery (committed) and says whether it was new; raises what refused it
        (NotFoundError, AuthError, InvalidRecord, ConfigError)."""
        self._ensure_thread()
        loop = asyncio.get_running_loop()
        item = _Item(channel, raw_id, headers, body, loop, loop.create_future())
        self._queue.put(item)
        return await item.future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="webhook-intake", daemon=True)
                self._thread.start()

    # --- the writer thread ------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            try:
                self._process(batch)
            except Exception as exc:  # never let the thread die: answer the batch with the error
                log.exception("webhook_intake_failed", batch=len(batch))
                for item in batch:
                    if item.outcome is None:
                        item.outcome = exc
            for item in batch:
                _answer(item)

    def _process(self, batch: list[_Item]) -> None:
        self._check(batch)
        valid = [item for item in batch if item.outcome is None]
        if not valid:
            return
        try:
            self._insert(valid)
        except Exception:
            if len(valid) == 1:
                raise
            for item in valid:  # one bad row must not fail its neighbours
                try:
                    self._insert([item])
                except Exception as exc:
                    item.outcome = exc

    def _check(self, batch: list[_Item]) -> None:
        """Looks up every connection of the batch in one read, then verifies and parses each delivery."""
        ids = {int(item.raw_id) for item in batch if item.raw_id.isdigit()}
        with self.db.read_session() as session:
            found = {c.id: c for c in session.scalars(select(ChannelConnection).where(ChannelConnection.id.in_(ids)))}
        for item in batch:
            conn = found.get(int(item.raw_id)) if item.raw_id.isdigit() else None
            if conn is None or conn.channel != item.channel:
                item.outcome = NotFoundError(
                    f"No {item.channel} connection {item.raw_id} here.", resolution="Check the webhook address."
                )
                continue
            try:
                connector = self.connectors.get(conn)
                connector.verify_webhook(item.headers, item.body)
                item.event = connector.parse_webhook(item.headers, item.body)
                item.conn = conn
            except Exception as exc:
                item.outcome = exc

    def _insert(self, items: list[_Item]) -> None:
        outcomes: list[Stored] = []
        with self.db.session() as session:
            for item in items:
                assert item.conn is not None and item.event is not None
                row_id = store_webhook_delivery(
                    session,
                    item.conn,
                    delivery_id=item.event.delivery_id,
                    topic=item.event.topic,
                    body=item.body,
                    triggered_at=item.event.triggered_at,
                    headers=item.headers,
                )
                outcomes.append(Stored(item.conn.id, duplicate=row_id is None))
        for item, outcome in zip(items, outcomes, strict=True):  # only once committed
            item.outcome = outcome


def _answer(item: _Item) -> None:
    outcome: Any = item.outcome

    def deliver() -> None:
        if item.future.done():  # the request went away
            return
        if isinstance(outcome, BaseException):
            item.future.set_exception(outcome)
        else:
            item.future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # its loop is closed: nobody is waiting any more
        item.loop.call_soon_threadsafe(deliver)
