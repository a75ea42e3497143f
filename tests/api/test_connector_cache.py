"""Built connectors are reused across status changes and rebuilt when credentials change."""

from __future__ import annotations

import factories
from fenicia.api.connector_cache import ConnectorCache
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import reconnect
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database


def _load(db: Database, conn_id: int) -> ChannelConnection:
    with db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        s.expunge(conn)
        return conn


def test_status_change_keeps_the_connector_new_credentials_replace_it(db: Database, box: SecretBox) -> None:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        conn_id = factories.shopify_connection(s, box, ws).id
    cache = ConnectorCache(box)
    first = cache.get(_load(db, conn_id))
    with db.session() as s:
        s.get(ChannelConnection, conn_id).status = "Syncing"  # type: ignore[union-attr]
    assert cache.get(_load(db, conn_id)) is first
    with db.session() as s:
        reconnect(s, box, ws, conn_id, {"access_token": "shpat_new", "client_secret": "shpss_new"})
    assert cache.get(_load(db, conn_id)) is not first
