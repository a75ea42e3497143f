"""Connection errors email the workspace's address over real SMTP (aiosmtpd on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import factories
import servers
from fenicia.channels.models import ChannelConnection
from fenicia.channels.status import mark_failed
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import AuthError
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.notifications.models import Notification
from fenicia.notifications.services import send_pending_emails


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), servers.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _fail_connection(db: Database, box: SecretBox) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        conn: ChannelConnection = factories.shopify_connection(s, box, ws, name="Main Shopify")
        mark_failed(s, conn, AuthError("Shopify rejected the access token."), datetime.now(UTC), (300.0,))
        return ws


def test_error_emails_the_workspace_once(
    db: Database, box: SecretBox, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    _fail_connection(db, box)
    assert send_pending_emails(db, settings) == 1
    assert send_pending_emails(db, settings) == 0
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["Subject"] == "[Fenicia] Main Shopify stopped syncing"
    assert mail["To"].startswith("ops") and "Reconnect the channel in Settings." in mail.get_payload()


def test_unreachable_smtp_keeps_the_failure_visible(db: Database, box: SecretBox, settings: Settings) -> None:
    settings.smtp_host, settings.smtp_port = "127.0.0.1", servers.free_port()
    _fail_connection(db, box)
    assert send_pending_emails(db, settings) == 0
    with db.read_session() as s:
        note = s.query(Notification).one()
        assert note.email_status == "failed" and note.email_error
