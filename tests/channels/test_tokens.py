"""A connector's access token is kept encrypted on its connection, shared, and dropped on reconnect."""

from __future__ import annotations

from datetime import UTC, datetime

import factories
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import reconnect
from fenicia.channels.tokens import DbTokenStore
from fenicia.connectors.base import AccessToken
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database

EXPIRES = datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def _connection(db: Database, box: SecretBox) -> tuple[int, int]:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        return ws, factories.shopify_connection(s, box, ws).id


def test_a_saved_token_is_read_back_by_another_store_and_is_not_stored_in_clear(db: Database, box: SecretBox) -> None:
    _, conn_id = _connection(db, box)
    assert DbTokenStore(db, box, conn_id).load() is None
    with db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None and conn.last_error_code is None  # the next failure is a new outage
    token = AccessToken("Atza|secret-access", EXPIRES, refresh_token="TG-rotated", extra={"seller": "42"})
    DbTokenStore(db, box, conn_id).save(token)

    assert DbTokenStore(db, box, conn_id).load() == token
    with db.read_session() as s:
        sealed = s.get(ChannelConnection, conn_id)
        assert sealed is not None and sealed.token_encrypted is not None
        assert "Atza|secret-access" not in sealed.token_encrypted
        assert "TG-rotated" not in sealed.token_encrypted


def test_reconnecting_drops_the_token_and_the_outage_of_the_old_credentials(db: Database, box: SecretBox) -> None:
    ws, conn_id = _connection(db, box)
    DbTokenStore(db, box, conn_id).save(AccessToken("old", EXPIRES))
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        conn.last_error_code = "auth_error"
    with db.session() as s:
        reconnect(s, box, ws, conn_id, {"access_token": "shpat_new", "client_secret": "shpss_new"})
    assert DbTokenStore(db, box, conn_id).load() is None
    with db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None and conn.last_error_code is None  # the next failure is a new outage
