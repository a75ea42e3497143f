"""The Engine: hands work to DBOS queues (the Dispatcher) and, in a worker, runs it and keeps it moving.

Two modes, one enqueue path (a ``DBOSClient``):

* ``run_workers=False`` (``fenicia serve --no-worker``): migrates the system database and enqueues. It
  never launches DBOS, so it never dequeues, recovers or schedules anything.
* ``run_workers=True``: also launches DBOS (queue threads run the workflows), beats a heartbeat, ticks the
  scheduler and runs the reconciler. DBOS is a process singleton: one worker Engine per process.

Each queue thread polls the system database every ``queue_polling_seconds`` (``FENICIA_QUEUE_POLLING_SECONDS``
unless the constructor is given one): the time work waits between its enqueue and its start.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any

import structlog
from dbos import DBOSClient

from fenicia.channels.context import SyncContext
from fenicia.core.clock import utcnow
from fenicia.engine import dbos_app, heartbeat
from fenicia.engine.coalesce import KickCoalescer
from fenicia.engine.dispatch import ACTIONS, DRAIN_KINDS, INBOX, SOURCE_RUN, STOCK, Enqueuer
from fenicia.engine.handlers import Handlers, WorkItemLike, default_handlers
from fenicia.engine.interface import Dispatcher
from fenicia.engine.loops import PeriodicTask
from fenicia.engine.workflows import Runtime, activate, deactivate
from fenicia.notifications.services import send_pending_emails

log = structlog.get_logger(__name__)

DEFAULT_SYSTEM_SCHEMA = "dbos"
DEFAULT_SHUTDOWN_GRACE_SECONDS = 10


class Engine(Dispatcher):
    """The Dispatcher of the web layer and the worker's runtime; ``start()`` before use, ``stop()`` after."""

    def __init__(
        self,
        ctx: SyncContext,
        *,
        run_workers: bool = True,
        executor_id: str | None = None,
        handlers: Handlers | None = None,
        system_schema: str = DEFAULT_SYSTEM_SCHEMA,
        queue_polling_seconds: float | None = None,  # default: settings.queue_polling_seconds
        shutdown_grace_seconds: int = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    ) -> None:
        self.executor_id = executor_id or heartbeat.default_executor_id(ctx.settings.executor_id)
        # Runs are "held by" ctx.worker_id; it must be the id our heartbeat and DBOS executor carry.
        self.ctx = replace(ctx, worker_id=self.executor_id)
        self.settings = ctx.settings
        self.run_workers = run_workers
        self._handlers = handlers
        self._schema = system_schema
        polling = ctx.settings.queue_polling_seconds if queue_polling_seconds is None else queue_polling_seconds
        self._queue_polling_seconds = polling
        self._shutdown_grace_seconds = shutdown_grace_seconds
        self._client: DBOSClient | None = None
        self._enqueuer: Enqueuer | None = None
        self._runtime: Runtime | None = None
        self._tasks: list[PeriodicTask] = []
        self._lifecycle = threading.Lock()
        self._kicks = KickCoalescer(self._kick_now)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lifecycle:
            if self._enqueuer is not None:
                raise RuntimeError("Engine already started")
            url = self.settings.system_database_url()
            dbos_app.prepare_system_database(url, self._schema)
            client = dbos_app.make_client(url, self._schema)
            self._client, self._enqueuer = client, Enqueuer(client, self.settings.app_version)
            try:
                if self.run_workers:
                    self._start_worker(url, client)
            except BaseException:
                self._close_client()
                raise
        log.info("engine_started", executor_id=self.executor_id, workers=self.run_workers)

    def stop(self) -> None:
        with self._lifecycle:
            for task in self._tasks:
                task.stop()
            self._tasks = []
            if self._runtime is not None:
                self._stop_worker(self._runtime)
            self._close_client()
        log.info("engine_stopped", executor_id=self.executor_id)

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- Dispatcher ------------------------------------------------------------------------------

    def run_sync(self, run_id: int, connection_id: int) -> None:
        self._require_enqueuer().ensure_run(run_id, connection_id)

    def drain_inbox(self, connection_id: int) -> None:
        self._kicks.request(INBOX.prefix, connection_id)

    def push_actions(self, connection_id: int) -> None:
        self._kicks.request(ACTIONS.prefix, connection_id)

    def sync_source(self, run_id: int, source_id: int) -> None:
        self._require_enqueuer().ensure_run(run_id, source_id, SOURCE_RUN)

    def push_stock(self, connection_id: int) -> None:
        self._kicks.request(STOCK.prefix, connection_id)

    def _kick_now(self, prefix: str, connection_id: int) -> None:
        self._require_enqueuer().kick_drain(DRAIN_KINDS[prefix], connection_id)

    # -- one pass of each background loop (the loops call these; tests call them directly) ----------

    def heartbeat_once(self, now: datetime | None = None) -> None:
        heartbeat.beat(self.ctx.db, self.executor_id, now or utcnow())

    def tick_once(self, now: datetime | None = None) -> int:
        """Creates due poll and source runs and enqueues due work, then sends queued emails; returns enqueues."""
        items = self.handlers.plan_due_work(self.ctx, now or utcnow())
        started = self._require_enqueuer().ensure(items)
        send_pending_emails(self.ctx.db, self.settings)
        return len(started)

    def reconcile_once(self, now: datetime | None = None) -> int:
        """Takes over dead workers and re-enqueues everything unfinished in our tables; returns enqueues."""
        self._require_worker()
        now = now or utcnow()
        dead = self.dead_workers(now)
        items = self.handlers.reconcile(self.ctx, now, dead)  # resets their runs before DBOS re-runs them
        recovered = dbos_app.recover(dead)
        superseded = self._require_enqueuer().supersede_pending(dead)
        started = self._require_enqueuer().ensure(items)
        heartbeat.mark_stopped(self.ctx.db, dead, now)
        if dead or started:
            log.info("engine_reconciled", dead=dead, recovered=recovered, superseded=superseded, started=started)
        return len(started)

    def dead_workers(self, now: datetime | None = None) -> list[str]:
        return heartbeat.dead_workers(
            self.ctx.db, now or utcnow(), self.settings.worker_dead_after_seconds, self.executor_id
        )

    # -- observability -----------------------------------------------------------------------------

    def workflow_statuses(self, prefix: str) -> dict[str, str]:
        """DBOS status by workflow id, for ids starting with ``prefix`` (e.g. ``run:42:``)."""
        return self._require_enqueuer().statuses(prefix)

    def state(self) -> dict[str, Any]:
        """What /healthz shows under ``engine``."""
        live = heartbeat.live_workers(self.ctx.db, utcnow(), self.settings.worker_dead_after_seconds)
        return {
            "status": "running" if self._enqueuer is not None else "stopped",
            "mode": "worker" if self.run_workers else "enqueue-only",
            "executor_id": self.executor_id,
            "live_workers": live,
            "queue_polling_seconds": self._queue_polling_seconds,
        }

    @property
    def handlers(self) -> Handlers:
        if self._handlers is None:
            self._handlers = default_handlers()
        return self._handlers

    # -- internals ---------------------------------------------------------------------------------

    def _start_worker(self, url: str, client: DBOSClient) -> None:
        runtime = Runtime(self.ctx, self.handlers, self.push_stock)
        activate(runtime)
        try:
            dbos_app.register_queues(client, self._queue_polling_seconds)
            leftovers = self._reset_previous_incarnation()
            dbos_app.launch(
                url,
                self._schema,
                app_version=self.settings.app_version,
                executor_id=self.executor_id,
                log_level=self.settings.log_level,
                polling_interval_seconds=self._queue_polling_seconds,
            )
        except BaseException:
            deactivate(runtime)
            raise
        self._runtime = runtime
        try:
            heartbeat.beat(self.ctx.db, self.executor_id, utcnow(), starting=True)
            self._require_enqueuer().ensure(leftovers)
        except BaseException:
            self._stop_worker(runtime)
            raise
        self._start_loops()

    def _reset_previous_incarnation(self) -> list[WorkItemLike]:
        """With a stable executor id, a crashed predecessor's runs still name us: reset them before
        DBOS's startup recovery re-runs that predecessor's PENDING workflows."""
        if not heartbeat.previous_run_crashed(self.ctx.db, self.executor_id):
            return []
        log.warning("engine_previous_incarnation_crashed", executor_id=self.executor_id)
        return list(self.handlers.reconcile(self.ctx, utcnow(), [self.executor_id]))

    def _start_loops(self) -> None:
        s = self.settings
        self._tasks = [
            PeriodicTask("heartbeat", s.worker_heartbeat_seconds, self.heartbeat_once),
            PeriodicTask("scheduler", s.scheduler_tick_seconds, self.tick_once),
            PeriodicTask("reconciler", s.reconcile_interval_seconds, self.reconcile_once),
        ]
        for task in self._tasks:
            task.start()

    def _stop_worker(self, runtime: Runtime) -> None:
        try:
            dbos_app.shutdown(self._shutdown_grace_seconds)
            # Workflows still PENDING under our id would block their partitions: stay "not stopped" so
            # the reconciler of another worker (or our own restart) recovers them.
            if not self._require_enqueuer().pending_for(self.executor_id):
                heartbeat.mark_stopped(self.ctx.db, [self.executor_id], utcnow())
        finally:
            deactivate(runtime)
            self._runtime = None

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.destroy()
        self._client, self._enqueuer = None, None

    def _require_enqueuer(self) -> Enqueuer:
        enqueuer = self._enqueuer
        if enqueuer is None:
            raise RuntimeError("Engine is not started")
        return enqueuer

    def _require_worker(self) -> None:
        if self._runtime is None:
            raise RuntimeError("This Engine runs no workers (run_workers=False or not started)")
