"""What the web layer needs from the engine: hand work over after the transaction that created it commits.

Every method only *enqueues*; the work itself is recorded in our own tables first (sync_runs,
webhook_deliveries, order_actions, source_runs, stock_pushes), so a lost enqueue is repaired by the
reconciler, never lost.
"""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    def run_sync(self, run_id: int, connection_id: int) -> None:
        """Execute the queued sync run ``run_id`` (poll, bulk or one order) on the connection's partition."""

    def drain_inbox(self, connection_id: int) -> None:
        """Process the connection's received webhook deliveries, in id order."""

    def push_actions(self, connection_id: int) -> None:
        """Push the connection's pending order actions to the channel, in id order."""

    def sync_source(self, run_id: int, source_id: int) -> None:
        """Execute the queued inventory source run ``run_id`` (a sync or a preview) on the source's partition."""

    def push_stock(self, connection_id: int) -> None:
        """Send the connection's pending stock pushes to the channel, in its bulk form."""
