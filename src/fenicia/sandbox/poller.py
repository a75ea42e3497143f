"""Polls of the demo's polled channels (Amazon, Walmart) every few seconds instead of every five minutes.

The shortest sync frequency a connection may have is five minutes; a demo whose Amazon orders show up
five minutes late looks broken. So the demo marks those connections' next poll as due now, every few
seconds, and the engine's scheduler does the rest exactly as for a scheduled poll: one poll at a time,
retries and rate limits honoured. A connection set to manual is left alone.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import update

from fenicia.channels.models import ChannelConnection
from fenicia.core.clock import utcnow
from fenicia.db.engine import Database

log = structlog.get_logger(__name__)


class PollNudger:
    """Every ``every[connection_id]`` seconds, that connection's next poll becomes due."""

    def __init__(self, db: Database, every: dict[int, float]) -> None:
        self.db = db
        self.every = {conn_id: seconds for conn_id, seconds in every.items() if seconds > 0}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self.every:
            self._task = asyncio.create_task(self._run(), name="fenicia-demo-polls")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = {conn_id: loop.time() + seconds for conn_id, seconds in self.every.items()}
        while True:
            wait = min(due.values()) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            now = loop.time()
            ready = [conn_id for conn_id, at in due.items() if at <= now]
            try:
                await asyncio.to_thread(self.nudge, ready)
            except Exception as exc:  # a busy database: try again at the next turn
                log.warning("demo_poll_nudge_failed", error=str(exc))
            for conn_id in ready:
                due[conn_id] = now + self.every[conn_id]

    def nudge(self, connection_ids: list[int]) -> None:
        with self.db.session() as session:
            session.execute(
                update(ChannelConnection)
                .where(
                    ChannelConnection.id.in_(connection_ids),
                    ChannelConnection.poll_interval_seconds.is_not(None),
                    ChannelConnection.disabled.is_(False),
                )
                .values(next_poll_at=utcnow())
            )
