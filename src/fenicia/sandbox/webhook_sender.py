"""A simulator's outgoing webhooks: deliver a body with headers to an address, in order, with retries and
the webhook faults.

What every platform we simulate does alike lives here: one dispatcher task sends deliveries in the order
the events happened; anything but a 2xx (a refusal, a timeout, a refused connection) is retried after
the channel's delays, with the same delivery (its id stays the same); when the delays run out the
delivery has ``failed``. The webhook faults act on it: ``drop_webhooks`` (never sent),
``duplicate_webhooks`` (the first attempt is sent twice) and ``reorder_webhooks`` (held back, then
released newest first once the rule is used up or removed). A channel may name faults of its own that
act on each attempt (e.g. TikTok's ``tamper_webhooks``).

What differs per channel is a subclass's: the delivery's own fields (a :class:`Delivery` subclass),
the body and signed headers of each attempt (:meth:`WebhookSender.compose`), what an attempt leaves in
the delivery's history (:meth:`WebhookSender.record`), the retry delays and the timeout (read from the
simulator's settings at each use, so they may change at runtime).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from fenicia.sandbox.simkit import FaultSet

MAX_KEPT_DELIVERIES = 100_000  # beyond this the oldest finished deliveries are forgotten
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dropped")


def is_2xx(code: int | None) -> bool:
    return code is not None and 200 <= code < 300


@dataclass(kw_only=True)
class Delivery:
    """One event for one address: what the sender tracks. A channel subclasses it with its own fields
    (ids, the body) before these, which are keyword-only."""

    topic: str
    address: str
    status: str = "pending"  # pending | delivered | failed | dropped
    held: bool = False  # held back by a reorder fault
    retries: int = 0  # retries scheduled so far
    next_attempt_at: float | None = None  # wall clock of the scheduled retry
    attempts: list[Any] = field(default_factory=list)  # what record() made of each attempt
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


@dataclass
class SendAttempt:
    """One POST of a delivery, as the channel's :meth:`~WebhookSender.compose` and
    :meth:`~WebhookSender.record` see it."""

    duplicate: bool  # the second copy a duplicate_webhooks fault sends
    faults: frozenset[str]  # the channel's own per-attempt faults taken for this attempt
    started_at: float = field(default_factory=time.time)
    stamp: Any = None  # what compose() noted for record(), e.g. the send time it wrote into the body
    status_code: int | None = None
    error: str | None = None  # "timeout" or the transport error; None when an answer came
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return is_2xx(self.status_code)


D = TypeVar("D", bound=Delivery)


class WebhookSender(ABC, Generic[D]):
    """The delivery log and the dispatcher task; a channel subclasses it (see the module docstring)."""

    task_name = "sim-webhooks"
    attempt_faults: tuple[str, ...] = ()  # the channel's own webhook faults, taken once per attempt
    settle_on_flush = False  # flush() repeats until every delivery is delivered or has failed

    def __init__(self, faults: FaultSet, *, max_kept: int = MAX_KEPT_DELIVERIES) -> None:
        self.faults = faults
        self.deliveries: list[D] = []
        self.max_kept = max_kept
        self._queue: asyncio.Queue[D] = asyncio.Queue()
        self._held: list[D] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

    # -- what a channel says ----------------------------------------------------------------------

    @abstractmethod
    def compose(self, delivery: D, attempt: SendAttempt) -> tuple[bytes, dict[str, str]]:
        """The body and headers of this attempt (signed as the platform signs)."""

    @abstractmethod
    def retry_delays(self) -> Sequence[float]:
        """Seconds before each retry; their number is how many retries a delivery gets."""

    @abstractmethod
    def timeout(self) -> httpx.Timeout | float:
        """How long one attempt may take before it counts as failed."""

    def record(self, delivery: D, attempt: SendAttempt) -> Any:
        """What this attempt leaves in ``delivery.attempts``."""
        return {"at": attempt.started_at, "status_code": attempt.status_code, "error": attempt.error}

    # -- events -----------------------------------------------------------------------------------

    def submit(self, delivery: D) -> None:
        """Log a new delivery and send it (unless a fault drops or holds it)."""
        self.deliveries.append(delivery)
        if len(self.deliveries) > self.max_kept:
            self.deliveries = [d for d in self.deliveries if d.status == "pending"] + [
                d for d in self.deliveries[-self.max_kept // 2 :] if d.status != "pending"
            ]
        self._route(delivery)

    def _route(self, delivery: D) -> None:
        if self.faults.take_delivery_fault("drop_webhooks", delivery.topic, delivery.address):
            delivery.status = "dropped"
            return
        rule = self.faults.take_delivery_fault("reorder_webhooks", delivery.topic, delivery.address)
        if rule is None:
            self._enqueue(delivery)
            return
        delivery.held = True
        self._held.append(delivery)
        if rule.exhausted:
            self.release_held()

    def release_held(self) -> None:
        """Send the held batch, newest first (the reorder fault)."""
        batch, self._held = self._held, []
        for delivery in reversed(batch):
            delivery.held = False
            self._enqueue(delivery)

    def release_held_if_unordered(self) -> None:
        """Release the held batch unless a reorder fault is still active (after faults were removed)."""
        if not self.faults.has_active("reorder_webhooks"):
            self.release_held()

    def _enqueue(self, delivery: D) -> None:
        loop = self._loop
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is not None and loop.is_running() and current is not loop:
            loop.call_soon_threadsafe(self._queue.put_nowait, delivery)  # an event from another thread
        else:
            self._queue.put_nowait(delivery)

    # -- the dispatcher ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the dispatcher and re-arm retries left waiting by :meth:`stop`. Idempotent."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._dispatch_forever(), name=self.task_name)
        for delivery in self._waiting_retry():
            if delivery.timer is None and delivery.next_attempt_at is not None:
                delay = max(delivery.next_attempt_at - time.time(), 0.0)
                delivery.timer = self._loop.call_later(delay, self._retry_due, delivery)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for delivery in self.deliveries:
            _cancel_timer(delivery)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def flush(self) -> None:
        """Send every pending delivery now (waiting retries, without their wait, and held batches
        included) and wait for the attempts; with ``settle_on_flush`` until none is pending."""
        while True:
            for delivery in self._waiting_retry():
                _cancel_timer(delivery)
                delivery.next_attempt_at = None
                self._queue.put_nowait(delivery)
            self.release_held()
            await self._drain()
            if not self.settle_on_flush or not (self._waiting_retry() or self._held):
                return

    def _waiting_retry(self) -> list[D]:
        return [d for d in self.deliveries if d.status == "pending" and d.next_attempt_at is not None]

    async def _drain(self) -> None:
        if self.running:
            await self._queue.join()
            return
        while not self._queue.empty():
            await self._take_one(self._queue.get_nowait())

    async def _dispatch_forever(self) -> None:
        while True:
            await self._take_one(await self._queue.get())

    async def _take_one(self, delivery: D) -> None:
        try:
            await self._attempt(delivery)
        finally:
            self._queue.task_done()

    async def _attempt(self, delivery: D) -> None:
        if delivery.status != "pending":
            return
        where = (delivery.topic, delivery.address)
        duplicate = not delivery.attempts and self.faults.take_delivery_fault("duplicate_webhooks", *where) is not None
        own = frozenset(kind for kind in self.attempt_faults if self.faults.take_delivery_fault(kind, *where))
        ok = await self._send(delivery, SendAttempt(False, own))
        if duplicate:
            ok = await self._send(delivery, SendAttempt(True, own)) or ok
        if ok:
            delivery.status = "delivered"
        else:
            self._schedule_retry(delivery)

    async def _send(self, delivery: D, attempt: SendAttempt) -> bool:
        client = self._client = self._client or httpx.AsyncClient(follow_redirects=False)
        body, headers = self.compose(delivery, attempt)
        started = time.monotonic()
        try:
            response = await client.post(delivery.address, content=body, headers=headers, timeout=self.timeout())
            attempt.status_code = response.status_code
        except httpx.TimeoutException:
            attempt.error = "timeout"
        except Exception as exc:  # refused, bad address...: a failed attempt like any other
            attempt.error = f"{type(exc).__name__}: {exc}"
        attempt.duration_ms = round((time.monotonic() - started) * 1000, 1)
        delivery.attempts.append(self.record(delivery, attempt))
        return attempt.ok

    def _schedule_retry(self, delivery: D) -> None:
        delays = self.retry_delays()
        if delivery.retries >= len(delays):
            delivery.status = "failed"
            return
        delay = float(delays[delivery.retries])
        delivery.retries += 1
        delivery.next_attempt_at = time.time() + delay
        delivery.timer = asyncio.get_running_loop().call_later(delay, self._retry_due, delivery)

    def _retry_due(self, delivery: D) -> None:
        delivery.timer, delivery.next_attempt_at = None, None
        self._queue.put_nowait(delivery)

    def matching(self, topic: str | None = None, status: str | None = None) -> list[D]:
        """The logged deliveries of this topic and status (either None: any)."""
        return [d for d in self.deliveries if topic in (None, d.topic) and status in (None, d.status)]

    def counts(self) -> dict[str, int]:
        """Deliveries by status, and how many are held back."""
        counts = dict.fromkeys(DELIVERY_STATUSES, 0)
        for delivery in self.deliveries:
            counts[delivery.status] += 1
        counts["held"] = len(self._held)
        return counts


def _cancel_timer(delivery: Delivery) -> None:
    if delivery.timer is not None:
        delivery.timer.cancel()
        delivery.timer = None
