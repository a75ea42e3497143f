"""Shared by the address-guard tests of sources and channels (tests/sources, tests/channels)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from fenicia.core.settings import Settings


def refused_settings(settings: Settings) -> Settings:
    """The test settings as a production Fenicia has them: private addresses not allowed."""
    return settings.model_copy(update={"allow_private_source_urls": False})


@contextmanager
def no_retries() -> Iterator[None]:
    """Fails the test when a client retried inside the call (every client logs ``<name>.retry``)."""
    with structlog.testing.capture_logs() as logs:
        yield
    retried = [entry["event"] for entry in logs if "retry" in str(entry.get("event"))]
    assert retried == []
