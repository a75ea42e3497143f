"""The three background use-cases the engine runs, in one place for it to import."""

from fenicia.channels.inbox import drain_inbox
from fenicia.channels.runs import execute_run
from fenicia.orders.push import push_actions

__all__ = ["drain_inbox", "execute_run", "push_actions"]
