"""Access tokens of channel connectors, kept encrypted on the connection row.

A connector asks its platform for a token only when the stored one is missing or expired, so every
run and every process of the same connection shares one token for its lifetime. Reconnecting (new
credentials) drops the stored token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from fenicia.channels.models import ChannelConnection
from fenicia.connectors.base import AccessToken
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database


class DbTokenStore:
    """The token store of one connection. ``save`` commits on its own, outside any caller's transaction."""

    def __init__(self, db: Database, box: SecretBox, connection_id: int) -> None:
        self.db = db
        self.box = box
        self.connection_id = connection_id

    def load(self) -> AccessToken | None:
        with self.db.read_session() as session:
            sealed = session.get(ChannelConnection, self.connection_id)
            blob = sealed.token_encrypted if sealed is not None else None
        if not blob:
            return None
        data = self.box.decrypt(blob)
        return AccessToken(
            value=str(data["value"]),
            expires_at=datetime.fromisoformat(str(data["expires_at"])),
            refresh_token=data.get("refresh_token"),
            extra={str(k): str(v) for k, v in dict(data.get("extra") or {}).items()},
        )

    def save(self, token: AccessToken) -> None:
        data = {
            "value": token.value,
            "expires_at": token.expires_at.isoformat(),
            "refresh_token": token.refresh_token,
            "extra": token.extra,
        }
        with self.db.session() as session:
            session.execute(
                update(ChannelConnection)
                .where(ChannelConnection.id == self.connection_id)
                .values(token_encrypted=self.box.encrypt(data))
            )
