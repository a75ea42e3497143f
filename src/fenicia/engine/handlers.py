"""The domain functions the engine runs, gathered in one object so a test can pass its own.

The engine knows *when* and *where* work runs; these functions know *what* a sync is. Production uses
``default_handlers()`` (``fenicia.channels.sync``, ``fenicia.channels.schedule``, ``fenicia.inventory.runs``
and ``fenicia.inventory.push``); tests hand the
Engine small functions of their own instead of patching anything.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fenicia.channels.context import SyncContext


class WorkItemLike(Protocol):
    """What ``plan_due_work`` and ``reconcile`` return (``fenicia.channels.schedule.WorkItem``)."""

    @property
    def kind(self) -> str: ...  # "run" | "inbox" | "actions" | "source_run" | "stock"

    @property
    def connection_id(self) -> int: ...

    @property
    def run_id(self) -> int | None: ...


RunFn = Callable[[SyncContext, int], Coroutine[Any, Any, None]]
DrainFn = Callable[[SyncContext, int], Coroutine[Any, Any, int]]
PlanFn = Callable[[SyncContext, datetime], Sequence[WorkItemLike]]
ReconcileFn = Callable[[SyncContext, datetime, list[str]], Sequence[WorkItemLike]]
Kick = Callable[[int], None]
SourceRunFn = Callable[[SyncContext, int, Kick | None], Coroutine[Any, Any, set[int]]]
PendingFn = Callable[[SyncContext], Sequence[int]]


async def _no_source_run(ctx: SyncContext, run_id: int, kick: Kick | None) -> set[int]:
    return set()


async def _no_push(ctx: SyncContext, connection_id: int) -> int:
    return 0


def _no_pending(ctx: SyncContext) -> Sequence[int]:
    return ()


@dataclass(frozen=True)
class Handlers:
    execute_run: RunFn  # one sync run, full lifecycle; must no-op on a run that is not runnable any more
    drain_inbox: DrainFn  # received webhook deliveries of a connection, in id order
    push_actions: DrainFn  # due order actions of a connection, in id order
    plan_due_work: PlanFn  # creates due poll and source runs; returns what to enqueue now
    reconcile: ReconcileFn  # everything unfinished in our tables, taking over dead workers' runs
    # inventory: one source run (kicking stock pushes as its batches commit), one connection's stock pushes,
    # and which connections have pushes due (kicked after every channel run, inbox drain and action push,
    # whose order changes queue pushes). The defaults do nothing, for tests that only exercise the channel side.
    execute_source_run: SourceRunFn = _no_source_run
    push_stock: DrainFn = _no_push
    pending_pushes: PendingFn = _no_pending


def default_handlers() -> Handlers:
    """The real domain functions, imported late so importing the engine stays cheap and cycle-free."""
    from fenicia.channels import schedule, sync
    from fenicia.inventory import push, runs

    def pending_pushes(ctx: SyncContext) -> Sequence[int]:
        with ctx.db.read_session() as session:
            return push.connections_with_pending_pushes(session)

    return Handlers(
        execute_run=sync.execute_run,
        drain_inbox=sync.drain_inbox,
        push_actions=sync.push_actions,
        plan_due_work=schedule.plan_due_work,
        reconcile=schedule.reconcile,
        execute_source_run=runs.execute_source_run,
        push_stock=push.push_stock,
        pending_pushes=pending_pushes,
    )
