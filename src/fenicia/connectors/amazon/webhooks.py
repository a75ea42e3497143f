"""Amazon sends no webhooks we could receive: its Notifications API delivers only to Amazon SQS or
EventBridge (channels.md §2.2). Anything arriving at ``/webhooks/amazon/{id}`` is refused, so nothing
is stored; orders come in by polling every 15 minutes instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from fenicia.connectors.base import WebhookEvent
from fenicia.core.errors import AuthError, InvalidRecord

NO_WEBHOOKS = (
    "Amazon sends order notifications only to Amazon SQS or EventBridge, never to a web address; "
    "Fenicia polls Amazon for orders instead."
)


def verify_webhook(headers: Mapping[str, str], body: bytes) -> None:
    """Always refuses: no delivery to this address can be Amazon's (there is no signature to check)."""
    raise AuthError(f"Webhook rejected: {NO_WEBHOOKS}", resolution="Nothing to do; orders arrive by polling.")


def parse_webhook(headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    raise InvalidRecord(f"Not an Amazon delivery: {NO_WEBHOOKS}", resolution="Nothing to do; orders arrive by polling.")
