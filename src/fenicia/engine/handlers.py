"""The domain functions the engine runs, gathered in one object so a test can pass its own.

The engine knows *when* and *where* work runs; these functions know *what* a sync is. Production uses
``default_handlers()`` (``fenicia.channels.sync`` and ``fenicia.channels.schedule``); tests hand the
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
    def kind(self) -> str: ...  # "run" | "inbox" | "actions"

    @property
    def connection_id(self) -> int: ...

    @property
    def run_id(self) -> int | None: ...


RunFn = Callable[[SyncContext, int], Coroutine[Any, Any, None]]
DrainFn = Callable[[SyncContext, int], Coroutine[Any, Any, int]]
PlanFn = Callable[[SyncContext, datetime], Sequence[WorkItemLike]]
ReconcileFn = Callable[[SyncContext, datetime, list[str]], Sequence[WorkItemLike]]


@dataclass(frozen=True)
class Handlers:
    execute_run: RunFn  # one sync run, full lifecycle; must no-op on a run that is not runnable any more
    drain_inbox: DrainFn  # received webhook deliveries of a connection, in id order
    push_actions: DrainFn  # due order actions of a connection, in id order
    plan_due_work: PlanFn  # creates due poll runs; returns what to enqueue now
    reconcile: ReconcileFn  # everything unfinished in our tables, taking over dead workers' runs


def default_handlers() -> Handlers:
    """The real domain functions, imported late so importing the engine stays cheap and cycle-free."""
    from fenicia.channels import schedule, sync

    return Handlers(
        execute_run=sync.execute_run,
        drain_inbox=sync.drain_inbox,
        push_actions=sync.push_actions,
        plan_due_work=schedule.plan_due_work,
        reconcile=schedule.reconcile,
    )
