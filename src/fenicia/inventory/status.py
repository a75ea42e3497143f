"""The status machine of an inventory source: the channel ladder, in a source's words.

A source shows the same four statuses as a channel (Pending, Syncing, Completed, Error) with the same
fields, and climbs the same ladder (``settings.retry_delays_seconds``: 5 min, 15 min, 1 h, then Error
and one notification per outage). A rate limit waits for its reset without spending a retry; an
authentication failure goes straight to Error. A bad file (``ValidationFailed``) or wrong settings
(``ConfigError``) also go straight to Error, with the error's own resolution: retrying the same file
cannot help. All of it is :mod:`fenicia.channels.status`; only the words are ours.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fenicia.channels import status as ladder
from fenicia.channels.status import FailureOutcome, StatusSubject, mark_succeeded, mark_syncing
from fenicia.core.errors import FeniciaError
from fenicia.inventory.models import InventorySource

RECONNECT_SOURCE = "Check the source's credentials, save them again, then run 'Sync now'."
CHECK_SETTINGS = "Check the source's settings."

__all__ = ["FailureOutcome", "mark_failed", "mark_succeeded", "mark_syncing", "source_link", "source_subject"]


def source_link(source_id: int) -> str:
    return f"/integrations/inventory-sources/{source_id}"


def source_subject(source: InventorySource) -> StatusSubject:
    return StatusSubject(
        kind="source_error",
        title=f"Stock source {source.name} stopped syncing",
        link=source_link(source.id),
        reconnect=RECONNECT_SOURCE,
        check_settings=CHECK_SETTINGS,
    )


def mark_failed(
    session: Session,
    source: InventorySource,
    error: FeniciaError,
    now: datetime,
    retry_delays_seconds: tuple[float, ...],
) -> FailureOutcome:
    """Pending with a retry time, or Error (notified once per outage); see the module docstring."""
    return ladder.mark_failed(session, source, error, now, retry_delays_seconds, source_subject(source))
