"""Queues, workflow ids and enqueueing, through a ``DBOSClient`` in every process.

The client only writes ``ENQUEUED`` rows into the DBOS system database; it never dequeues, so the
web process (``fenicia serve --no-worker``) and the workers share this one code path. Workflow ids:

* ``run:{run_id}:{n}`` (channel sync runs) and ``source:{source_id}:{run_id}:{n}`` (inventory source
  runs, partitioned by source) -- a hand-over is skipped while a workflow of the run is ENQUEUED or PENDING;
  otherwise it takes the next unused ``n`` (0 first). So a duplicate kick is harmless, and a run handed
  over again (a retry pulled forward by "Sync now", a run reset after a dead worker) is never swallowed
  by its finished or cancelled predecessor. Two racing callers compute the same id, and DBOS returns
  the existing workflow for an id in use (``_sys_db.py`` ``_insert_workflow_status``: ON CONFLICT no-op,
  default reuse policy "return-existing"), so the race is harmless too.
* ``inbox:{connection_id}:{token}`` / ``actions:{connection_id}:{token}`` / ``stock:{connection_id}:{token}``
  (stock pushes) -- a kick is skipped when a
  drain of the connection is still ENQUEUED (not started: it will read the row the caller just
  committed); otherwise a new token starts one more drain after the running one.

DBOS refuses deduplication ids on partitioned queues (``Queue._validate_enqueue``), hence these rules.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from dbos import DBOSClient, EnqueueOptions, WorkflowStatus

from fenicia.engine.handlers import WorkItemLike

APP_NAME = "fenicia"
QUEUE_SYNC = "fenicia-sync"
QUEUE_INBOX = "fenicia-inbox"
QUEUE_ACTIONS = "fenicia-actions"
QUEUE_SOURCES = "fenicia-sources"
QUEUE_STOCK = "fenicia-stock"
QUEUES = (QUEUE_SYNC, QUEUE_INBOX, QUEUE_ACTIONS, QUEUE_SOURCES, QUEUE_STOCK)

WORKFLOW_SYNC_RUN = "fenicia.sync_run"
WORKFLOW_DRAIN_INBOX = "fenicia.drain_inbox"
WORKFLOW_PUSH_ACTIONS = "fenicia.push_actions"
WORKFLOW_SYNC_SOURCE = "fenicia.sync_source"
WORKFLOW_PUSH_STOCK = "fenicia.push_stock"

ENQUEUED = "ENQUEUED"
PENDING = "PENDING"
RUN_ID_PROBE_WINDOW = 16  # how many run:{id}:{n} ids one lookup checks


@dataclass(frozen=True)
class WorkKind:
    prefix: str
    queue: str
    workflow: str


RUN = WorkKind("run", QUEUE_SYNC, WORKFLOW_SYNC_RUN)
SOURCE_RUN = WorkKind("source", QUEUE_SOURCES, WORKFLOW_SYNC_SOURCE)
INBOX = WorkKind("inbox", QUEUE_INBOX, WORKFLOW_DRAIN_INBOX)
ACTIONS = WorkKind("actions", QUEUE_ACTIONS, WORKFLOW_PUSH_ACTIONS)
STOCK = WorkKind("stock", QUEUE_STOCK, WORKFLOW_PUSH_STOCK)
DRAIN_KINDS = {INBOX.prefix: INBOX, ACTIONS.prefix: ACTIONS, STOCK.prefix: STOCK}
RUN_KINDS = {"run": RUN, "source_run": SOURCE_RUN}  # work item kind -> the run's workflow


def run_workflow_id(run_id: int, n: int = 0) -> str:
    return f"run:{run_id}:{n}"


def source_workflow_id(source_id: int, run_id: int, n: int = 0) -> str:
    return f"source:{source_id}:{run_id}:{n}"


def _run_id_of(kind: WorkKind, run_id: int, partition: int, n: int) -> str:
    return source_workflow_id(partition, run_id, n) if kind is SOURCE_RUN else run_workflow_id(run_id, n)


def drain_workflow_id(kind: WorkKind, connection_id: int) -> str:
    token = f"{time.time_ns() // 1_000_000}-{secrets.token_hex(3)}"
    return f"{kind.prefix}:{connection_id}:{token}"


class Enqueuer:
    """Hands work to the queues; every method is safe to call twice and from any thread."""

    def __init__(self, client: DBOSClient, app_version: str) -> None:
        self._client = client
        self._app_version = app_version

    def kick_drain(self, kind: WorkKind, connection_id: int) -> str | None:
        """Starts a drain unless one of the connection is still waiting to start; returns its id."""
        if self._drain_waiting(kind, connection_id):
            return None
        return self._enqueue(kind, drain_workflow_id(kind, connection_id), connection_id, connection_id)

    def ensure_run(self, run_id: int, connection_id: int, kind: WorkKind = RUN) -> str | None:
        """Enqueues the run unless a workflow of it is in flight, under the next unused id.

        ``connection_id`` is the partition: the channel connection, or the source of a source run."""
        n = 0
        while True:
            ids = [_run_id_of(kind, run_id, connection_id, i) for i in range(n, n + RUN_ID_PROBE_WINDOW)]
            found = {s.workflow_id: s for s in self._statuses(ids)}
            if any(self._in_flight(s.status, s.app_version) for s in found.values()):
                return None
            free = next((i for i in ids if i not in found), None)
            if free is not None:
                return self._enqueue(kind, free, connection_id, run_id)
            n += RUN_ID_PROBE_WINDOW

    def ensure(self, items: Iterable[WorkItemLike]) -> list[str]:
        """Enqueues what the planner or the reconciler found; returns the new workflow ids."""
        started: list[str] = []
        for item in items:
            workflow_id = self._ensure_one(item)
            if workflow_id is not None:
                started.append(workflow_id)
        return started

    def supersede_pending(self, executor_ids: list[str]) -> list[str]:
        """Cancels our PENDING workflows still owned by dead executors, freeing their partitions.

        Called after DBOS recovery, so what is left belongs to other application versions: DBOS only
        recovers the current one, and a PENDING row blocks its partition (partition_concurrency=1)."""
        if not executor_ids:
            return []
        rows = self._client.list_workflows(
            status=PENDING, executor_id=executor_ids, queue_name=list(QUEUES), load_input=False, load_output=False
        )
        ids = [row.workflow_id for row in rows]
        if ids:
            self._client.cancel_workflows(ids)
        return ids

    def pending_for(self, executor_id: str) -> list[str]:
        rows = self._client.list_workflows(
            status=PENDING, executor_id=executor_id, queue_name=list(QUEUES), load_input=False, load_output=False
        )
        return [row.workflow_id for row in rows]

    def statuses(self, prefix: str) -> dict[str, str]:
        """Workflow id -> DBOS status for ids starting with ``prefix`` (observability and tests)."""
        rows = self._client.list_workflows(workflow_id_prefix=prefix, load_input=False, load_output=False)
        return {row.workflow_id: str(row.status) for row in rows}

    def _ensure_one(self, item: WorkItemLike) -> str | None:
        run_kind = RUN_KINDS.get(item.kind)
        if run_kind is not None:
            if item.run_id is None:
                raise ValueError(f"run work item without run_id: {item!r}")
            return self.ensure_run(item.run_id, item.connection_id, run_kind)
        kind = DRAIN_KINDS.get(item.kind)
        if kind is None:
            raise ValueError(f"unknown work item kind: {item.kind!r}")
        return self.kick_drain(kind, item.connection_id)

    def _in_flight(self, status: str, app_version: str | None) -> bool:
        # ENQUEUED rows of another version are never dequeued by our workers, so they do not count.
        return status == PENDING or (status == ENQUEUED and app_version in (None, self._app_version))

    def _drain_waiting(self, kind: WorkKind, connection_id: int) -> bool:
        rows = self._client.list_workflows(
            queue_name=kind.queue,
            status=ENQUEUED,
            workflow_id_prefix=f"{kind.prefix}:{connection_id}:",
            app_version=self._app_version,
            limit=1,
            load_input=False,
            load_output=False,
        )
        return bool(rows)

    def _statuses(self, workflow_ids: list[str]) -> list[WorkflowStatus]:
        return self._client.list_workflows(workflow_ids=workflow_ids, load_input=False, load_output=False)

    def _enqueue(self, kind: WorkKind, workflow_id: str, connection_id: int, arg: int) -> str:
        options: EnqueueOptions = {
            "workflow_name": kind.workflow,
            "queue_name": kind.queue,
            "workflow_id": workflow_id,
            "queue_partition_key": str(connection_id),
            "app_version": self._app_version,
            "application_name": APP_NAME,
        }
        self._client.enqueue(options, arg)
        return workflow_id
