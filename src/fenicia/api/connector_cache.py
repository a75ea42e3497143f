"""A small per-process cache of built connectors, so a webhook doesn't decrypt credentials every time.

Keyed by the connection's encrypted credentials and settings: reconnecting or editing settings gives a
new key, so a stale connector is never used, while status changes (every sync) keep the entry. Entries are only
used to verify and parse webhooks, which never open the connector's HTTP client, so evicting one
without closing it leaks nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import build_connector
from fenicia.connectors.base import ChannelConnector
from fenicia.core.crypto import SecretBox

DEFAULT_MAX_CONNECTORS = 256


class ConnectorCache:
    def __init__(self, box: SecretBox, max_size: int = DEFAULT_MAX_CONNECTORS) -> None:
        self._box = box
        self._max_size = max_size
        self._entries: OrderedDict[int, tuple[str, ChannelConnector]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn: ChannelConnection) -> ChannelConnector:
        with self._lock:
            key = _fingerprint(conn)
            entry = self._entries.get(conn.id)
            if entry is not None and entry[0] == key:
                self._entries.move_to_end(conn.id)
                return entry[1]
        connector = build_connector(conn, self._box)  # outside the lock: decrypting takes a moment
        with self._lock:
            self._entries[conn.id] = (key, connector)
            self._entries.move_to_end(conn.id)
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)
        return connector

    def __len__(self) -> int:
        return len(self._entries)


def _fingerprint(conn: ChannelConnection) -> str:
    return f"{conn.channel}|{conn.credentials_encrypted}|{sorted(conn.settings.items())}"
