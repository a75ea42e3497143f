"""The engine on real databases: DBOS queues, workflow ids, heartbeats, dead workers, crash recovery.

Domain functions are replaced by a Recorder (passed as Handlers, nothing is patched). Waits poll with
an upper bound that only turns a hang into a failure; no assertion depends on timing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fenicia.channels.context import SyncContext
from fenicia.channels.schedule import WorkItem
from fenicia.core.clock import utcnow
from fenicia.db.engine import Database
from fenicia.engine import Engine, heartbeat
from fenicia.engine.handlers import Handlers
from fenicia.engine.models import WorkerHeartbeat

if TYPE_CHECKING:  # fixtures of tests/engine/conftest.py ("conftest" alone names tests/conftest.py)
    from engine.conftest import EngineTarget

EngineFactory = Callable[..., Engine]

WAIT_LIMIT_SECONDS = 30.0
CRASH_WORKER = Path(__file__).with_name("crash_worker.py")


def wait_until(predicate: Callable[[], bool], what: str, limit: float = WAIT_LIMIT_SECONDS) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Recorder:
    """Stand-in domain functions that record what the engine made them do. Run ids encode their
    connection: run 101 belongs to connection 1."""

    hold_seconds: float = 0.0
    plan_items: list[WorkItem] = field(default_factory=list)
    reconcile_items: list[WorkItem] = field(default_factory=list)
    gates: dict[int, Callable[[], object]] = field(default_factory=dict)  # run id -> blocking call
    runs: list[int] = field(default_factory=list)
    inbox: list[int] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    plans: list[datetime] = field(default_factory=list)
    dead_lists: list[list[str]] = field(default_factory=list)
    worker_ids: set[str] = field(default_factory=set)
    active: dict[int, int] = field(default_factory=dict)
    max_active: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def execute_run(self, ctx: SyncContext, run_id: int) -> None:
        conn = run_id // 100
        with self.lock:
            self.worker_ids.add(ctx.worker_id)
            self.active[conn] = self.active.get(conn, 0) + 1
            self.max_active[conn] = max(self.max_active.get(conn, 0), self.active[conn])
        try:
            await asyncio.to_thread(self.gates.get(run_id, lambda: None))
            await asyncio.sleep(self.hold_seconds)
        finally:
            with self.lock:
                self.active[conn] -= 1
                self.runs.append(run_id)

    async def drain_inbox(self, ctx: SyncContext, connection_id: int) -> int:
        with self.lock:
            self.inbox.append(connection_id)
        return 0

    async def push_actions(self, ctx: SyncContext, connection_id: int) -> int:
        with self.lock:
            self.actions.append(connection_id)
        return 0

    def plan_due_work(self, ctx: SyncContext, now: datetime) -> Sequence[WorkItem]:
        with self.lock:
            self.plans.append(now)
        return list(self.plan_items)

    def reconcile(self, ctx: SyncContext, now: datetime, dead_workers: list[str]) -> Sequence[WorkItem]:
        with self.lock:
            self.dead_lists.append(list(dead_workers))
        return list(self.reconcile_items)

    def handlers(self) -> Handlers:
        return Handlers(self.execute_run, self.drain_inbox, self.push_actions, self.plan_due_work, self.reconcile)


def statuses_are(engine: Engine, prefix: str, expected: dict[str, str]) -> Callable[[], bool]:
    return lambda: engine.workflow_statuses(prefix) == expected


def all_succeeded(engine: Engine, prefix: str, count: int) -> Callable[[], bool]:
    return lambda: list(engine.workflow_statuses(prefix).values()) == ["SUCCESS"] * count


def heartbeat_row(db: Database, executor_id: str) -> WorkerHeartbeat | None:
    with db.read_session() as session:
        return session.get(WorkerHeartbeat, executor_id)


# -- queues and workflow ids ---------------------------------------------------------------------------


def test_a_run_handed_over_twice_runs_exactly_once(make_engine: EngineFactory) -> None:
    rec = Recorder()
    engine = make_engine(handlers=rec.handlers())

    engine.run_sync(101, 1)
    engine.run_sync(101, 1)  # a duplicate kick

    wait_until(statuses_are(engine, "run:101:", {"run:101:0": "SUCCESS"}), "run 101 to finish")
    assert rec.runs == [101]
    assert rec.worker_ids == {engine.executor_id}  # the domain sees our executor id as ctx.worker_id


def test_one_run_at_a_time_per_connection_while_connections_run_in_parallel(make_engine: EngineFactory) -> None:
    other_connection_started = threading.Event()
    saw_other_connection: list[bool] = []
    rec = Recorder(hold_seconds=0.2)
    # Run 101 only finishes once connection 2's run has started: a queue serializing everything would hang.
    rec.gates = {
        101: lambda: saw_other_connection.append(other_connection_started.wait(10)),
        201: other_connection_started.set,
    }
    engine = make_engine(handlers=rec.handlers())

    for run_id in (101, 102, 103):
        engine.run_sync(run_id, 1)
    engine.run_sync(201, 2)

    wait_until(all_succeeded(engine, "run:", 4), "all four runs")
    assert sorted(rec.runs) == [101, 102, 103, 201]
    assert saw_other_connection == [True]
    assert rec.max_active == {1: 1, 2: 1}


def test_handing_a_finished_run_over_again_runs_it_under_a_fresh_id(make_engine: EngineFactory) -> None:
    rec = Recorder()
    engine = make_engine(handlers=rec.handlers())
    engine.run_sync(301, 3)
    wait_until(statuses_are(engine, "run:301:", {"run:301:0": "SUCCESS"}), "first hand-over")

    engine.run_sync(301, 3)  # e.g. "Sync now" pulled a scheduled retry of the same run forward

    expected = {"run:301:0": "SUCCESS", "run:301:1": "SUCCESS"}
    wait_until(statuses_are(engine, "run:301:", expected), "second hand-over")
    assert rec.runs == [301, 301]


def test_enqueue_only_engine_coalesces_waiting_kicks_and_a_worker_runs_them(make_engine: EngineFactory) -> None:
    web = make_engine(run_workers=False, handlers=Recorder().handlers())
    web.run_sync(501, 5)
    web.run_sync(501, 5)
    web.drain_inbox(5)
    web.drain_inbox(5)  # the first drain has not started: it will see this delivery too
    web.push_actions(5)

    assert web.workflow_statuses("run:501:") == {"run:501:0": "ENQUEUED"}
    both_kicked = lambda: bool(web.workflow_statuses("actions:5:")) and bool(web.workflow_statuses("inbox:5:"))  # noqa: E731
    wait_until(both_kicked, "the coalesced kicks to be enqueued")  # two timers: either may fire first
    assert list(web.workflow_statuses("inbox:5:").values()) == ["ENQUEUED"]
    assert list(web.workflow_statuses("actions:5:").values()) == ["ENQUEUED"]

    rec = Recorder()
    worker = make_engine(handlers=rec.handlers(), executor_id="worker-1")
    wait_until(all_succeeded(worker, "", 3), "the worker to run everything")
    assert (rec.runs, rec.inbox, rec.actions) == ([501], [5], [5])

    web.drain_inbox(5)  # nothing waiting any more: a new drain
    wait_until(all_succeeded(worker, "inbox:5:", 2), "the second drain")
    assert rec.inbox == [5, 5]


async def test_dispatcher_can_be_called_from_async_code(make_engine: EngineFactory) -> None:
    web = make_engine(run_workers=False, handlers=Recorder().handlers())
    web.drain_inbox(4)
    web.push_actions(4)
    web.run_sync(401, 4)
    assert web.workflow_statuses("run:401:") == {"run:401:0": "ENQUEUED"}
    wait_until(lambda: bool(web.workflow_statuses("inbox:4:")), "the drain kick")
    assert list(web.workflow_statuses("inbox:4:").values()) == ["ENQUEUED"]


def test_a_flood_of_kicks_becomes_one_enqueue(make_engine: EngineFactory) -> None:
    web = make_engine(run_workers=False, handlers=Recorder().handlers())
    for _ in range(200):
        web.drain_inbox(9)
    wait_until(lambda: bool(web.workflow_statuses("inbox:9:")), "the drain kick")
    time.sleep(0.2)  # any straggling kick would have fired by now
    assert list(web.workflow_statuses("inbox:9:").values()) == ["ENQUEUED"]


def test_one_worker_engine_per_process(make_engine: EngineFactory) -> None:
    make_engine(handlers=Recorder().handlers(), executor_id="first")
    with pytest.raises(RuntimeError, match="already running"):
        make_engine(handlers=Recorder().handlers(), executor_id="second")
    make_engine(run_workers=False, handlers=Recorder().handlers())  # enqueue-only engines may coexist


# -- scheduler, heartbeat, reconciler --------------------------------------------------------------


def test_tick_once_enqueues_what_the_planner_found(make_engine: EngineFactory) -> None:
    rec = Recorder(plan_items=[WorkItem("run", 6, 601), WorkItem("inbox", 7), WorkItem("actions", 8)])
    engine = make_engine(handlers=rec.handlers())
    now = utcnow()

    assert engine.tick_once(now) == 3

    wait_until(all_succeeded(engine, "", 3), "planned work")
    assert (rec.runs, rec.inbox, rec.actions) == ([601], [7], [8])
    assert rec.plans == [now]


def test_heartbeat_row_is_kept_fresh_and_marked_stopped(make_engine: EngineFactory, db: Database) -> None:
    engine = make_engine(handlers=Recorder().handlers(), executor_id="beating")
    row = heartbeat_row(db, "beating")
    assert row is not None and row.stopped_at is None
    assert row.pid > 0 and row.hostname
    later = row.last_seen_at + timedelta(seconds=7)

    engine.heartbeat_once(later)
    row = heartbeat_row(db, "beating")
    assert row is not None and row.last_seen_at == later

    engine.stop()
    row = heartbeat_row(db, "beating")
    assert row is not None and row.stopped_at is not None
    assert engine.state()["status"] == "stopped"


def test_dead_workers_are_found_handed_to_reconcile_and_then_forgotten(
    make_engine: EngineFactory, db: Database, engine_target: EngineTarget
) -> None:
    now = utcnow()
    silent = now - timedelta(seconds=engine_target.settings.worker_dead_after_seconds + 1)
    heartbeat.beat(db, "alive", now, starting=True)
    heartbeat.beat(db, "dead-1", silent, starting=True)
    heartbeat.beat(db, "gone", silent, starting=True)
    heartbeat.mark_stopped(db, ["gone"], silent)
    rec = Recorder()
    engine = make_engine(handlers=rec.handlers(), executor_id="me")
    heartbeat.beat(db, "me", silent)  # we never count ourselves, however late our own beat

    assert engine.dead_workers(now) == ["dead-1"]
    engine.reconcile_once(now)
    assert rec.dead_lists == [["dead-1"]]
    assert engine.dead_workers(now) == []  # taken over: marked stopped
    assert engine.state()["live_workers"] == 1  # "alive"; our own row was aged above


def test_restart_under_a_stable_id_after_a_crash_resets_our_own_runs_first(
    make_engine: EngineFactory, db: Database
) -> None:
    heartbeat.beat(db, "stable", utcnow(), starting=True)  # our last incarnation never marked itself stopped
    rec = Recorder(reconcile_items=[WorkItem("run", 7, 701)])

    engine = make_engine(handlers=rec.handlers(), executor_id="stable")

    assert rec.dead_lists == [["stable"]]
    wait_until(statuses_are(engine, "run:701:", {"run:701:0": "SUCCESS"}), "the re-offered run")
    assert rec.runs == [701]


def test_reconcile_re_enqueues_unfinished_work_once(make_engine: EngineFactory) -> None:
    hold = threading.Event()
    rec = Recorder(reconcile_items=[WorkItem("run", 9, 901), WorkItem("inbox", 9)])
    rec.gates = {901: hold.wait}
    engine = make_engine(handlers=rec.handlers())

    engine.reconcile_once()
    wait_until(statuses_are(engine, "run:901:", {"run:901:0": "PENDING"}), "run 901 to start")
    engine.reconcile_once()  # the run is in flight: not enqueued again
    hold.set()

    wait_until(statuses_are(engine, "run:901:", {"run:901:0": "SUCCESS"}), "run 901 to finish")
    assert rec.runs == [901]
    wait_until(lambda: set(engine.workflow_statuses("inbox:9:").values()) == {"SUCCESS"}, "the drains")  # clean stop


def test_loops_fire_on_their_own(make_engine: EngineFactory, engine_target: EngineTarget, db: Database) -> None:
    fast = engine_target.settings.model_copy(
        update={"worker_heartbeat_seconds": 0.05, "scheduler_tick_seconds": 0.05, "reconcile_interval_seconds": 0.05}
    )
    rec = Recorder()
    make_engine(handlers=rec.handlers(), executor_id="looping", settings=fast)
    first = heartbeat_row(db, "looping")
    assert first is not None

    wait_until(lambda: len(rec.plans) >= 2 and len(rec.dead_lists) >= 2, "the scheduler and the reconciler")
    wait_until(lambda: _last_seen(db, "looping") > first.last_seen_at, "a heartbeat")


def _last_seen(db: Database, executor_id: str) -> datetime:
    row = heartbeat_row(db, executor_id)
    assert row is not None
    return row.last_seen_at


# -- a worker process dies with a run in flight ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["kill", "sigterm"])
def test_run_of_a_dead_worker_is_recovered_by_another(
    ending: str, make_engine: EngineFactory, engine_target: EngineTarget, db: Database, tmp_path: Path
) -> None:
    web = make_engine(run_workers=False, handlers=Recorder().handlers())
    _run_and_end_crash_worker(ending, engine_target, tmp_path, lambda: web.run_sync(101, 1))
    assert web.workflow_statuses("run:101:") == {"run:101:0": "PENDING"}
    row = heartbeat_row(db, "doomed")
    assert row is not None and row.stopped_at is None  # never "stopped" while it still owns a workflow

    rec = Recorder(reconcile_items=[WorkItem("run", 1, 101)])  # the domain resets and re-offers the run
    survivor = make_engine(handlers=rec.handlers(), executor_id="survivor")
    later = utcnow() + timedelta(seconds=engine_target.settings.worker_dead_after_seconds + 1)
    survivor.reconcile_once(later)

    wait_until(statuses_are(survivor, "run:101:", {"run:101:0": "SUCCESS"}), "the recovered run")
    assert rec.dead_lists == [["doomed"]]
    assert rec.runs == [101]
    assert rec.worker_ids == {"survivor"}
    assert survivor.dead_workers(later) == []


def _run_and_end_crash_worker(ending: str, target: EngineTarget, tmp_path: Path, kick: Callable[[], None]) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    config = {
        "settings": target.settings.model_dump(mode="json"),
        "schema": target.schema,
        "executor_id": "doomed",
        "marker_dir": str(markers),
        "queue_polling_seconds": 0.05,
    }
    log_path = tmp_path / "crash_worker.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, str(CRASH_WORKER), json.dumps(config)], stdout=log, stderr=log)
    try:
        alive = lambda: proc.poll() is None  # noqa: E731
        wait_until(lambda: (markers / "ready").exists() or not alive(), "the crash worker to start")
        assert alive(), log_path.read_text()
        kick()
        wait_until(lambda: (markers / "started").exists(), "the run to start in the crash worker")
        if ending == "kill":
            proc.kill()
        else:
            proc.terminate()
        proc.wait(timeout=WAIT_LIMIT_SECONDS)
        if ending == "sigterm":
            assert (markers / "stopped").exists(), log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
