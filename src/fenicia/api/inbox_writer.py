"""Group commit for the webhook inbox on SQLite: many deliveries, one transaction, one fsync.

SQLite has one writer at a time and, with ``synchronous=FULL``, an fsync per commit. Requests that each
open their own write transaction queue up in SQLite's busy handler, which sleeps in growing steps: that
is where a webhook's tail latency goes. Here the request threads hand their delivery to whichever of
them is writing; the writer inserts everything waiting in one transaction, commits, and every request
gets its own answer (stored or duplicate) only after that commit. No background thread: the first
waiting request becomes the writer, so there is nothing to start or stop.

On PostgreSQL each request inserts on its own; the server already groups concurrent commits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from starlette.datastructures import Headers

from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import store_webhook_delivery
from fenicia.db.engine import Database

MAX_BATCH = 200


@dataclass
class PendingDelivery:
    conn: ChannelConnection
    delivery_id: str
    topic: str
    body: bytes
    triggered_at: datetime | None
    headers: Headers


@dataclass
class _Entry:
    delivery: PendingDelivery
    done: bool = False
    row_id: int | None = None
    error: BaseException | None = field(default=None)

    def outcome(self) -> int | None:
        if self.error is not None:
            raise self.error
        return self.row_id


class InboxWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cond = threading.Condition()
        self._pending: list[_Entry] = []
        self._writing = False

    def store(self, delivery: PendingDelivery) -> int | None:
        """Stores and commits the delivery; its row id, or None when it was already stored."""
        if not self._db.is_sqlite:
            return self._insert([delivery])[0]
        entry = _Entry(delivery)
        with self._cond:
            self._pending.append(entry)
        while True:
            with self._cond:
                while not entry.done and self._writing:
                    self._cond.wait()
                if entry.done:
                    return entry.outcome()
                self._writing = True  # nobody is writing and ours is still waiting: we write
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                self._commit(batch)
            finally:
                for unfinished in (e for e in batch if not e.done):  # only if interrupted mid-write
                    unfinished.error, unfinished.done = RuntimeError("The delivery was not stored."), True
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()

    def _commit(self, batch: list[_Entry]) -> None:
        try:
            row_ids = self._insert([e.delivery for e in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            for entry in batch:  # one bad row must not fail its neighbours: retry each on its own
                self._commit([entry])
            return
        for entry, row_id in zip(batch, row_ids, strict=True):
            entry.row_id, entry.done = row_id, True

    def _insert(self, deliveries: list[PendingDelivery]) -> list[int | None]:
        with self._db.session() as session:
            return [
                store_webhook_delivery(
                    session,
                    d.conn,
                    delivery_id=d.delivery_id,
                    topic=d.topic,
                    body=d.body,
                    triggered_at=d.triggered_at,
                    headers=d.headers,
                )
                for d in deliveries
            ]
