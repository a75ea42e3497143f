"""Test doubles of the ENGINE only (never of our database or HTTP layer)."""

from __future__ import annotations


class RecordingDispatcher:
    """The engine's side of the Dispatcher contract, recorded: which work was handed over, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[int, ...]]] = []

    def run_sync(self, run_id: int, connection_id: int) -> None:
        self.calls.append(("run_sync", (run_id, connection_id)))

    def drain_inbox(self, connection_id: int) -> None:
        self.calls.append(("drain_inbox", (connection_id,)))

    def push_actions(self, connection_id: int) -> None:
        self.calls.append(("push_actions", (connection_id,)))

    def sync_source(self, run_id: int, source_id: int) -> None:
        self.calls.append(("sync_source", (run_id, source_id)))

    def push_stock(self, connection_id: int) -> None:
        self.calls.append(("push_stock", (connection_id,)))

    def of(self, name: str) -> list[tuple[int, ...]]:
        return [args for call, args in self.calls if call == name]
