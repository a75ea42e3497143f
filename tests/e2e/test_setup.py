"""What the process-level tests' setup relies on: a connection created as manual stays manual.

The crash and scale tests need a manual-only connection, so that only webhooks and "Sync orders" move
orders: a polling connection would import the shop's orders on its own and hide a lost webhook. This
once failed (the model's column default of 900 s replaced an explicit None at INSERT).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from e2e.support import SHOP_ACCESS_TOKEN, SHOP_CLIENT_SECRET
from fenicia.accounts.services import create_workspace
from fenicia.channels.models import ChannelConnection
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.db.migrate import upgrade


def test_a_connection_created_as_manual_is_stored_as_manual(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fenicia.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.session() as session:
            ws = create_workspace(session, "Manual Shop", "manual-shop")
            data = ConnectionCreate(
                channel="shopify",
                name="Manual",
                settings={"shop_url": "http://127.0.0.1:9"},
                credentials={"access_token": SHOP_ACCESS_TOKEN, "client_secret": SHOP_CLIENT_SECRET},
                poll_interval_seconds=None,
                use_default_interval=False,
            )
            connection_id = create_connection(session, SecretBox(Fernet.generate_key()), ws.id, data).id
        with db.read_session() as session:
            conn = session.get(ChannelConnection, connection_id)
            assert conn is not None
            assert conn.poll_interval_seconds is None
    finally:
        db.dispose()
