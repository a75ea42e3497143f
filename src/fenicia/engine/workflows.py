"""The DBOS workflows: each is one step calling one domain function, nothing else.

They are short on purpose (no sleeps, no loops): a retry later is a new enqueue decided from our own
tables. Each step runs the domain coroutine with ``asyncio.run`` on the DBOS executor thread that runs
the workflow, so a blocking database call inside it never stalls another connection's work. Steps are
not retried by DBOS (``retries_allowed`` defaults to False); the domain owns the retry ladder.

DBOS is a process-wide singleton, so the running worker Engine registers itself here (``activate``) and
the steps find the SyncContext, the handlers and the stock-push kick through it.

Stock pushes are kicked from inside the worker too: a source run kicks them as its batches commit, and
after every channel sync run, inbox drain and order-action push (whose order ingest, cancel or deletion
recomputes available-to-sell and queues pushes) the connections with pushes due are kicked. A failed kick
is only logged: the pushes are in ``stock_pushes``, and the scheduler and the reconciler offer them again.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import structlog
from dbos import DBOS

from fenicia.channels.context import SyncContext
from fenicia.engine.dispatch import (
    WORKFLOW_DRAIN_INBOX,
    WORKFLOW_PUSH_ACTIONS,
    WORKFLOW_PUSH_STOCK,
    WORKFLOW_SYNC_RUN,
    WORKFLOW_SYNC_SOURCE,
)
from fenicia.engine.handlers import Handlers, Kick

log = structlog.get_logger(__name__)


def _no_kick(connection_id: int) -> None:
    return None


@dataclass(frozen=True)
class Runtime:
    ctx: SyncContext
    handlers: Handlers
    kick_push: Kick = _no_kick  # the Engine's ``push_stock``


_lock = threading.Lock()
_active: Runtime | None = None


def activate(runtime: Runtime) -> None:
    """Makes ``runtime`` the one the workflows of this process use; one worker Engine per process."""
    global _active
    with _lock:
        if _active is not None:
            raise RuntimeError("A worker Engine is already running in this process (DBOS is a singleton).")
        _active = runtime


def deactivate(runtime: Runtime) -> None:
    global _active
    with _lock:
        if _active is runtime:
            _active = None


def _current() -> Runtime:
    runtime = _active
    if runtime is None:
        raise RuntimeError("No worker Engine is running in this process.")
    return runtime


def _kick_due_pushes(rt: Runtime) -> None:
    try:
        for connection_id in rt.handlers.pending_pushes(rt.ctx):
            rt.kick_push(connection_id)
    except Exception:  # the pushes are in our table: the scheduler and the reconciler offer them again
        log.exception("stock_push_kick_failed")


@DBOS.step(name="fenicia.step.execute_run")
def execute_run_step(run_id: int) -> None:
    rt = _current()
    asyncio.run(rt.handlers.execute_run(rt.ctx, run_id))
    _kick_due_pushes(rt)


@DBOS.step(name="fenicia.step.drain_inbox")
def drain_inbox_step(connection_id: int) -> int:
    rt = _current()
    drained = asyncio.run(rt.handlers.drain_inbox(rt.ctx, connection_id))
    if drained:
        _kick_due_pushes(rt)
    return drained


@DBOS.step(name="fenicia.step.execute_source_run")
def execute_source_run_step(run_id: int) -> None:
    rt = _current()
    asyncio.run(rt.handlers.execute_source_run(rt.ctx, run_id, rt.kick_push))


@DBOS.step(name="fenicia.step.push_stock")
def push_stock_step(connection_id: int) -> int:
    rt = _current()
    return asyncio.run(rt.handlers.push_stock(rt.ctx, connection_id))


@DBOS.step(name="fenicia.step.push_actions")
def push_actions_step(connection_id: int) -> int:
    rt = _current()
    pushed = asyncio.run(rt.handlers.push_actions(rt.ctx, connection_id))
    _kick_due_pushes(rt)  # a cancel gives units back; so does an order a failed push found deleted
    return pushed


@DBOS.workflow(name=WORKFLOW_SYNC_RUN)
def sync_run_workflow(run_id: int) -> None:
    execute_run_step(run_id)


@DBOS.workflow(name=WORKFLOW_DRAIN_INBOX)
def drain_inbox_workflow(connection_id: int) -> int:
    return drain_inbox_step(connection_id)


@DBOS.workflow(name=WORKFLOW_PUSH_ACTIONS)
def push_actions_workflow(connection_id: int) -> int:
    return push_actions_step(connection_id)


@DBOS.workflow(name=WORKFLOW_SYNC_SOURCE)
def sync_source_workflow(run_id: int) -> None:
    execute_source_run_step(run_id)


@DBOS.workflow(name=WORKFLOW_PUSH_STOCK)
def push_stock_workflow(connection_id: int) -> int:
    return push_stock_step(connection_id)
