"""Developer tool: (re)generate the one pending migration from the models.

While a change is in progress, every model edit is captured in a single new revision: this deletes the
revision named PENDING (if present), migrates a scratch SQLite file to the previous head, and
autogenerates PENDING again from the current models. Review the file before committing.

    .venv/bin/python scripts/pending_migration.py 0004 "what changed"
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from fenicia.db.migrate import MIGRATIONS_DIR, alembic_config, upgrade


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    rev_id, message = argv
    for old in (MIGRATIONS_DIR / "versions").glob(f"{rev_id}_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        upgrade(url)
        command.revision(alembic_config(url), message=message, autogenerate=True, rev_id=rev_id)
    print(f"Now run: .venv/bin/ruff format {MIGRATIONS_DIR}/versions && .venv/bin/ruff check --fix {MIGRATIONS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
