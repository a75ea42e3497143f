"""What every background use-case needs: the database, the secret box, settings and who is working."""

from __future__ import annotations

from dataclasses import dataclass

from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database


@dataclass
class SyncContext:
    db: Database
    box: SecretBox
    settings: Settings
    worker_id: str
